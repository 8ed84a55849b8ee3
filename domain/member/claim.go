package member

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Claim is the state of a nirclaim stream: which member, if any, the NIR belongs to. The stream is named by a
// keyed hash of the NIR (never the NIR itself) and written once, with NoStream: one account per NIR.
type Claim struct {
	memberID uuid.UUID
	claimed  bool
	pending  []any
}

// RehydrateClaim folds a nirclaim stream's history.
func RehydrateClaim(history []event.Envelope) *Claim {
	c := &Claim{}
	for _, env := range history {
		c.apply(env.Event)
	}
	return c
}

func (c *Claim) apply(e any) {
	if e, ok := e.(Claimed); ok && !c.claimed {
		c.memberID, c.claimed = e.MemberID, true
	}
}

// Claim records that the NIR belongs to memberID. Claiming again for the same member records nothing (a retried
// activation); for another member it is ErrNIRClaimed.
func (c *Claim) Claim(memberID uuid.UUID, _ time.Time) error {
	switch {
	case memberID == uuid.Nil:
		return failure.Errorf(failure.Internal, "member.Claim: no member id")
	case c.claimed && c.memberID == memberID:
		return nil
	case c.claimed:
		return ErrNIRClaimed
	}
	e := Claimed{MemberID: memberID}
	c.apply(e)
	c.pending = append(c.pending, e)
	return nil
}

// Member returns the member the NIR belongs to, if any.
func (c *Claim) Member() (uuid.UUID, bool) { return c.memberID, c.claimed }

// Events returns the events the decisions recorded, to append.
func (c *Claim) Events() []any { return c.pending }
