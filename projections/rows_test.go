package projections_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// counter is a stream's state in TestBatchFold: the revisions folded into it.
type counter struct {
	id      uuid.UUID
	seen    []uint64
	changed bool
}

func TestBatchFold(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	env := func(category string, id uuid.UUID, rev uint64) event.Envelope {
		return event.Envelope{Stream: event.NewStreamID(category, id), Revision: rev}
	}
	batch := []event.Envelope{env("case", b, 3), env("other", c, 0), env("case", a, 0), env("case", b, 4), env("case", a, 1)}
	var asked []uuid.UUID
	fold := projections.BatchFold[*counter]{
		Keep: func(e event.Envelope) bool { return e.Stream.Category == "case" },
		LoadAll: func(ids []uuid.UUID) (map[uuid.UUID]*counter, error) {
			asked = ids
			return map[uuid.UUID]*counter{b: {id: b, seen: []uint64{0, 1, 2, 3}}}, nil // a is not stored yet
		},
		New: func() *counter { return &counter{} },
		Fold: func(s *counter, e event.Envelope) error {
			s.id = e.Stream.ID
			if slices.Contains(s.seen, e.Revision) {
				return nil // a replay
			}
			s.seen, s.changed = append(s.seen, e.Revision), true
			return nil
		},
		Changed: func(s *counter) bool { return s.changed },
	}
	changed, err := fold.Apply(batch)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []uuid.UUID{b, a}) {
		t.Errorf("LoadAll asked for %v, want the kept streams once each in order [%v %v]", asked, b, a)
	}
	if len(changed) != 2 || changed[0].id != b || changed[1].id != a {
		t.Fatalf("changed = %+v, want b then a", changed)
	}
	if !slices.Equal(changed[0].seen, []uint64{0, 1, 2, 3, 4}) || !slices.Equal(changed[1].seen, []uint64{0, 1}) {
		t.Errorf("folded %v and %v", changed[0].seen, changed[1].seen)
	}

	// Only replays: nothing changed, nothing to write.
	if changed, err := fold.Apply(batch[:1]); err != nil || len(changed) != 0 {
		t.Errorf("replay: %v, %v", changed, err)
	}
	// No kept event: LoadAll is not called.
	asked = nil
	if changed, err := fold.Apply(batch[1:2]); err != nil || changed != nil || asked != nil {
		t.Errorf("nothing kept: %v, %v, asked %v", changed, err, asked)
	}
	// An error stops the fold.
	boom := errors.New("boom")
	fold.Fold = func(*counter, event.Envelope) error { return boom }
	if _, err := fold.Apply(batch); !errors.Is(err, boom) {
		t.Errorf("error = %v", err)
	}
}
