package casework_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/tests/testlog"
)

const from = "Mon espace privé <ne-pas-repondre@msa.example>"

// ctxT and eventually are messagingtest's.
var (
	ctxT       = messagingtest.Context
	eventually = messagingtest.Eventually
)

// env is an in-memory event-store node, a log buffer and a real SMTP server; the database is given per start.
type env struct {
	events *kurrentdbtest.Env
	logs   *testlog.Buffer
	logger *slog.Logger
	smtp   *smtptest.Server
	sender *mail.SMTP
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	events := kurrentdbtest.StartWith(t, kurrentdbtest.Options{ClientLogger: logger},
		servicerequest.Definitions(), member.Definitions())
	srv, sender := smtptest.StartSender(t, from)
	return &env{events: events, logs: logs, logger: logger, smtp: srv, sender: sender}
}

func migrate(t *testing.T, db *sqldb.DB) {
	t.Helper()
	messagingtest.Migrate(t, db, casework.Migrate)
}

// at is the business time of the test's acknowledgements: now, to the second (the precision of a Date header).
var at = time.Now().UTC().Truncate(time.Second)

// write appends events to stream at the business time occurred and returns the commit and the first event's id.
func (e *env) write(t *testing.T, stream event.StreamID, occurred time.Time, events ...any) (event.Commit, uuid.UUID) {
	t.Helper()
	cmd := uuid.New()
	c, err := e.events.Store.Append(ctxT(t), stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
		CommandID: cmd, Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleMember}, OccurredAt: occurred}, events...)
	if err != nil {
		t.Fatal(err)
	}
	return c, event.DeriveID(cmd, 0)
}

func submitted(memberID uuid.UUID) servicerequest.Submitted {
	return servicerequest.Submitted{MemberID: memberID, ServiceCode: "sante.css", CatalogVersion: "2026.1",
		Form: json.RawMessage(`{"foyer":2}`), CommandID: uuid.New()}
}

// running is a router with the casework reactions.
type running struct {
	router *messaging.Router
	done   chan error
}

// start runs a router with the casework reactions on db, and waits until they have fixed their starting point.
func (e *env) start(t *testing.T, db *sqldb.DB) *running {
	t.Helper()
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Feed: e.events.Source, DB: db, Logger: e.logger,
		Retry:   messaging.RetryPolicy{MaxRetries: 1, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2, MaxElapsedTime: time.Second},
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := casework.Register(router, casework.Deps{DB: db, Store: e.events.Store, Sender: e.sender, From: from,
		Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	r := &running{router: router, done: make(chan error, 1)}
	go func() { r.done <- router.Run(context.Background()) }()
	t.Cleanup(func() { r.stop(t) })
	eventually(t, "the handlers' starting points", func() bool { return router.Started(ctxT(t)) == nil })
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

// reached waits until every casework handler has acknowledged the log up to position.
func reached(t *testing.T, db *sqldb.DB, position uint64) {
	t.Helper()
	messagingtest.Reached(t, db, casework.Handlers(), position)
}
