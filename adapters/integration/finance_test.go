package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

const (
	testNIR     = "185037511504216" // body 1850375115042, key 16: has an account
	insuredNIR  = "292112A00401759" // in the insured-person reference, no account
	outsideNIR  = "188099935004524" // valid, not in the reference
	testKeyHex  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	insuredBody = "292112A004017"
)

type fixture struct {
	h    *command.Finance
	env  *kurrentdbtest.Env
	keys *keyedhash.Hasher
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newFixture is an in-memory event store with a member who has an account (testNIR, written directly: registration
// is not the subject here) and a person of the insured-person reference without one (insuredNIR).
func newFixture(t *testing.T) (*fixture, uuid.UUID) {
	t.Helper()
	env := kurrentdbtest.Start(t, consultation.Definitions(), member.Definitions(), insured.Definitions())
	keys, err := keyedhash.FromHex(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	h, err := command.NewFinance(command.Runtime{Store: env.Store}, keys)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h, env: env, keys: keys}
	n, err := nir.Parse(testNIR)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	claim := event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body()))
	f.write(t, claim, member.Claimed{MemberID: id})
	f.write(t, event.NewStreamID(member.Category, id), member.Registered{RegistrationID: uuid.New(), NIR: n.Body(), Key: 16,
		LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr", MobilePhone: "+33612345678"})
	f.insure(t, insuredNIR, "Le Gall", "Léa", "1992-11-04")
	return f, id
}

// write appends one event to stream.
func (f *fixture) write(t *testing.T, stream event.StreamID, e any) {
	t.Helper()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: "test", Role: event.RoleSystem}, OccurredAt: time.Now().UTC()}}
	if _, err := f.env.Store.Update(ctxOf(t), stream, cmd, func([]event.Envelope) ([]any, error) { return []any{e}, nil }); err != nil {
		t.Fatal(err)
	}
}

// insure adds a person to the insured-person reference, as `dossier admin import-insured` does.
func (f *fixture) insure(t *testing.T, nirText, last, first, birth string) {
	t.Helper()
	n, err := nir.Parse(nirText)
	if err != nil {
		t.Fatal(err)
	}
	b, err := insured.ParseDate(birth)
	if err != nil {
		t.Fatal(err)
	}
	id, err := insured.NewIdentity(n, last, first, b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := insured.Decide(nil, id)
	if err != nil {
		t.Fatal(err)
	}
	f.write(t, insured.StreamFor(f.keys, n), events[0])
}

// parked returns the parked stream of a NIR body.
func (f *fixture) parked(t *testing.T, nirBody string) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(ctxOf(t), event.NewStreamID(consultation.ParkedCategory,
		f.keys.StreamFor(consultation.ParkedCategory, nirBody)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f *fixture) history(t *testing.T, id uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(ctxOf(t), event.NewStreamID(consultation.Category, id))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func factMessage(t *testing.T, uuidStr string, m integration.FinanceMessage, fact any) *message.Message {
	t.Helper()
	data, err := json.Marshal(fact)
	if err != nil {
		t.Fatal(err)
	}
	m.Fact = data
	payload, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return message.NewMessage(uuidStr, payload)
}

var payment = consultation.PaymentRecorded{PaymentID: "PF-2025-12-42", Kind: consultation.KindFamilyBenefits,
	AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"}

var invoice = consultation.InvoiceIssued{InvoiceID: "F-2026-77", Label: "Cotisations T1 2026", AmountCents: 123_456,
	DueOn: "2026-04-15"}

// waitFor polls the member's finance history until it has n events.
func (f *fixture) waitFor(t *testing.T, id uuid.UUID, n int) []event.Envelope {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := f.history(t, id)
		if len(h) >= n || time.Now().After(deadline) {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsumeRecordsOnceAndAcksInvalid(t *testing.T) {
	f, id := newFixture(t)
	pubsub := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { pubsub.Close() })
	var calls atomic.Int32
	handler := integration.Finance(f.h)
	counted := func(msg *message.Message) (integration.Outcome, error) { calls.Add(1); return handler(msg) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- integration.Consume(ctx, pubsub, counted, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	})

	first := uuid.NewString()
	publish := func(msgs ...*message.Message) {
		t.Helper()
		if err := pubsub.Publish(integration.FinanceTopic, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	publish(factMessage(t, first, integration.FinanceMessage{Kind: consultation.FactPayment, NIR: testNIR}, payment))
	h := f.waitFor(t, id, 1)
	if len(h) != 1 || h[0].Event != any(payment) || h[0].Metadata.Actor != command.FinanceIntegrationActor ||
		h[0].Metadata.CausationID.String() != first {
		t.Fatalf("after the first message: %+v", h)
	}

	// the same message delivered again, the same fact in a new message (by member id), an invalid fact, malformed
	// JSON, an unknown kind: nothing recorded, all acked (a nacked message would come back before the last one)
	publish(
		factMessage(t, first, integration.FinanceMessage{Kind: consultation.FactPayment, NIR: testNIR}, payment),
		factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, MemberID: id.String()}, payment),
		factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactInvoice, NIR: testNIR},
			consultation.InvoiceIssued{InvoiceID: "F-9", Label: "x", AmountCents: -5, DueOn: "2026-04-15"}),
		message.NewMessage(uuid.NewString(), []byte(`{"kind": "payment", `)),
		factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: "refund", NIR: testNIR}, payment),
		factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactInvoice, NIR: testNIR}, invoice),
	)
	f.waitFor(t, id, 2)
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 7 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a wrong extra record or redelivery
	h = f.history(t, id)
	if len(h) != 2 || h[1].Event != any(invoice) {
		t.Fatalf("finance history: %+v", h)
	}
	if n := calls.Load(); n != 7 {
		t.Errorf("handler called %d times, want 7 (an invalid message was redelivered?)", n)
	}
}

