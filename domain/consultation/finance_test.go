package consultation_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

var now = time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC)

func statement() consultation.DailyAllowanceStatementRecorded {
	return consultation.DailyAllowanceStatementRecorded{StatementID: "IJ-2026-0001", PeriodStart: "2026-01-05",
		PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"}
}

func payment() consultation.PaymentRecorded {
	return consultation.PaymentRecorded{PaymentID: "PF:2025-12-0042", Kind: consultation.KindFamilyBenefits,
		AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations  familiales décembre"}
}

func invoice() consultation.InvoiceIssued {
	return consultation.InvoiceIssued{InvoiceID: "F-2026-77", Label: "Cotisations T1 2026", AmountCents: 123_456,
		DueOn: "2026-04-15"}
}

func history(events ...any) []event.Envelope {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Revision: uint64(i), Event: e}
	}
	return out
}

func TestDecisions(t *testing.T) {
	attID := uuid.MustParse("5f0c1c7e-8d55-4d1e-9a59-0e2b9c0a6b11")
	normalized := payment()
	normalized.Label = "Allocations familiales décembre"
	paid := consultation.InvoicePaid{InvoiceID: "F-2026-77", AmountCents: 123_456, PaidAt: now, Method: "card"}
	tests := []struct {
		name  string
		given []any
		when  func(*consultation.Finance) error
		then  []any
		err   error
	}{
		{"a statement", nil, record(statement()), []any{statement()}, nil},
		{"a payment, label normalized", nil, record(payment()), []any{normalized}, nil},
		{"the same statement twice", []any{statement()}, record(statement()), nil, nil},
		{"the same payment twice (before normalization)", []any{normalized}, record(payment()), nil, nil},
		{"same id, other data", []any{statement()}, record(func() any {
			s := statement()
			s.NetCents--
			return s
		}()), nil, consultation.ErrConflictingRecord},
		{"negative amount", nil, record(func() any { p := payment(); p.AmountCents = -1; return p }()), nil, consultation.ErrAmountInvalid},
		{"zero amount", nil, record(func() any { i := invoice(); i.AmountCents = 0; return i }()), nil, consultation.ErrAmountInvalid},
		{"net above gross", nil, record(func() any { s := statement(); s.NetCents = s.GrossCents + 1; return s }()), nil, consultation.ErrNetAboveGross},
		{"invalid date", nil, record(func() any { s := statement(); s.PaidOn = "2026-02-30"; return s }()), nil, consultation.ErrDateInvalid},
		{"period reversed", nil, record(func() any { s := statement(); s.PeriodEnd = "2026-01-01"; return s }()), nil, consultation.ErrPeriodInvalid},
		{"more days than the period", nil, record(func() any { s := statement(); s.Days = 15; return s }()), nil, consultation.ErrPeriodInvalid},
		{"unknown kind", nil, record(func() any { p := payment(); p.Kind = "lottery"; return p }()), nil, consultation.ErrPaymentKindInvalid},
		{"bad id", nil, record(func() any { i := invoice(); i.InvoiceID = "F 1"; return i }()), nil, consultation.ErrExternalIDInvalid},
		{"not a fact", nil, record(paid), nil, consultation.ErrUnknownFact},
		{"pay an invoice", []any{invoice()}, func(f *consultation.Finance) error { return f.PayInvoice("F-2026-77", "card", now) },
			[]any{paid}, nil},
		{"pay an unknown invoice", nil, func(f *consultation.Finance) error { return f.PayInvoice("F-2026-77", "card", now) },
			nil, consultation.ErrInvoiceNotFound},
		{"pay a paid invoice", []any{invoice(), paid}, func(f *consultation.Finance) error { return f.PayInvoice("F-2026-77", "transfer", now) },
			nil, consultation.ErrInvoiceAlreadyPaid},
		{"pay with an unknown method", []any{invoice()}, func(f *consultation.Finance) error { return f.PayInvoice("F-2026-77", "cash", now) },
			nil, consultation.ErrPaymentMethodInvalid},
		{"an attestation", []any{normalized, statement(), consultation.PaymentRecorded{PaymentID: "L1", Kind: "housing_aid", AmountCents: 1, PaidOn: "2025-03-01", Label: "APL"}},
			func(f *consultation.Finance) error { return f.IssueAttestation(attID, 2025, now) },
			[]any{consultation.PaymentAttestationIssued{AttestationID: attID, Year: 2025, Kinds: []string{"family_benefits", "housing_aid"}}}, nil},
		{"an attestation for a year without payments", nil,
			func(f *consultation.Finance) error { return f.IssueAttestation(attID, 2026, now) },
			[]any{consultation.PaymentAttestationIssued{AttestationID: attID, Year: 2026, Kinds: []string{}}}, nil},
		{"an attestation for next year", nil,
			func(f *consultation.Finance) error { return f.IssueAttestation(attID, 2027, now) }, nil, consultation.ErrYearInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := consultation.Rehydrate(history(tt.given...))
			err := tt.when(f)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got := f.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Errorf("events:\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}

func record(fact any) func(*consultation.Finance) error {
	return func(f *consultation.Finance) error { _, err := f.Record(fact); return err }
}

func TestMessagesAndKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range consultation.Errors() {
		if seen[e.Code] {
			t.Fatalf("%s: a code is used twice", e.Code)
		}
		seen[e.Code] = true
		if m, _ := messages.FR(e.Code); m == "" || failure.KindOf(e) == failure.Internal {
			t.Errorf("%s: no message or no kind", e.Code)
		}
	}
	if failure.KindOf(consultation.ErrConflictingRecord) != failure.Rule ||
		failure.CodeOf(consultation.ErrConflictingRecord) != "consultation.conflicting_record" {
		t.Error("conflicting record: kind or code")
	}
	if _, err := event.NewRegistry(consultation.Definitions()); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeFact(t *testing.T) {
	got, err := consultation.DecodeFact("invoice", []byte(`{"invoice_id":"F-2026-77","label":"Cotisations T1 2026","amount_cents":123456,"due_on":"2026-04-15","extra":1}`))
	if err != nil || got != any(invoice()) {
		t.Fatalf("DecodeFact = %#v, %v", got, err)
	}
	if _, err := consultation.DecodeFact("refund", []byte(`{}`)); !errors.Is(err, consultation.ErrUnknownFact) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := consultation.DecodeFact("payment", []byte(`{`)); failure.KindOf(err) != failure.Invalid {
		t.Errorf("bad JSON: %v", err)
	}
}
