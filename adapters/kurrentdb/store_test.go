package kurrentdb

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

func emit(events ...any) func([]event.Envelope) ([]any, error) {
	return func([]event.Envelope) ([]any, error) { return events, nil }
}

func TestLoadMissingStream(t *testing.T) {
	store, _, _ := memoryStore(t)
	history, err := store.Load(ctxT(t), newStream())
	if err != nil || len(history) != 0 {
		t.Fatalf("Load = %v, %v; want empty history", history, err)
	}
	if _, err := store.Load(ctxT(t), event.StreamID{Category: "bad-cat", ID: uuid.New()}); failure.KindOf(err) != failure.Invalid {
		t.Fatalf("Load of an invalid stream id: %v", err)
	}
}

func TestAppendLoadRoundTrip(t *testing.T) {
	store, _, client := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	meta := testMeta(uuid.New())

	commit, err := store.Update(ctx, stream, event.Command{Metadata: meta}, func(h []event.Envelope) ([]any, error) {
		if len(h) != 0 {
			t.Errorf("history of a new stream = %v", h)
		}
		return []any{opened{Queue: "rsa"}, noted{Text: "pièce reçue"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if commit.Revision != 1 || commit.Appended != 2 || commit.Position == 0 {
		t.Fatalf("commit = %+v", commit)
	}

	history, err := store.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ string
		ev  any
	}{{"TestCaseOpened", opened{Queue: "rsa"}}, {"TestCaseNoted", noted{Text: "pièce reçue"}}}
	if len(history) != len(want) {
		t.Fatalf("history = %+v", history)
	}
	meta.SchemaVersion = 1
	for i, env := range history {
		if env.Stream != stream || env.Revision != uint64(i) || env.Type != want[i].typ || !reflect.DeepEqual(env.Event, want[i].ev) {
			t.Errorf("event %d = %+v", i, env)
		}
		if env.EventID != event.DeriveID(meta.CommandID, i) {
			t.Errorf("event %d id = %s, want derived from the command id", i, env.EventID)
		}
		if env.Metadata != meta {
			t.Errorf("event %d metadata = %+v, want %+v", i, env.Metadata, meta)
		}
		if env.Position == 0 || env.RecordedAt.IsZero() || (i > 0 && env.Position <= history[i-1].Position) {
			t.Errorf("event %d position %d recorded %v", i, env.Position, env.RecordedAt)
		}
	}
	if history[1].Position != commit.Position {
		t.Errorf("commit position %d is not the last event's %d", commit.Position, history[1].Position)
	}

	// What another KurrentDB client sees: JSON content type, our metadata as custom metadata.
	raw := rawStream(t, client, stream.String())
	if len(raw) != 2 || raw[0].ContentType != "application/json" || raw[0].EventType != "TestCaseOpened" ||
		!bytes.Contains(raw[0].UserMetadata, []byte(`"command_id":"`+meta.CommandID.String()+`"`)) ||
		!bytes.Contains(raw[0].UserMetadata, []byte(`"schema_version":1`)) {
		t.Fatalf("raw = %+v", raw[0])
	}
}

func TestUpdateConflictExactlyOneWins(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, emit(opened{Queue: "rsa"})); err != nil {
		t.Fatal(err)
	}

	race := func(retries int) (errs [2]error, commits [2]event.Commit) {
		var loaded sync.WaitGroup
		loaded.Add(2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first := true
				cmd := event.Command{Metadata: testMeta(uuid.New()), RetryOnConflict: retries}
				commits[i], errs[i] = store.Update(ctx, stream, cmd, func(h []event.Envelope) ([]any, error) {
					if first { // both decide over the same history before either appends
						first = false
						loaded.Done()
						loaded.Wait()
					}
					return []any{noted{Text: "from updater"}}, nil
				})
			}()
		}
		wg.Wait()
		return errs, commits
	}

	errs, commits := race(0)
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if commits[i].Revision != 1 || commits[i].Appended != 1 {
				t.Errorf("winner commit = %+v", commits[i])
			}
		case !errors.Is(err, failure.Conflict) || failure.CodeOf(err) != "conflict":
			t.Errorf("loser error = %v (kind %v), want Conflict", err, failure.KindOf(err))
		default:
			var ee *esdb.Error
			if !errors.As(err, &ee) || ee.Code() != esdb.ErrorCodeWrongExpectedVersion {
				t.Errorf("conflict does not wrap the client's wrong-expected-version error: %v", err)
			}
		}
	}
	if won != 1 {
		t.Fatalf("%d updaters won, want exactly 1: %v", won, errs)
	}

	// Where re-deciding is safe, both commands land, one after the other.
	errs, commits = race(1)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("with a retry both should succeed: %v", errs)
	}
	if revs := []uint64{commits[0].Revision, commits[1].Revision}; !(revs[0] == 2 && revs[1] == 3 || revs[0] == 3 && revs[1] == 2) {
		t.Fatalf("revisions = %v, want 2 and 3", revs)
	}
	history, err := store.Load(ctx, stream)
	if err != nil || len(history) != 4 {
		t.Fatalf("history = %d events, %v; want 4", len(history), err)
	}
}

