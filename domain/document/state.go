package document

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is where a deposit stands, in the member's words' codes.
const (
	StatusSent       = "sent"       // recorded, not registered yet
	StatusRegistered = "registered" // registered by the fund (acknowledgement of receipt)
)

// Deposit is the state of one deposit.
type Deposit struct {
	Submitted
	SubmittedAt  time.Time
	Status       string
	Disposition  string
	CaseID       uuid.UUID // the request whose case file holds it (none while it waits in the intake queue)
	RegisteredAt time.Time
}

// State is the one fold of a member's deposits: the only code that says what each event does to them.
type State struct {
	Deposits map[uuid.UUID]*Deposit
	Order    []uuid.UUID
}

// Apply folds one event; at is its occurred_at. It reports whether it knew the event.
func (s *State) Apply(e any, at time.Time) bool {
	if s.Deposits == nil {
		s.Deposits = map[uuid.UUID]*Deposit{}
	}
	switch v := e.(type) {
	case Submitted:
		s.Deposits[v.SubmissionID] = &Deposit{Submitted: v, SubmittedAt: at, Status: StatusSent}
		s.Order = append(s.Order, v.SubmissionID)
	case Registered:
		if d := s.Deposits[v.SubmissionID]; d != nil {
			d.Status, d.Disposition, d.CaseID, d.RegisteredAt = StatusRegistered, v.Disposition, v.RequestID, at
		}
	case Attached:
		if d := s.Deposits[v.SubmissionID]; d != nil {
			d.Disposition, d.CaseID = DispositionCaseFile, v.RequestID
		}
	default:
		return false
	}
	return true
}

// Reference is the deposit's reference for the member: "DOC-" and twelve characters of its id, in groups of four.
func Reference(id uuid.UUID) string {
	h := strings.ToUpper(strings.ReplaceAll(id.String(), "-", ""))
	return fmt.Sprintf("DOC-%s-%s-%s", h[0:4], h[4:8], h[8:12])
}
