package consultation

import (
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// ParkedCategory is the stream category of the facts reported about a person who has no online account yet:
// "parkedfinance-<keyed hash of the NIR body>", the hash taken with ParkedCategory as its purpose, so that the stream
// cannot be linked to the person's other lookup streams (nirclaim, insured) without the server key. The events hold
// no NIR: the stream's name is the only link to the person, and only the server can compute it.
const ParkedCategory = "parkedfinance"

// Stable event type names of the parked facts. Never rename them.
const (
	TypeFactParked           = "FinanceFactParked"
	TypeParkedFactsDelivered = "ParkedFinanceFactsDelivered"
)

// FactParked keeps a fact (exactly one of Statement, Payment, Invoice, as Normalize returned it) reported for a
// person without an online account, until the account opens. The event's metadata keep who reported it (actor),
// its correlation id and its causation (the message).
type FactParked struct {
	Statement *DailyAllowanceStatementRecorded `json:"statement,omitempty" personal:"no"`
	Payment   *PaymentRecorded                 `json:"payment,omitempty" personal:"no"`
	Invoice   *InvoiceIssued                   `json:"invoice,omitempty" personal:"no"`
}

// Fact returns the parked fact as a value (DailyAllowanceStatementRecorded, PaymentRecorded or InvoiceIssued), or
// nil when the event holds none.
func (p FactParked) Fact() any {
	switch {
	case p.Statement != nil:
		return *p.Statement
	case p.Payment != nil:
		return *p.Payment
	case p.Invoice != nil:
		return *p.Invoice
	}
	return nil
}

// parkedFact wraps a fact in a FactParked event.
func parkedFact(fact any) (FactParked, bool) {
	switch f := fact.(type) {
	case DailyAllowanceStatementRecorded:
		return FactParked{Statement: &f}, true
	case PaymentRecorded:
		return FactParked{Payment: &f}, true
	case InvoiceIssued:
		return FactParked{Invoice: &f}, true
	}
	return FactParked{}, false
}

// FactRef names a fact by its kind (FactStatement, FactPayment, FactInvoice) and external id.
type FactRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// RefusedFact is a parked fact that could not be moved into the member's history, with the stable code of the
// reason (consultation.conflicting_record: the history already holds the same id with other data).
type RefusedFact struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Code string `json:"code"`
}

// ParkedFactsDelivered records that parked facts were handed to member MemberID, whose account opened: Delivered
// are in the member's history (recorded then, or already there), Refused never will be. Either way they are not
// delivered again.
type ParkedFactsDelivered struct {
	MemberID  uuid.UUID     `json:"member_id" personal:"no"`
	Delivered []FactRef     `json:"delivered" personal:"no"`
	Refused   []RefusedFact `json:"refused,omitempty" personal:"no"`
}

// Waiting is a parked fact not yet delivered, with what its delivery needs from the event that parked it.
type Waiting struct {
	Ref  FactRef
	Fact any
	// EventID is the FactParked event's id: the causation of the recorded fact.
	EventID uuid.UUID
	// Actor and CorrelationID are those of the report that parked the fact: the recorded fact keeps them.
	Actor         event.Actor
	CorrelationID uuid.UUID
}

// Parked is the state of a parkedfinance stream: the facts kept for one person, in the order they came, and which of
// them were handed over.
type Parked struct {
	order   []FactRef
	facts   map[FactRef]Waiting
	handled map[FactRef]bool
	pending []any
}

// RehydrateParked folds a parkedfinance stream's history.
func RehydrateParked(history []event.Envelope) *Parked {
	p := &Parked{facts: map[FactRef]Waiting{}, handled: map[FactRef]bool{}}
	for _, env := range history {
		p.apply(env.Event, env)
	}
	return p
}

func (p *Parked) apply(e any, env event.Envelope) {
	switch e := e.(type) {
	case FactParked:
		fact := e.Fact()
		kind, id, err := FactKey(fact)
		if err != nil {
			return
		}
		ref := FactRef{Kind: kind, ID: id}
		if _, ok := p.facts[ref]; ok {
			return
		}
		p.order = append(p.order, ref)
		p.facts[ref] = Waiting{Ref: ref, Fact: fact, EventID: env.EventID, Actor: env.Metadata.Actor,
			CorrelationID: env.Metadata.CorrelationID}
	case ParkedFactsDelivered:
		for _, r := range e.Delivered {
			p.handled[r] = true
		}
		for _, r := range e.Refused {
			p.handled[FactRef{Kind: r.Kind, ID: r.ID}] = true
		}
	}
}

func (p *Parked) record(e any) {
	p.apply(e, event.Envelope{})
	p.pending = append(p.pending, e)
}

// Events returns the events the decisions recorded, to append.
func (p *Parked) Events() []any { return p.pending }

// Park keeps an external fact (after Normalize) until the person's account opens. The same external id with the
// same data records nothing and reports parked false (a redelivered message, a file imported again, also after the
// fact was delivered); with other data it is ErrConflictingRecord, as in a member's history.
func (p *Parked) Park(fact any) (parked bool, err error) {
	fact, err = Normalize(fact)
	if err != nil {
		return false, err
	}
	kind, id, _ := FactKey(fact)
	if prev, ok := p.facts[FactRef{Kind: kind, ID: id}]; ok {
		if prev.Fact != fact {
			return false, ErrConflictingRecord
		}
		return false, nil
	}
	e, _ := parkedFact(fact)
	p.record(e)
	return true, nil
}

// Waiting returns the parked facts not yet delivered nor refused, in the order they were parked.
func (p *Parked) Waiting() []Waiting {
	var out []Waiting
	for _, ref := range p.order {
		if !p.handled[ref] {
			out = append(out, p.facts[ref])
		}
	}
	return out
}

// MarkDelivered records that the facts delivered are in member memberID's history and the facts refused never will
// be. Facts that are not waiting (unknown, or already handled by an earlier delivery) are left out; when none is
// left, nothing is recorded, so a repeated delivery records nothing.
func (p *Parked) MarkDelivered(memberID uuid.UUID, delivered []FactRef, refused []RefusedFact) {
	e := ParkedFactsDelivered{MemberID: memberID, Delivered: []FactRef{}}
	seen := map[FactRef]bool{}
	take := func(r FactRef) bool {
		ok := p.isWaiting(r) && !seen[r]
		seen[r] = true
		return ok
	}
	for _, r := range delivered {
		if take(r) {
			e.Delivered = append(e.Delivered, r)
		}
	}
	for _, r := range refused {
		if take(FactRef{Kind: r.Kind, ID: r.ID}) {
			e.Refused = append(e.Refused, r)
		}
	}
	if len(e.Delivered) == 0 && len(e.Refused) == 0 {
		return
	}
	p.record(e)
}

func (p *Parked) isWaiting(r FactRef) bool {
	_, ok := p.facts[r]
	return ok && !p.handled[r]
}
