package command_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Every top-level name here starts with "finance": other command tests share the package.

type financeFixture struct {
	h   handlers
	env *kurrentdbtest.Env
	now time.Time
}

func newFinanceFixture(t *testing.T) *financeFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, consultation.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC)
	h, err := newHandlers(testDeps{Store: env.Store, Keys: keys, Hasher: caseHasher{}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &financeFixture{h: h, env: env, now: now}
}

// member opens an account (written directly: registration is not the subject here).
func (f *financeFixture) member(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.New()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: id.String(), Role: event.RoleMember}, OccurredAt: f.now}}
	if _, err := f.env.Store.Update(caseCtx(t), event.NewStreamID(member.Category, id), cmd, func([]event.Envelope) ([]any, error) {
		return []any{member.Registered{RegistrationID: uuid.New(), NIR: "1850375115042", Key: 16, LastName: "Dupont",
			FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr", MobilePhone: "+33612345678"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *financeFixture) history(t *testing.T, memberID uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(caseCtx(t), event.NewStreamID(consultation.Category, memberID))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var financeInvoice = consultation.InvoiceIssued{InvoiceID: "F-2026-77", Label: "Cotisations T1 2026", AmountCents: 123_456, DueOn: "2026-04-15"}

var financePayment = consultation.PaymentRecorded{PaymentID: "PF-2025-12-42", Kind: consultation.KindFamilyBenefits,
	AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"}

func TestRecordFinanceFactIsIdempotentByExternalID(t *testing.T) {
	f := newFinanceFixture(t)
	id := f.member(t)
	res, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, financePayment)
	if err != nil || res.Position == 0 {
		t.Fatalf("first record: %+v, %v", res, err)
	}
	// a redelivered message: another message id, nothing appended
	again, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, financePayment)
	if err != nil || again.Position != 0 {
		t.Fatalf("redelivery: %+v, %v", again, err)
	}
	h := f.history(t, id)
	if len(h) != 1 || h[0].Event != any(financePayment) {
		t.Fatalf("history %+v", h)
	}
	if m := h[0].Metadata; m.Actor != command.FinanceIntegrationActor || h[0].EventID != event.DeriveID(m.CommandID, 0) {
		t.Errorf("metadata %+v", m)
	}
	// same id, other data: a rule error, nothing written
	changed := financePayment
	changed.AmountCents++
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, changed); !errors.Is(err, consultation.ErrConflictingRecord) ||
		failure.KindOf(err) != failure.Rule {
		t.Errorf("conflicting record: %v", err)
	}
	// invalid data, unknown member, not a fact
	bad := financePayment
	bad.AmountCents = -5
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, bad); !errors.Is(err, consultation.ErrAmountInvalid) ||
		failure.FieldOf(err) != "amount_cents" {
		t.Errorf("negative amount: %v", err)
	}
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), uuid.New(), financePayment); !errors.Is(err, member.ErrNotFound) {
		t.Errorf("unknown member: %v", err)
	}
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, "hello"); !errors.Is(err, consultation.ErrUnknownFact) {
		t.Errorf("not a fact: %v", err)
	}
	if n := len(f.history(t, id)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// Two deliveries of the same message at once: one event.
func TestRecordFinanceFactConcurrently(t *testing.T) {
	f := newFinanceFixture(t)
	id := f.member(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, financeInvoice)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(f.history(t, id)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestPayInvoice(t *testing.T) {
	f := newFinanceFixture(t)
	id := f.member(t)
	if _, err := f.h.PayInvoice(caseCtx(t), caseMeta(), id, financeInvoice.InvoiceID, "card"); !errors.Is(err, consultation.ErrInvoiceNotFound) ||
		failure.KindOf(err) != failure.NotFound {
		t.Fatalf("unknown invoice: %v", err)
	}
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, financeInvoice); err != nil {
		t.Fatal(err)
	}
	// another member cannot pay it
	other := f.member(t)
	if _, err := f.h.PayInvoice(caseCtx(t), caseMeta(), other, financeInvoice.InvoiceID, "card"); !errors.Is(err, consultation.ErrInvoiceNotFound) {
		t.Errorf("another member's invoice: %v", err)
	}
	if _, err := f.h.PayInvoice(caseCtx(t), caseMeta(), id, financeInvoice.InvoiceID, "cash"); !errors.Is(err, consultation.ErrPaymentMethodInvalid) {
		t.Errorf("unknown method: %v", err)
	}
	key := caseMeta()
	res, err := f.h.PayInvoice(caseCtx(t), key, id, financeInvoice.InvoiceID, "sepa_debit")
	if err != nil || res.Position == 0 {
		t.Fatalf("pay: %+v, %v", res, err)
	}
	// the same Idempotency-Key: the same result, nothing new
	retry, err := f.h.PayInvoice(caseCtx(t), key, id, financeInvoice.InvoiceID, "sepa_debit")
	if err != nil || retry.Position != res.Position {
		t.Errorf("retry: %+v, %v (first %+v)", retry, err, res)
	}
	// another key: already paid
	if _, err := f.h.PayInvoice(caseCtx(t), caseMeta(), id, financeInvoice.InvoiceID, "card"); !errors.Is(err, consultation.ErrInvoiceAlreadyPaid) ||
		failure.KindOf(err) != failure.Rule {
		t.Errorf("second payment: %v", err)
	}
	h := f.history(t, id)
	want := consultation.InvoicePaid{InvoiceID: financeInvoice.InvoiceID, AmountCents: financeInvoice.AmountCents, PaidAt: f.now, Method: "sepa_debit"}
	if len(h) != 2 || h[1].Event != any(want) || h[1].Metadata.Actor.ID != id.String() || h[1].Metadata.Actor.Role != event.RoleMember {
		t.Errorf("history %+v", h)
	}
}

func TestRequestPaymentAttestation(t *testing.T) {
	f := newFinanceFixture(t)
	id := f.member(t)
	if _, err := f.h.RecordFinanceFact(caseCtx(t), caseMeta(), id, financePayment); err != nil {
		t.Fatal(err)
	}
	key := caseMeta()
	res, err := f.h.RequestPaymentAttestation(caseCtx(t), key, id, 2025)
	if err != nil || res.AttestationID == uuid.Nil || res.Position == 0 {
		t.Fatalf("attestation: %+v, %v", res, err)
	}
	retry, err := f.h.RequestPaymentAttestation(caseCtx(t), key, id, 2025)
	if err != nil || retry != res {
		t.Errorf("retry: %+v, %v; first %+v", retry, err, res)
	}
	if _, err := f.h.RequestPaymentAttestation(caseCtx(t), caseMeta(), id, 2031); !errors.Is(err, consultation.ErrYearInvalid) {
		t.Errorf("future year: %v", err)
	}
	h := f.history(t, id)
	if len(h) != 2 {
		t.Fatalf("%d events", len(h))
	}
	got, ok := h[1].Event.(consultation.PaymentAttestationIssued)
	if !ok || got.AttestationID != res.AttestationID || got.Year != 2025 || len(got.Kinds) != 1 || got.Kinds[0] != "family_benefits" {
		t.Errorf("event %+v", h[1].Event)
	}
}

func TestMemberByNIR(t *testing.T) {
	f := newFinanceFixture(t)
	n, err := nir.Parse("185037511504216")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.h.MemberByNIR(caseCtx(t), n); ok || err != nil {
		t.Errorf("no claim: %v, %v", ok, err)
	}
}
