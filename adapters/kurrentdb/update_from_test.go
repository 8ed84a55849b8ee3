package kurrentdb

import (
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// UpdateFrom decides on the history given, appends at its last revision, re-decides over a fresh load after a
// lost race (within RetryOnConflict, else a Conflict), and recognises a command already in the history.
func TestUpdateFrom(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	note := func(text string) func([]event.Envelope) ([]any, error) {
		return func([]event.Envelope) ([]any, error) { return []any{noted{Text: text}}, nil }
	}

	// A new stream, believed new: appended expecting no stream.
	first := event.Command{Metadata: testMeta(uuid.New())}
	if c, err := store.UpdateFrom(ctx, stream, first, nil, func([]event.Envelope) ([]any, error) {
		return []any{opened{Queue: "rsa"}}, nil
	}); err != nil || c.Revision != 0 || c.Appended != 1 {
		t.Fatalf("new stream: %+v, %v", c, err)
	}
	// Believed new again, but it exists: a Conflict without retries, nothing appended.
	if _, err := store.UpdateFrom(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, nil, note("x")); failure.KindOf(err) != failure.Conflict {
		t.Fatalf("stale (empty) history without retries: %v, want a conflict", err)
	}
	history, err := store.Load(ctx, stream)
	if err != nil || len(history) != 1 {
		t.Fatalf("history %d events, %v", len(history), err)
	}
	// On the history just read: one append at its revision.
	if c, err := store.UpdateFrom(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, history, note("a")); err != nil || c.Revision != 1 {
		t.Fatalf("known history: %+v, %v", c, err)
	}
	// The same (now stale) history with a retry: decided again over the fresh stream, which it sees.
	var seen int
	cmd := event.Command{Metadata: testMeta(uuid.New()), RetryOnConflict: 1}
	c, err := store.UpdateFrom(ctx, stream, cmd, history, func(h []event.Envelope) ([]any, error) {
		seen = len(h)
		return []any{noted{Text: "b"}}, nil
	})
	if err != nil || c.Revision != 2 || seen != 2 {
		t.Fatalf("stale history with a retry: %+v, %v, decided last on %d events (want 2)", c, err, seen)
	}
	// The command already in the history given: its commit, nothing appended, decide not called.
	history, err = store.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	again, err := store.UpdateFrom(ctx, stream, cmd, history, func([]event.Envelope) ([]any, error) {
		t.Error("decide called for a replayed command")
		return nil, nil
	})
	if err != nil || again.Revision != c.Revision || again.Position != c.Position || again.Appended != 0 {
		t.Fatalf("replay: %+v, %v; want %+v", again, err, c)
	}
	if history, _ = store.Load(ctx, stream); len(history) != 3 {
		t.Fatalf("%d events, want 3", len(history))
	}
}
