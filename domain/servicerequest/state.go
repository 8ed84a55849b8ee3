package servicerequest

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// State is a case as its events left it: the one fold of the service request events. The aggregate decides on it,
// and every projection of the cases reads it (or loads its stored fields into one, applies the event and writes
// back): which status follows which event, who holds the case after a release or a reassignment, when it is
// closed, are stated here only. It is a value: Apply returns the next state and never changes its receiver.
//
// The legal clock (dates, pauses) is Clock's fold, over the events' instants; State holds the deadlines it needs.
type State struct {
	Submitted      bool
	MemberID       uuid.UUID
	ServiceCode    string
	CatalogVersion string
	CommandID      uuid.UUID // the idempotency key of the submission
	Reference      string
	Deadlines      Deadlines // as the acknowledgement recorded them: the ones to give Clock
	TimeZone       string    // the calendar of the acknowledgement's dates
	Queue          string
	Assignee       uuid.UUID // uuid.Nil when unclaimed
	// TakenUp is true once a caseworker has acted on the case (claimed it, was given it, or asked for
	// information); it stays true after a release.
	TakenUp     bool
	Awaiting    bool      // information is awaited from the member
	Items       []string  // the items awaited, while Awaiting
	Deadline    time.Time // of the information awaited (kept after it arrives or lapses)
	Lapsed      bool      // the information deadline lapsed
	Withdrawn   bool      // the member withdrew the request
	Decided     bool
	Decision    Decided // the express decision, when Decided
	Closed      bool
	CloseReason string
	Notes       int
}

// Apply returns the state after the event e (a value of one of the package's event types) and whether e is one of
// them; an event of another type leaves the state as it is (a tolerant reader). It never fails: the aggregate's
// methods validate before they record.
func (s State) Apply(e any) (State, bool) {
	switch e := e.(type) {
	case Submitted:
		s.Submitted, s.MemberID, s.ServiceCode, s.CatalogVersion, s.CommandID = true, e.MemberID, e.ServiceCode,
			e.CatalogVersion, e.CommandID
	case Acknowledged:
		s.Reference, s.TimeZone = e.Reference, e.TimeZone
		s.Deadlines = Deadlines{Silence: e.Silence, HandlingTime: e.HandlingTime}
	case Queued:
		s.Queue = e.Queue
	case Claimed:
		s.Assignee, s.TakenUp = e.Caseworker, true
	case Released:
		s.Assignee = uuid.Nil
	case Reassigned:
		s.Assignee, s.TakenUp = e.To, true
	case InformationRequested:
		s.Awaiting, s.TakenUp, s.Items, s.Deadline = true, true, append([]string(nil), e.Items...), e.Deadline
	case InformationReceived:
		s.Awaiting, s.Items = false, nil
	case InformationDeadlineLapsed:
		s.Awaiting, s.Items, s.Lapsed = false, nil, true
	case Decided:
		s.Decided, s.Decision = true, e
	case Withdrawn:
		s.Withdrawn, s.Awaiting, s.Items = true, false, nil // nothing is awaited from a withdrawn request
	case Closed:
		s.Closed, s.CloseReason, s.Awaiting, s.Items = true, e.Reason, false, nil
	case NoteAdded:
		s.Notes++
	case ReferenceClaimed:
		// On the reference stream ("servicerequestref-…"), not the case's: nothing changes.
	default:
		return s, false
	}
	return s, true
}

// Fold returns the state a stream's history leaves, from the zero state. Events of unknown types are ignored.
func Fold(history []event.Envelope) State {
	var s State
	for _, env := range history {
		s, _ = s.Apply(env.Event)
	}
	return s
}

// Status returns where the case stands. A case submitted but not queued yet (the rest of its first append not
// applied yet) is StatusNone.
func (s State) Status() Status {
	switch {
	case !s.Submitted:
		return StatusNone
	case s.Closed:
		return StatusClosed
	case s.Awaiting:
		return StatusAwaitingInformation
	case s.Assignee != uuid.Nil:
		return StatusClaimed
	case s.Queue == "":
		return StatusNone
	}
	return StatusQueued
}
