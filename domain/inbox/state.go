package inbox

import (
	"time"

	"github.com/google/uuid"
)

// Document is the state of one published document.
type Document struct {
	Published
	PublishedAt time.Time // made available
	OpenedAt    time.Time // the member's first opening; zero until then
	NotifiedAt  time.Time // the first opening, or the deemed notification; zero until either
	Deemed      bool      // notified by the lapse of DeemedAfter, not by an opening
}

// State is the one fold of a member's inbox: the only code that says what each event does to it.
type State struct {
	Documents map[uuid.UUID]*Document
	Order     []uuid.UUID
}

// Apply folds one event; at is its occurred_at. It reports whether it knew the event.
func (s *State) Apply(e any, at time.Time) bool {
	if s.Documents == nil {
		s.Documents = map[uuid.UUID]*Document{}
	}
	switch v := e.(type) {
	case Published:
		if s.Documents[v.DocumentID] == nil {
			s.Documents[v.DocumentID] = &Document{Published: v, PublishedAt: at}
			s.Order = append(s.Order, v.DocumentID)
		}
	case Opened:
		if d := s.Documents[v.DocumentID]; d != nil && d.OpenedAt.IsZero() {
			d.OpenedAt = at
			if d.NotifiedAt.IsZero() {
				d.NotifiedAt = at
			}
		}
	case DeemedNotified:
		if d := s.Documents[v.DocumentID]; d != nil && d.NotifiedAt.IsZero() {
			d.NotifiedAt, d.Deemed = v.NotifiedAt, true
		}
	default:
		return false
	}
	return true
}

// DeemedAt is when document d, made available at publishedAt, is deemed notified if never opened.
func DeemedAt(publishedAt time.Time) time.Time { return publishedAt.Add(DeemedAfter) }
