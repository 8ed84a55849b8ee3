package privacy_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/privacy"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/tests/testlog"
)

// ctxT and eventually are messagingtest's.
var (
	ctxT       = messagingtest.Context
	eventually = messagingtest.Eventually
)

// recordingEraser is a test double of the key store: it records the subjects it is asked to erase, and fails the
// first failures calls (the key store unavailable).
type recordingEraser struct {
	mu       sync.Mutex
	failures int
	calls    int
	erased   []uuid.UUID
}

func (r *recordingEraser) Erase(_ context.Context, subjects ...uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failures > 0 {
		r.failures--
		return errors.New("key store: connection refused")
	}
	r.erased = append(r.erased, subjects...)
	return nil
}

func (r *recordingEraser) subjects() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.erased)
}

type env struct {
	events *kurrentdbtest.Env
	logger *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &env{events: kurrentdbtest.StartWith(t, kurrentdbtest.Options{ClientLogger: logger},
		registration.Definitions(), member.Definitions()), logger: logger}
}

func migrate(t *testing.T, db *sqldb.DB) {
	t.Helper()
	messagingtest.Migrate(t, db, privacy.Migrate)
}

// write appends events to stream at the business time occurred.
func (e *env) write(t *testing.T, stream event.StreamID, occurred time.Time, events ...any) event.Commit {
	t.Helper()
	cmd := uuid.New()
	c, err := e.events.Store.Append(ctxT(t), stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
		CommandID: cmd, Actor: event.Actor{ID: "admin/erase-member", Role: event.RoleSystem}, OccurredAt: occurred},
		events...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs a router with the privacy reactions on db until the returned stop (or the test's end).
func (e *env) start(t *testing.T, db *sqldb.DB, keys privacy.KeyEraser) func() {
	t.Helper()
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Feed: e.events.Source, DB: db, Logger: e.logger,
		Retry:   messaging.RetryPolicy{MaxRetries: 1, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2, MaxElapsedTime: time.Second},
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := privacy.Register(router, privacy.Deps{DB: db, Keys: keys, Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- router.Run(context.Background()) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := router.Close(); err != nil {
				t.Error(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("router did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// reached waits until every privacy handler has acknowledged the log up to position.
func reached(t *testing.T, db *sqldb.DB, position uint64) {
	t.Helper()
	messagingtest.Reached(t, db, privacy.Handlers(), position)
}

// A DataErased in the log destroys its subjects' keys, once, after the key store came back; nothing is poisoned.
func TestEraseKeysOnDataErased(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t)
		migrate(t, db)
		keys := &recordingEraser{failures: 3}
		e.start(t, db, keys)
		memberID, regID := uuid.New(), uuid.New()
		e.write(t, event.NewStreamID(member.Category, memberID), time.Now(), member.LegalHoldPlaced{Ticket: "T", Reason: "litigation"})
		c := e.write(t, event.NewStreamID(member.Category, memberID), time.Now(),
			member.LegalHoldLifted{Ticket: "T"},
			member.DataErased{Reason: member.ErasureRequested, Ticket: "DPO-1", Subjects: []uuid.UUID{memberID, regID}})
		reached(t, db, c.Position)
		if got := keys.subjects(); !slices.Equal(got, []uuid.UUID{memberID, regID}) {
			t.Fatalf("erased %v, want %v", got, []uuid.UUID{memberID, regID})
		}
		poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(poison) != 0 {
			t.Fatalf("poison: %+v", poison)
		}
	})
}

// scheduler runs a retention scheduler on db until the returned stop (or the test's end).
func (e *env) scheduler(t *testing.T, db *sqldb.DB, keys privacy.KeyEraser) func() {
	t.Helper()
	s := privacy.NewRetentionScheduler(privacy.SchedulerDeps{DB: db, Keys: keys, Interval: 20 * time.Millisecond,
		LeaseRetry: 20 * time.Millisecond, Logger: e.logger})
	return messagingtest.Run(t, s.Run)
}

const day = 24 * time.Hour

// A registration abandoned 91 days ago has its key destroyed; one completed, or one abandoned 10 days ago, does
// not. The table and the checkpoints survive a restart of both the router and the scheduler.
func TestRetentionErasesAbandonedRegistrations(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := newEnv(t)
		db := tg.Open(t)
		migrate(t, db)
		now := time.Now().UTC()
		abandoned, completed, recent, refused := uuid.New(), uuid.New(), uuid.New(), uuid.New()
		e.write(t, event.NewStreamID(registration.Category, abandoned), now.Add(-95*day), registration.Started{})
		e.write(t, event.NewStreamID(registration.Category, abandoned), now.Add(-91*day),
			registration.CodeIssued{Sequence: 1, ExpiresAt: now.Add(-91 * day), Channel: "email"})
		e.write(t, event.NewStreamID(registration.Category, completed), now.Add(-100*day), registration.Started{},
			registration.CodeIssued{Sequence: 1, Channel: "email"})
		e.write(t, event.NewStreamID(registration.Category, completed), now.Add(-99*day),
			registration.Completed{MemberID: uuid.New()})
		c := e.write(t, event.NewStreamID(registration.Category, recent), now.Add(-10*day), registration.Started{},
			registration.Refused{Reason: "not_insured"})

		keys := &recordingEraser{failures: 1} // the first try fails: the row stays due
		stopRouter := e.start(t, db, keys)
		reached(t, db, c.Position)
		stopScheduler := e.scheduler(t, db, keys)
		eventually(t, "the abandoned registration's key destroyed", func() bool { return len(keys.subjects()) == 1 })
		if got := keys.subjects(); got[0] != abandoned {
			t.Fatalf("erased %v, want %v", got, abandoned)
		}
		var dues []privacy.Due
		eventually(t, "the erasure recorded in the table", func() bool {
			var err error
			if dues, err = privacy.Dues(ctxT(t), db); err != nil {
				t.Fatal(err)
			}
			return len(dues) > 0 && !dues[0].ErasedAt.IsZero()
		})
		if len(dues) != 2 || dues[0].Subject != abandoned.String() || dues[0].ErasedAt.IsZero() ||
			dues[1].Subject != recent.String() || !dues[1].ErasedAt.IsZero() ||
			!dues[1].DueAt.Equal(now.Add(80*day).Truncate(time.Microsecond)) {
			t.Fatalf("retention table %+v", dues)
		}

		// Stopped; meanwhile another registration is refused (long ago, as a log being caught up on).
		stopScheduler()
		stopRouter()
		c = e.write(t, event.NewStreamID(registration.Category, refused), now.Add(-120*day), registration.Started{},
			registration.Refused{Reason: "already_registered"})
		db2 := tg.Open(t)
		keys2 := &recordingEraser{}
		e.start(t, db2, keys2)
		reached(t, db2, c.Position)
		e.scheduler(t, db2, keys2)
		eventually(t, "the refused registration's key destroyed", func() bool { return len(keys2.subjects()) == 1 })
		time.Sleep(100 * time.Millisecond) // a few more ticks: nothing else is due
		if got := keys2.subjects(); !slices.Equal(got, []uuid.UUID{refused}) {
			t.Fatalf("after the restart, erased %v, want only %v", got, refused)
		}

		// A DataErased naming the recent registration takes its row off: privacy.erase-keys destroys its key.
		memberID := uuid.New()
		c = e.write(t, event.NewStreamID(member.Category, memberID), now, member.DataErased{
			Reason: member.ErasureRequested, Ticket: "DPO-1", Subjects: []uuid.UUID{memberID, recent}})
		reached(t, db2, c.Position)
		dues, err := privacy.Dues(ctxT(t), db2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dues {
			if d.Subject == recent.String() {
				t.Fatalf("retention table after the erasure: %+v", dues)
			}
		}
	})
}
