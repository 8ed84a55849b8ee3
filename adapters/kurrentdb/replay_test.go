package kurrentdb

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// A retried command is replayed only for the request it was recorded for: the same command id with another
// RequestHash (an Idempotency-Key reused for another body) is refused, and appends nothing.
func TestUpdateRefusesACommandIDReusedForAnotherRequest(t *testing.T) {
	store, _, _ := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	id := uuid.New()
	meta := func(hash string) event.Metadata { m := testMeta(id); m.RequestHash = hash; return m }

	first, err := store.Update(ctx, stream, event.Command{Metadata: meta("aaaa")}, emit(opened{Queue: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	first.Appended = 0 // a replay appends nothing
	if c, err := store.Update(ctx, stream, event.Command{Metadata: meta("aaaa")}, emit(opened{Queue: "a"})); err != nil || c != first {
		t.Fatalf("same request again: %+v, %v (first %+v)", c, err, first)
	}
	if c, err := store.Update(ctx, stream, event.Command{Metadata: meta("")}, emit(opened{Queue: "a"})); err != nil || c != first {
		t.Fatalf("a retry without a fingerprint (operator, reaction): %+v, %v", c, err)
	}
	if _, err := store.Update(ctx, stream, event.Command{Metadata: meta("bbbb")}, emit(opened{Queue: "b"})); !errors.Is(err, event.ErrRequestReused) {
		t.Fatalf("another request under the same command id: %v", err)
	}
	if h, err := store.Load(ctx, stream); err != nil || len(h) != 1 {
		t.Fatalf("history after a refused reuse: %d events, %v", len(h), err)
	}
}