func TestRetriedCommandAppendsNothingNew(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	cmd := event.Command{Metadata: testMeta(uuid.New())}

	first, err := store.Update(ctx, stream, cmd, emit(opened{Queue: "rsa"}, noted{Text: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	// Another command lands in between.
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, emit(noted{Text: "b"})); err != nil {
		t.Fatal(err)
	}
	// The client retries the first command (its response was lost): nothing new, same answer, no decision.
	var called atomic.Bool
	again, err := store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		called.Store(true)
		return []any{opened{Queue: "rsa"}, noted{Text: "a"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if called.Load() {
		t.Error("decide ran for a command already applied")
	}
	if again.Revision != first.Revision || again.Position != first.Position || again.Appended != 0 {
		t.Fatalf("retry commit = %+v, first = %+v", again, first)
	}

	// The same append sent twice at the same expected revision (a retry after a lost response at the wire level) is
	// recognised by the event store itself.
	other := newStream()
	meta := testMeta(uuid.New())
	for range 2 {
		if _, err := store.Append(ctx, other, esdb.NoStream{}, meta, opened{Queue: "x"}, noted{Text: "y"}); err != nil {
			t.Fatalf("re-append: %v", err)
		}
	}
	for s, want := range map[event.StreamID]int{stream: 3, other: 2} {
		if h, err := store.Load(ctx, s); err != nil || len(h) != want {
			t.Errorf("%s has %d events (%v), want %d", s, len(h), err, want)
		}
	}
}

func TestUpdateExpectedRevision(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	rev := func(n uint64) *uint64 { return &n }

	var called atomic.Bool
	decide := func([]event.Envelope) ([]any, error) { called.Store(true); return []any{noted{Text: "x"}}, nil }

	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New()), ExpectedRevision: rev(0)}, decide); !errors.Is(err, failure.Conflict) {
		t.Fatalf("If-Match on a missing stream: %v", err)
	}
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, emit(opened{}, noted{})); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New()), ExpectedRevision: rev(0), RetryOnConflict: 3}, decide); !errors.Is(err, failure.Conflict) {
		t.Fatalf("stale If-Match: %v", err)
	}
	if called.Load() {
		t.Fatal("decide ran on a stale revision")
	}
	c, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New()), ExpectedRevision: rev(1)}, decide)
	if err != nil || c.Revision != 2 {
		t.Fatalf("fresh If-Match: %+v, %v", c, err)
	}
}

var errRefused = failure.New(failure.Rule, "testcase.closed", "the case is closed")

func TestUpdateFailingCommitAppendsNothing(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, emit(opened{})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cmd    event.Command
		decide func([]event.Envelope) ([]any, error)
		check  func(error) bool
	}{
		{"domain refusal comes back as is", event.Command{Metadata: testMeta(uuid.New())},
			func([]event.Envelope) ([]any, error) { return nil, errRefused },
			func(err error) bool { return errors.Is(err, errRefused) && failure.CodeOf(err) == "testcase.closed" }},
		{"unregistered event", event.Command{Metadata: testMeta(uuid.New())}, emit(noted{}, struct{ Secret string }{"x"}),
			func(err error) bool {
				return errors.Is(err, event.ErrUnregistered) && failure.KindOf(err) == failure.Internal
			}},
		{"incomplete metadata", event.Command{Metadata: event.Metadata{CommandID: uuid.New()}}, emit(noted{}),
			func(err error) bool { return errors.Is(err, event.ErrInvalidMetadata) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := store.Update(ctx, stream, tt.cmd, tt.decide)
			if err == nil || !tt.check(err) || c != (event.Commit{}) {
				t.Fatalf("Update = %+v, %v", c, err)
			}
		})
	}
	if h, err := store.Load(ctx, stream); err != nil || len(h) != 1 {
		t.Fatalf("stream has %d events (%v), want only the first", len(h), err)
	}
}

// TestUpdateCommitFailsWhenTheStoreGoesAway is the finishTransaction bug of wild-workouts turned into a test: when the
// append itself fails, Update must report the failure, not success, and a retry of the command later must land
// exactly once.
func TestUpdateCommitFailsWhenTheStoreGoesAway(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, kurrentnode.Options{Dir: dir})
	addr := node.Addr()
	client := connect(t, node)
	store := NewStore(client, testCodec(t))
	ctx := ctxT(t)
	stream := newStream()
	if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, emit(opened{})); err != nil {
		t.Fatal(err)
	}

	cmd := event.Command{Metadata: testMeta(uuid.New())}
	c, err := store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		if err := node.Close(); err != nil { // the store goes away between the decision and the append
			t.Errorf("close node: %v", err)
		}
		return []any{noted{Text: "decided"}}, nil
	})
	if err == nil || failure.KindOf(err) != failure.Unavailable || c != (event.Commit{}) {
		t.Fatalf("Update with a failing append = %+v, %v (kind %v); want an Unavailable error", c, err, failure.KindOf(err))
	}

	startNode(t, kurrentnode.Options{Dir: dir, Listen: addr})
	if h, err := store.Load(ctx, stream); err != nil || len(h) != 1 {
		t.Fatalf("after restart: %d events, %v; want 1", len(h), err)
	}
	c, err = store.Update(ctx, stream, cmd, emit(noted{Text: "decided"}))
	if err != nil || c.Revision != 1 || c.Appended != 1 {
		t.Fatalf("retried command = %+v, %v", c, err)
	}
	if c2, err := store.Update(ctx, stream, cmd, emit(noted{Text: "decided"})); err != nil || c2.Revision != 1 || c2.Appended != 0 {
		t.Fatalf("second retry = %+v, %v", c2, err)
	}
}

func TestConnectFailures(t *testing.T) {
	ctx := ctxT(t)
	if _, err := Connect(ctx, "http://user:secret@localhost"); failure.KindOf(err) != failure.Invalid || bytes.Contains([]byte(err.Error()), []byte("secret")) {
		t.Fatalf("invalid connection string: %v", err)
	}
	n := startNode(t, kurrentnode.Options{InMemory: true})
	addr := n.ConnectionString()
	n.Close()
	if _, err := Connect(ctx, addr); failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("unreachable store: %v (kind %v)", err, failure.KindOf(err))
	}
}
