package integration_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
)

// startDelivery runs a router with the delivery reaction alone on db until the test ends or stop is called.
func startDelivery(t *testing.T, env *kurrentdbtest.Env, db *sqldb.DB, h *command.Finance) (stop func()) {
	t.Helper()
	if err := messaging.Migrate(ctxOf(t), db); err != nil {
		t.Fatal(err)
	}
	router, err := messaging.NewRouter(messaging.RouterConfig{Feed: env.Source, DB: db,
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := integration.RegisterDelivery(router, h, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- router.Run(context.Background()) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		if err := router.Close(); err != nil {
			t.Error(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(20 * time.Second):
			t.Error("router did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// reachedHead waits until the delivery reaction has acknowledged the whole log.
func reachedHead(t *testing.T, env *kurrentdbtest.Env, db *sqldb.DB) {
	t.Helper()
	records := env.AllRecords(t)
	last := records[len(records)-1]
	eventually(t, "the reaction at the head of the log", func() bool {
		p, _, err := messaging.Checkpoint(ctxOf(t), db, integration.DeliveryHandler)
		if err != nil {
			t.Fatal(err)
		}
		return p >= last.Position.Commit
	})
}

// The whole path on the real event store: a payment for Léa, in the reference but without an account, is parked;
// she registers and activates her account; the reaction to her MemberRegistered moves the payment into her history.
// A second run of the reaction over the whole log (a new reactions database: every event comes again) delivers
// nothing more.
func TestParkedFactsReachTheAccountWhenItOpens(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		env := kurrentdbtest.Start(t, registration.Definitions(), member.Definitions(), insured.Definitions(),
			consultation.Definitions())
		keys, err := keyedhash.FromHex(testKeyHex)
		if err != nil {
			t.Fatal(err)
		}
		hasher, err := credentials.NewHasher(credentials.Config{Params: credentials.Params{Memory: 19 * 1024, Time: 2,
			Threads: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		rt := command.Runtime{Store: env.Store}
		h, err := command.NewFinance(rt, keys)
		if err != nil {
			t.Fatal(err)
		}
		members, err := command.NewMembers(rt, keys, hasher, insured.NewReference(env.Store, keys))
		if err != nil {
			t.Fatal(err)
		}
		f := &fixture{h: h, env: env, keys: keys}
		f.insure(t, insuredNIR, "Le Gall", "Léa", "1992-11-04")
		stop := startDelivery(t, env, tg.Open(t), h)

		msg := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, NIR: insuredNIR}, payment)
		msg.SetContext(ctxOf(t))
		if outcome, err := integration.Finance(h)(msg); err != nil || outcome != integration.OutcomeParked {
			t.Fatalf("finance message: %s, %v", outcome, err)
		}

		reg, err := members.Register(ctxOf(t), command.Meta{Actor: event.Actor{ID: "anonymous", Role: event.RoleMember}},
			command.RegisterInput{NIR: "292112A004017", Key: "59", LastName: "Le Gall", FirstName: "Léa",
				BirthDate: "1992-11-04", Email: "lea@example.fr", TermsAccepted: true})
		if err != nil {
			t.Fatal(err)
		}
		seq := 0
		history, err := env.Store.Load(ctxOf(t), event.NewStreamID(registration.Category, reg.RegistrationID))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range history {
			if c, ok := e.Event.(registration.CodeIssued); ok {
				seq = c.Sequence
			}
		}
		opened, err := members.Activate(ctxOf(t), command.Meta{}, reg.RegistrationID,
			command.ActivationCode(keys, reg.RegistrationID, seq), "Trois pommes vertes au jardin")
		if err != nil {
			t.Fatal(err)
		}
		lea := opened.MemberID
		got := f.waitFor(t, lea, 1)
		if len(got) != 1 || got[0].Event != any(payment) || got[0].Metadata.Actor != command.FinanceIntegrationActor {
			t.Fatalf("Léa's history: %+v", got)
		}
		// The facts are recorded in her history before they are marked delivered on the parked stream: wait for both.
		var parked []event.Envelope
		eventually(t, "the parked fact marked delivered", func() bool {
			parked = f.parked(t, insuredBody)
			return len(parked) >= 2
		})
		want := consultation.ParkedFactsDelivered{MemberID: lea,
			Delivered: []consultation.FactRef{{Kind: consultation.FactPayment, ID: payment.PaymentID}}}
		if len(parked) != 2 || !reflect.DeepEqual(parked[1].Event, want) ||
			parked[1].Metadata.Actor.ID != "reactions/"+integration.DeliveryHandler {
			t.Fatalf("parked stream: %+v", parked)
		}
		reachedHead(t, env, tg.Open(t))
		stop()

		// The reaction again, from the start of the log, on a new reactions database.
		again := sqldbtest.NewTarget(t, tg.Dialect).Open(t)
		startDelivery(t, env, again, h)
		reachedHead(t, env, again)
		if got := f.history(t, lea); len(got) != 1 {
			t.Fatalf("Léa's history after a second run: %+v", got)
		}
		if p := f.parked(t, insuredBody); len(p) != 2 {
			t.Fatalf("parked stream after a second run: %+v", p)
		}
	})
}
