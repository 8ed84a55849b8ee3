package messaging_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Events of a fictitious aggregate; real reactions consume the aggregates' own events.
type caseOpened struct {
	Queue string `json:"queue"`
}

type caseNoted struct {
	Text string `json:"text"`
}

// caseArchived is known to the writer's registry only: to the reactions it is an event from newer code.
type caseArchived struct {
	Reason string `json:"reason"`
}

// Notes that tell the test handlers how to behave.
const (
	noteOK      = "ok"
	noteFlaky   = "flaky"   // the effect is done, then the call fails twice (Internal), then succeeds
	noteInvalid = "invalid" // Invalid error quoting personal data
	noteRule    = "rule"    // a Rule sentinel
	notePanic   = "panic"   // a panic quoting personal data
	noteBroken  = "broken"  // always an Internal error: retried, then poison
	noteDown    = "down"    // the effect is done, then Unavailable until the recorder is healed
	noteFixable = "fixable" // the effect is done, then a Rule error (poison at once) until the recorder is fixed
)

// Personal data that test handlers put in their errors: it must reach neither logs nor the poison table.
const (
	secretEmail = "jeanne.martin@example.fr"
	secretNIR   = "2850578006048"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventLog is a real embedded node with a store to write to it and a source to follow it.
type eventLog struct {
	node   *kurrentnode.Node
	client *kurrentdb.Client
	codec  *kurrentdb.Codec
	store  *kurrentdb.Store
	source *kurrentdb.Source
	newer  *kurrentdb.Store // writes with a registry that also knows caseArchived
}

func startLog(t *testing.T) *eventLog {
	t.Helper()
	n, err := kurrentnode.Start(kurrentnode.Options{InMemory: true, Logger: testLogger()})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kurrentdb.Connect(ctx, n.ConnectionString(), kurrentdb.WithLogger(testLogger()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	defs := []event.Definition{
		event.Define[caseOpened]("TestCaseOpened"),
		event.Define[caseNoted]("TestCaseNoted"),
	}
	reg, err := event.NewRegistry(defs)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := event.NewRegistry(defs, []event.Definition{event.Define[caseArchived]("TestCaseArchived")})
	if err != nil {
		t.Fatal(err)
	}
	codec := kurrentdb.NewCodec(reg)
	return &eventLog{node: n, client: c, codec: codec, store: kurrentdb.NewStore(c, codec), source: kurrentdb.NewSource(c, codec),
		newer: kurrentdb.NewStore(c, kurrentdb.NewCodec(newer))}
}

var testClock = time.Date(2025, 3, 4, 9, 15, 0, 0, time.UTC)

// appendOne appends v to stream as one command and returns where it landed.
func (l *eventLog) appendOne(t *testing.T, stream event.StreamID, v any) appended {
	t.Helper()
	return l.appendWith(t, l.store, stream, v)
}

func (l *eventLog) appendWith(t *testing.T, store *kurrentdb.Store, stream event.StreamID, v any) appended {
	t.Helper()
	cmd := uuid.New()
	meta := event.Metadata{
		CorrelationID: uuid.New(),
		CausationID:   cmd,
		CommandID:     cmd,
		Actor:         event.Actor{ID: uuid.NewString(), Role: event.RoleCaseworker},
		OccurredAt:    testClock,
	}
	commit, err := store.Update(ctxT(t), stream, event.Command{Metadata: meta}, func([]event.Envelope) ([]any, error) {
		return []any{v}, nil
	})
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return appended{stream: stream, commit: commit, eventID: event.DeriveID(cmd, 0), correlation: meta.CorrelationID}
}

type appended struct {
	stream      event.StreamID
	commit      event.Commit
	eventID     uuid.UUID
	correlation uuid.UUID
}

func newStream() event.StreamID { return event.NewStreamID("testcase", uuid.New()) }

func migrate(t *testing.T, db *sqldb.DB) {
	t.Helper()
	if err := messaging.Migrate(ctxT(t), db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctxT(t),
		`CREATE TABLE IF NOT EXISTS test_effect (handler TEXT NOT NULL, event_id TEXT NOT NULL, position BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

// fastConfig is a router configuration with short back-offs, for tests.
func fastConfig(l *eventLog, db *sqldb.DB) messaging.RouterConfig {
	return messaging.RouterConfig{
		Feed:   l.source,
		DB:     db,
		Logger: testLogger(),
		Retry: messaging.RetryPolicy{
			MaxRetries:      3,
			InitialInterval: 2 * time.Millisecond,
			MaxInterval:     10 * time.Millisecond,
		},
		Backoff:      10 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
		LeaseRetry:   20 * time.Millisecond,
		CloseTimeout: 5 * time.Second,
	}
}

// running starts router and returns a function that closes it and waits for Run to return (also run at cleanup).
func running(t *testing.T, router *messaging.Router) (stop func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- router.Run(context.Background()) }()
	select {
	case <-router.Running():
	case err := <-done:
		t.Fatalf("router stopped at once: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("router not running after 10s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := router.Close(); err != nil {
				t.Errorf("close router: %v", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("router run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("router run did not return after close")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after 15s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkpoint(t *testing.T, db *sqldb.DB, handler string) uint64 {
	t.Helper()
	p, _, err := messaging.Checkpoint(ctxT(t), db, handler)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitCheckpoint(t *testing.T, db *sqldb.DB, handler string, position uint64) {
	t.Helper()
	waitFor(t, handler+"'s checkpoint to reach the last event", func() bool { return checkpoint(t, db, handler) >= position })
}

func effects(t *testing.T, db *sqldb.DB, handler string, eventID uuid.UUID) int {
	t.Helper()
	var n int
	r := db.Reader()
	if err := r.QueryRowxContext(ctxT(t), r.Rebind(`SELECT COUNT(*) FROM test_effect WHERE handler = ? AND event_id = ?`),
		handler, eventID.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
