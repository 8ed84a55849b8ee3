package projections_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// Sample events of a fictitious aggregate; the projection reads only their envelopes.
type opened struct {
	Queue string `json:"queue"`
}

type noted struct {
	Text string `json:"text"`
}

// unknown is written by the test's own codec but missing from the runner's: the runner cannot decode it.
type unknown struct {
	X int `json:"x"`
}

var known = []event.Definition{event.Define[opened]("TestCaseOpened"), event.Define[noted]("TestCaseNoted")}

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is an in-memory event-store node with a store to write to and a source for runners.
type env struct {
	store  *kurrentdb.Store // writes known and unknown events
	source *kurrentdb.Source
}

func newEnv(t *testing.T) *env {
	t.Helper()
	node, err := kurrentnode.Start(kurrentnode.Options{InMemory: true})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := kurrentdb.Connect(ctx, node.ConnectionString(), kurrentdb.WithLogger(logger(t)))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	readReg, err := event.NewRegistry(known)
	if err != nil {
		t.Fatal(err)
	}
	writeReg, err := event.NewRegistry(known, []event.Definition{event.Define[unknown]("TestCaseUnknown")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		store:  kurrentdb.NewStore(client, kurrentdb.NewCodec(writeReg)),
		source: kurrentdb.NewSource(client, kurrentdb.NewCodec(readReg)),
	}
}

func meta() event.Metadata {
	cmd := uuid.New()
	return event.Metadata{
		CorrelationID: uuid.New(), CausationID: cmd, CommandID: cmd,
		Actor:      event.Actor{ID: uuid.NewString(), Role: event.RoleCaseworker},
		OccurredAt: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC),
	}
}

// append appends events to stream and returns where they landed.
func (e *env) append(t *testing.T, stream event.StreamID, events ...any) event.Commit {
	t.Helper()
	c, err := e.store.Append(ctxT(t), stream, esdb.Any{}, meta(), events...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newStream(category string) event.StreamID { return event.NewStreamID(category, uuid.New()) }

// running is a Runner running in the background.
type running struct {
	*projections.Runner
	done   chan error
	cancel context.CancelFunc
}

func startRunner(t *testing.T, db *sqldb.DB, source projections.Source, ps ...projections.Projection) *running {
	t.Helper()
	r, err := projections.NewRunner(db, source, projections.Options{Logger: logger(t), RetryDelay: 200 * time.Millisecond}, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, r)
}

// start runs r in the background until the test ends.
func start(t *testing.T, r *projections.Runner) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{Runner: r, done: make(chan error, 1), cancel: cancel}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { run.stop(t) })
	return run
}

// stop ends the runner and returns what Run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("runner did not stop")
		return nil
	}
}

// wait waits until the runner's projections reflect position.
func (r *running) wait(t *testing.T, position uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, position); err != nil {
		t.Fatalf("WaitFor(%d): %v", position, err)
	}
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// activity reads a stream's row through the streamactivity queries; ok is false when it has none.
func activity(t *testing.T, db *sqldb.DB, s event.StreamID) (streamactivity.Activity, bool) {
	t.Helper()
	a, err := streamactivity.NewQueries(db).Get(ctxT(t), s)
	if errors.Is(err, streamactivity.ErrNotFound) {
		return a, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

func checkpoints(t *testing.T, db *sqldb.DB) map[int]projections.Checkpoint {
	t.Helper()
	cps, err := projections.ReadCheckpoints(ctxT(t), db.Reader())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]projections.Checkpoint{}
	for _, cp := range cps {
		if cp.Name == streamactivity.Name {
			out[cp.Version] = cp
		}
	}
	return out
}

func tableExists(t *testing.T, db *sqldb.DB, table string) bool {
	t.Helper()
	_, err := db.Reader().ExecContext(ctxT(t), "SELECT 1 FROM "+table+" WHERE 1 = 0")
	return err == nil
}

var errBoom = errors.New("boom")

// ended waits for Run to end by itself and returns what it returned.
func (r *running) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("runner did not stop by itself")
		return nil
	}
}
