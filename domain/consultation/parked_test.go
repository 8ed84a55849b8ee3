package consultation_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
)

func TestParkedDecisions(t *testing.T) {
	memberID := uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21")
	p := payment()
	normalized := p
	normalized.Label = "Allocations familiales décembre"
	inv := invoice()
	payRef := consultation.FactRef{Kind: consultation.FactPayment, ID: p.PaymentID}
	parked := func(f any) consultation.FactParked {
		switch v := f.(type) {
		case consultation.PaymentRecorded:
			return consultation.FactParked{Payment: &v}
		case consultation.InvoiceIssued:
			return consultation.FactParked{Invoice: &v}
		}
		t.Fatalf("not a fact: %T", f)
		return consultation.FactParked{}
	}
	tests := []struct {
		name  string
		given []any
		when  func(*consultation.Parked) error
		then  []any
		err   error
	}{
		{"a payment is parked, normalized", nil, park(p), []any{parked(normalized)}, nil},
		{"the same payment again", []any{parked(normalized)}, park(p), nil, nil},
		{"the same payment after its delivery", []any{parked(normalized),
			consultation.ParkedFactsDelivered{MemberID: memberID, Delivered: []consultation.FactRef{payRef}}}, park(p), nil, nil},
		{"same id, other data", []any{parked(normalized)}, park(func() any { q := p; q.AmountCents++; return q }()),
			nil, consultation.ErrConflictingRecord},
		{"an invalid fact", nil, park(func() any { q := p; q.AmountCents = 0; return q }()), nil, consultation.ErrAmountInvalid},
		{"not a fact", nil, park(consultation.InvoicePaid{InvoiceID: "F-1"}), nil, consultation.ErrUnknownFact},
		{"delivery marks what waits", []any{parked(normalized), parked(inv)}, func(pk *consultation.Parked) error {
			pk.MarkDelivered(memberID, []consultation.FactRef{payRef, payRef, {Kind: "payment", ID: "unknown"}},
				[]consultation.RefusedFact{{Kind: "invoice", ID: inv.InvoiceID, Code: "consultation.conflicting_record"}})
			return nil
		}, []any{consultation.ParkedFactsDelivered{MemberID: memberID, Delivered: []consultation.FactRef{payRef},
			Refused: []consultation.RefusedFact{{Kind: "invoice", ID: inv.InvoiceID, Code: "consultation.conflicting_record"}}}}, nil},
		{"a second delivery marks nothing", []any{parked(normalized),
			consultation.ParkedFactsDelivered{MemberID: memberID, Delivered: []consultation.FactRef{payRef}}},
			func(pk *consultation.Parked) error {
				pk.MarkDelivered(memberID, []consultation.FactRef{payRef}, nil)
				return nil
			}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk := consultation.RehydrateParked(history(tt.given...))
			err := tt.when(pk)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got := pk.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Errorf("events:\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}

func park(fact any) func(*consultation.Parked) error {
	return func(p *consultation.Parked) error { _, err := p.Park(fact); return err }
}

// Waiting lists the facts not yet handed over, in the order they were parked, with what the delivery keeps of
// their report (actor, correlation, the parked event as causation).
func TestParkedWaiting(t *testing.T) {
	p, inv := payment(), invoice()
	actor := event.Actor{ID: "integration/finance", Role: event.RoleSystem}
	corr, e1, e2 := uuid.New(), uuid.New(), uuid.New()
	h := []event.Envelope{
		{Revision: 0, EventID: e1, Event: consultation.FactParked{Payment: &p}, Metadata: event.Metadata{Actor: actor, CorrelationID: corr}},
		{Revision: 1, EventID: e2, Event: consultation.FactParked{Invoice: &inv}, Metadata: event.Metadata{Actor: actor, CorrelationID: corr}},
	}
	w := consultation.RehydrateParked(h).Waiting()
	if len(w) != 2 || w[0].Fact != any(p) || w[0].EventID != e1 || w[0].Actor != actor || w[0].CorrelationID != corr ||
		w[1].Ref != (consultation.FactRef{Kind: "invoice", ID: inv.InvoiceID}) {
		t.Fatalf("waiting: %+v", w)
	}
	h = append(h, event.Envelope{Revision: 2, Event: consultation.ParkedFactsDelivered{MemberID: uuid.New(),
		Delivered: []consultation.FactRef{{Kind: "payment", ID: p.PaymentID}}}})
	if w := consultation.RehydrateParked(h).Waiting(); len(w) != 1 || w[0].EventID != e2 {
		t.Fatalf("waiting after a delivery: %+v", w)
	}
	if (consultation.FactParked{}).Fact() != nil {
		t.Error("an empty FactParked holds a fact")
	}
}