func TestFinanceHandlerErrors(t *testing.T) {
	f, id := newFixture(t)
	handler := integration.FinanceHandler(f.h)
	for name, tc := range map[string]struct {
		msg  *message.Message
		code string
		is   error
	}{
		"NIR outside the insured-person reference": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment,
			NIR: outsideNIR}, payment), "consultation.not_insured", consultation.ErrNotInsured},
		"unknown member by id": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment,
			MemberID: uuid.NewString()}, payment), "integration.member_unknown", integration.ErrUnknownMember},
		"malformed": {message.NewMessage(uuid.NewString(), []byte(`not json`)), "integration.malformed_message", integration.ErrMalformed},
		"no member": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment}, payment),
			"integration.member_reference", integration.ErrMemberRef},
		"unknown kind": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: "refund", MemberID: id.String()}, payment),
			"consultation.unknown_fact", consultation.ErrUnknownFact},
		"invalid fact": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactInvoice, MemberID: id.String()},
			consultation.InvoiceIssued{InvoiceID: "F-9", Label: "x", AmountCents: -5, DueOn: "2026-04-15"}),
			"consultation.amount_invalid", consultation.ErrAmountInvalid},
		"wrong NIR key": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment,
			NIR: "185037511504217"}, payment), "nir.invalid_key", nil},
	} {
		t.Run(name, func(t *testing.T) {
			tc.msg.SetContext(ctxOf(t))
			err := handler(tc.msg)
			if failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != tc.code || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err %v: kind %v code %q", err, failure.KindOf(err), failure.CodeOf(err))
			}
		})
	}
	// the same external id with other data: Invalid (never retried), with its own code
	ok := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, MemberID: id.String()}, payment)
	ok.SetContext(ctxOf(t))
	if err := handler(ok); err != nil {
		t.Fatal(err)
	}
	changed := payment
	changed.AmountCents++
	conflict := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, MemberID: id.String()}, changed)
	conflict.SetContext(ctxOf(t))
	if err := handler(conflict); failure.KindOf(err) != failure.Invalid || !errors.Is(err, consultation.ErrConflictingRecord) {
		t.Errorf("conflicting record: %v (%v)", err, failure.KindOf(err))
	}
	if h := f.history(t, id); len(h) != 1 {
		t.Errorf("finance history: %+v", h)
	}
}

// The outcomes Finance reports, which the consumer counts and the import reports: recorded, unchanged, parked (a
// person of the reference without an account), parked again (nothing new, still waiting).
func TestFinanceOutcomes(t *testing.T) {
	f, id := newFixture(t)
	handle := integration.Finance(f.h)
	for i, tc := range []struct {
		msg  integration.FinanceMessage
		fact any
		want integration.Outcome
	}{
		{integration.FinanceMessage{Kind: consultation.FactPayment, NIR: testNIR}, payment, integration.OutcomeRecorded},
		{integration.FinanceMessage{Kind: consultation.FactPayment, MemberID: id.String()}, payment, integration.OutcomeUnchanged},
		{integration.FinanceMessage{Kind: consultation.FactPayment, NIR: insuredNIR}, payment, integration.OutcomeParked},
		{integration.FinanceMessage{Kind: consultation.FactPayment, NIR: insuredNIR}, payment, integration.OutcomeParked},
		{integration.FinanceMessage{Kind: consultation.FactPayment, NIR: outsideNIR}, payment, integration.OutcomeRejected},
	} {
		msg := factMessage(t, uuid.NewString(), tc.msg, tc.fact)
		msg.SetContext(ctxOf(t))
		got, err := handle(msg)
		if got != tc.want || (err != nil) != (tc.want == integration.OutcomeRejected) {
			t.Errorf("message %d: %s, %v; want %s", i, got, err, tc.want)
		}
	}
	if p := f.parked(t, insuredBody); len(p) != 1 || !reflect.DeepEqual(p[0].Event, consultation.FactParked{Payment: &payment}) ||
		p[0].Metadata.Actor != command.FinanceIntegrationActor {
		t.Errorf("parked: %+v", p)
	}
}
