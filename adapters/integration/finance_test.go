package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
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
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

const testNIR = "185037511504216" // body 1850375115042, key 16

type noHasher struct{}

func (noHasher) Hash(context.Context, string) (string, error) { return "", errors.New("unused") }
func (noHasher) Verify(context.Context, string, string) (bool, error) {
	return false, errors.New("unused")
}
func (noHasher) VerifyDummy(context.Context, string) error { return nil }

type fixture struct {
	h   *command.Handler
	env *kurrentdbtest.Env
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newFixture(t *testing.T) (*fixture, uuid.UUID) {
	t.Helper()
	env := kurrentdbtest.Start(t, consultation.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	h, err := command.New(command.Deps{Store: env.Store, Keys: keys, Hasher: noHasher{}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := nir.Parse(testNIR)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	claim := event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body()))
	for _, w := range []struct {
		stream event.StreamID
		e      any
	}{
		{claim, member.Claimed{MemberID: id}},
		{event.NewStreamID(member.Category, id), member.Registered{RegistrationID: uuid.New(), NIR: n.Body(), Key: 16,
			LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr", MobilePhone: "+33612345678"}},
	} {
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: id.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
		if _, err := env.Store.Update(ctxOf(t), w.stream, cmd, func([]event.Envelope) ([]any, error) { return []any{w.e}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{h: h, env: env}, id
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
	handler := integration.FinanceHandler(f.h)
	counted := func(msg *message.Message) error { calls.Add(1); return handler(msg) }
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
		"unknown member by NIR": {factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment,
			NIR: "292112A00401759"}, payment), "integration.member_unknown", integration.ErrUnknownMember},
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
