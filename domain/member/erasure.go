package member

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/failure"
)

// LegalHoldReasons are the reasons a legal hold may be placed for (LegalHoldPlaced.Reason).
var LegalHoldReasons = []string{"litigation", "inspection", "fraud_investigation"}

// ErasureReasons are the reasons an erasure may be recorded for (DataErased.Reason).
var ErasureReasons = []string{ErasureRequested, ErasureRetentionEnded}

// ValidTicket reports whether t may be the ticket of an erasure or a legal hold: 1 to 64 ASCII letters, digits and
// . _ / : - (a reference in the fund's records, never a name nor any other personal data).
func ValidTicket(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '/', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// EraseData records DataErased for the account memberID (this stream's id), for reason (ErasureReasons) and ticket
// (empty for an erasure the system decides, ValidTicket otherwise); openRequests is how many requests of the member
// are still open. The subjects whose keys are destroyed are the member's own id and the registration that opened the
// account. Refused: ErrErasureReason, ErrTicketInvalid (Invalid); ErrNotFound; ErrLegalHold while a hold is in
// force; ErrOpenRequests while openRequests > 0; ErrErased for an account already erased under another ticket (the
// same ticket again records nothing: a repeat of the same erasure).
func (m *Member) EraseData(memberID uuid.UUID, reason, ticket string, openRequests int, now time.Time) error {
	if !slices.Contains(ErasureReasons, reason) {
		return ErrErasureReason
	}
	if ticket != "" && !ValidTicket(ticket) {
		return ErrTicketInvalid
	}
	if memberID == uuid.Nil {
		return failure.Errorf(failure.Internal, "member.EraseData: no member id")
	}
	switch {
	case !m.state.Registered:
		return ErrNotFound
	case m.state.Erased && m.state.erasedTicket == ticket:
		return nil
	case m.state.Erased:
		return ErrErased
	case len(m.state.LegalHolds) > 0:
		return ErrLegalHold
	case openRequests > 0:
		return ErrOpenRequests
	}
	subjects := []uuid.UUID{memberID}
	if r := m.state.RegistrationID; r != uuid.Nil && r != memberID {
		subjects = append(subjects, r)
	}
	m.record(now, DataErased{Reason: reason, Ticket: ticket, Subjects: subjects})
	return nil
}

// PlaceLegalHold records LegalHoldPlaced: no erasure until the hold of ticket is lifted. The same ticket in force
// records nothing. Refused: ErrTicketInvalid, ErrLegalHoldReason (Invalid); ErrNotFound; ErrErased.
func (m *Member) PlaceLegalHold(ticket, reason string, now time.Time) error {
	if !ValidTicket(ticket) {
		return ErrTicketInvalid
	}
	if !slices.Contains(LegalHoldReasons, reason) {
		return ErrLegalHoldReason
	}
	if err := m.open(); err != nil {
		return err
	}
	if m.state.LegalHolds[ticket] {
		return nil
	}
	m.record(now, LegalHoldPlaced{Ticket: ticket, Reason: reason})
	return nil
}

// LiftLegalHold records LegalHoldLifted for the hold of ticket. Refused: ErrTicketInvalid; ErrNotFound; ErrErased;
// ErrLegalHoldNotFound when no hold of that ticket is in force.
func (m *Member) LiftLegalHold(ticket string, now time.Time) error {
	if !ValidTicket(ticket) {
		return ErrTicketInvalid
	}
	if err := m.open(); err != nil {
		return err
	}
	if !m.state.LegalHolds[ticket] {
		return ErrLegalHoldNotFound
	}
	m.record(now, LegalHoldLifted{Ticket: ticket})
	return nil
}

// Erased reports whether the member's personal data was erased.
func (m *Member) Erased() bool { return m.state.Erased }

// LegalHolds returns the tickets of the legal holds in force, sorted.
func (m *Member) LegalHolds() []string {
	out := make([]string, 0, len(m.state.LegalHolds))
	for t := range m.state.LegalHolds {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
