package membermail_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/membermail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/tests/testlog"
)

const from = "Mon espace privé <ne-pas-repondre@msa.example>"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// env is an in-memory event-store node, the reactions' database and a log buffer.
type env struct {
	db     *sqldb.DB
	events *kurrentdbtest.Env // its store and source know the registration and member events
	logs   *testlog.Buffer
	logger *slog.Logger
	code   membermail.CodeDeriver
}

func newEnv(t *testing.T, db *sqldb.DB) *env {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	events := kurrentdbtest.StartWith(t, kurrentdbtest.Options{ClientLogger: logger},
		registration.Definitions(), member.Definitions())
	if err := messaging.Migrate(ctxT(t), db); err != nil {
		t.Fatal(err)
	}
	h, err := keyedhash.New(bytes.Repeat([]byte{0x42}, keyedhash.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, events: events, logs: logs, logger: logger, code: deriver(h)}
}

// deriver is what cmd wires: domain/command's code derivations under the server key, by kind.
func deriver(h *keyedhash.Hasher) membermail.CodeDeriver {
	return func(kind string, subject uuid.UUID, sequence int) string {
		switch kind {
		case membermail.KindActivation:
			return command.ActivationCode(h, subject, sequence)
		case membermail.KindEmailChange:
			return command.EmailChangeCode(h, subject, sequence)
		case membermail.KindPasswordReset:
			return command.ResetCode(h, subject, sequence)
		}
		return ""
	}
}

// at is the business time of the test's events: now, to the second (the precision of a Date header).
var at = time.Now().UTC().Truncate(time.Second)

// write appends events to stream and returns the commit and the id of the first event.
func (e *env) write(t *testing.T, stream event.StreamID, events ...any) (event.Commit, uuid.UUID) {
	t.Helper()
	cmd := uuid.New()
	c, err := e.events.Store.Append(ctxT(t), stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
		CommandID: cmd, Actor: event.Actor{ID: stream.ID.String(), Role: event.RoleMember}, OccurredAt: at}, events...)
	if err != nil {
		t.Fatal(err)
	}
	return c, event.DeriveID(cmd, 0)
}

// running is a router with the mail reactions.
type running struct {
	router *messaging.Router
	done   chan error
}

// start runs a router with the three reactions sending through sender, and waits until they have fixed their
// starting point.
func (e *env) start(t *testing.T, sender mail.Sender) *running {
	t.Helper()
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Feed: e.events.Source, DB: e.db, Logger: e.logger,
		Retry:   messaging.RetryPolicy{MaxRetries: 1, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2, MaxElapsedTime: time.Second},
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := membermail.Register(router, membermail.Deps{DB: e.db, Store: e.events.Store, Sender: sender, Code: e.code,
		From: from, Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	r := &running{router: router, done: make(chan error, 1)}
	go func() { r.done <- router.Run(context.Background()) }()
	t.Cleanup(func() { r.stop(t) })
	messagingtest.Eventually(t, "the handlers' starting points", func() bool { return router.Started(ctxT(t)) == nil })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	if err := r.router.Close(); err != nil {
		t.Error(err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("router did not stop")
	}
	r.done = nil
}

// reached waits until every mail handler has acknowledged the log up to position.
func (e *env) reached(t *testing.T, position uint64) {
	t.Helper()
	messagingtest.Eventually(t, fmt.Sprintf("handlers at position %d", position), func() bool {
		for _, h := range membermail.Handlers() {
			p, _, err := messaging.Checkpoint(ctxT(t), e.db, h)
			if err != nil {
				t.Fatal(err)
			}
			if p < position {
				return false
			}
		}
		return true
	})
}
