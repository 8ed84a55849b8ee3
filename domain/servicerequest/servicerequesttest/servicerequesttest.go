// Package servicerequesttest builds service request histories for tests: each behaviour runs through the
// aggregate, and its events come out encoded then decoded by the codec, with revisions from 0 and positions from a
// shared counter, as the store hands them out. Only tests import it.
package servicerequesttest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// T0 is Monday 5 January 2026, 09:00 UTC (10:00 in Paris).
var T0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Paris is the calendar of the dates.
var Paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Office is the service in charge the test services name (R112-5 2°).
var Office = sr.ServiceInCharge{Name: "Service santé", Address: "1 rue de la Mutualité\n49000 Angers",
	Phone: "02 41 31 75 75", Email: "sante@msa.example.fr"}

// AuthorName and AuthorPosition are what Decide's decisions state of their author (CRPA L212-1).
const (
	AuthorName     = "Camille Martin"
	AuthorPosition = "Gestionnaire de dossiers"
)

// C2S is a service of queue sante-c2s: handling target 30 days, silence means acceptance after 2 months.
var C2S = sr.Service{
	Code: "complementaire-sante-solidaire", CatalogVersion: "2026.1", Queue: "sante-c2s",
	Deadlines: sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
		HandlingTime: sr.Period{Count: 30, Unit: sr.Days},
	},
	AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée.",
	InCharge:     Office,
}

// Cards is a service of another queue, with a 15-day target.
var Cards = sr.Service{
	Code: "carte-assurance-maladie", CatalogVersion: "2026.1", Queue: "sante-cartes",
	Deadlines: sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
		HandlingTime: sr.Period{Count: 15, Unit: sr.Days},
	},
	AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée.",
	InCharge:     Office,
}

// Attestations is a document delivered by right, of queue pro-attestations: silence decides nothing (no
// implicit-decision day), handling target 5 days.
var Attestations = sr.Service{
	Code: "attestations-pro", CatalogVersion: "2026.1", Queue: "pro-attestations",
	Deadlines: sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.NoImplicitDecision},
		HandlingTime: sr.Period{Count: 5, Unit: sr.Days},
	},
	AppealRoutes: "Recours amiable : vous pouvez contester la décision devant la commission de recours amiable.",
	InCharge:     Office,
}

var registry = func() *event.Registry {
	r, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		panic(err)
	}
	return r
}()

// Request is the history of one service request, built through the aggregate's behaviour methods and handed out
// as the store does (encoded then decoded by the codec, revisions from 0, positions from a shared counter).
type Request struct {
	tb     testing.TB
	ID     uuid.UUID
	Member uuid.UUID
	Events []event.Envelope
	pos    *uint64
}

// Submit records a new request of member for svc, received at at, with the form {"household":2}.
func Submit(tb testing.TB, pos *uint64, member uuid.UUID, svc sr.Service, at time.Time) *Request {
	tb.Helper()
	return SubmitForm(tb, pos, member, svc, at, `{"household":2}`)
}

// SubmitForm records a new request of member for svc, received at at, with form (a JSON object, compacted).
func SubmitForm(tb testing.TB, pos *uint64, member uuid.UUID, svc sr.Service, at time.Time, form string) *Request {
	tb.Helper()
	r := &Request{tb: tb, ID: uuid.New(), Member: member, pos: pos}
	ref := sr.DeriveReference(r.ID, at.In(Paris).Year(), 0)
	r.do(at, event.RoleMember, member, func(a *sr.ServiceRequest) error {
		return a.Submit(sr.Submission{MemberID: member, Form: json.RawMessage(form), CommandID: uuid.New(),
			Reference: ref}, svc, at, Paris)
	})
	return r
}

// do runs a behaviour on the request as its history stands and appends what it recorded, at the instant at.
func (r *Request) do(at time.Time, role event.Role, actor uuid.UUID, fn func(*sr.ServiceRequest) error) []event.Envelope {
	r.tb.Helper()
	agg := sr.Rehydrate(r.ID, r.Events)
	if err := fn(agg); err != nil {
		r.tb.Fatalf("%s: %v", agg, err)
	}
	actorID := actor.String()
	switch {
	case role == event.RoleSystem:
		actorID = "reactions/information-deadline"
	case actor == uuid.Nil:
		actorID = agg.Assignee().String() // the caseworker who holds the case acts
	}
	cmd := uuid.New()
	var out []event.Envelope
	for i, v := range agg.Events() {
		meta := event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor: event.Actor{ID: actorID, Role: role}, OccurredAt: at.UTC(), SchemaVersion: 1}
		rec, err := registry.NewRecord(sr.StreamID(r.ID), meta, i, v)
		if err != nil {
			r.tb.Fatal(err)
		}
		*r.pos += 10
		rec.Revision, rec.Position, rec.RecordedAt = uint64(len(r.Events)), *r.pos, at.UTC()
		env, err := registry.Open(rec)
		if err != nil {
			r.tb.Fatal(err)
		}
		r.Events = append(r.Events, env)
		out = append(out, env)
	}
	return out
}

// Claim claims the case for worker.
func (r *Request) Claim(at time.Time, worker uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, worker, func(a *sr.ServiceRequest) error { return a.Claim(worker) })
}

// Release gives the case back.
func (r *Request) Release(at time.Time, worker uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, worker, func(a *sr.ServiceRequest) error { return a.Release(worker) })
}

// Reassign moves the case to another caseworker.
func (r *Request) Reassign(at time.Time, supervisor, to uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleSupervisor, supervisor, func(a *sr.ServiceRequest) error { return a.Reassign(supervisor, to) })
}

// AskInformation asks the member for information by deadline.
func (r *Request) AskInformation(at time.Time, deadline time.Time) []event.Envelope {
	return r.do(at, event.RoleCaseworker, uuid.Nil, func(a *sr.ServiceRequest) error {
		return a.RequestInformation(a.Assignee(), []string{"Avis d'imposition 2025"}, deadline, at)
	})
}

// Answer records the member's answer.
func (r *Request) Answer(at time.Time) []event.Envelope {
	return r.do(at, event.RoleMember, r.Member, func(a *sr.ServiceRequest) error {
		return a.ReceiveInformation(r.Member, "Avis d'imposition déposé", at)
	})
}

// Lapse lapses the information deadline.
func (r *Request) Lapse(at time.Time) []event.Envelope {
	return r.do(at, event.RoleSystem, uuid.Nil, func(a *sr.ServiceRequest) error { return a.LapseInformationDeadline(at) })
}

// Decide decides the case.
func (r *Request) Decide(at time.Time, d sr.Decision, reason string) []event.Envelope {
	return r.do(at, event.RoleCaseworker, uuid.Nil, func(a *sr.ServiceRequest) error {
		return a.Decide(sr.Decided{Caseworker: a.Assignee(), Decision: d, Reason: reason, CatalogVersion: "2026.1",
			RuleApplied: "c2s.eligibility", AuthorName: AuthorName, AuthorPosition: AuthorPosition})
	})
}

// Withdraw withdraws the request.
func (r *Request) Withdraw(at time.Time) []event.Envelope {
	return r.do(at, event.RoleMember, r.Member, func(a *sr.ServiceRequest) error { return a.Withdraw(r.Member, "") })
}

// Note adds an internal note.
func (r *Request) Note(at time.Time, author uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, author, func(a *sr.ServiceRequest) error { return a.AddNote(author, "Appelé") })
}

// LegalClock is servicerequest.Clock over the whole history: what the projection's dates must agree with.
func (r *Request) LegalClock() sr.LegalClock {
	r.tb.Helper()
	agg := sr.Rehydrate(r.ID, r.Events)
	c, err := sr.Clock(r.Events, agg.Deadlines(), Paris)
	if err != nil {
		r.tb.Fatal(err)
	}
	return c
}

// All returns the events of requests, interleaved in global position order.
func All(rs ...*Request) []event.Envelope {
	var out []event.Envelope
	for _, r := range rs {
		out = append(out, r.Events...)
	}
	SortByPosition(out)
	return out
}

// SortByPosition orders events by global position, as the store delivers them.
func SortByPosition(es []event.Envelope) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Position < es[j-1].Position; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// At is T0 plus days and hours.
func At(days int, hour int) time.Time {
	return T0.AddDate(0, 0, days).Add(time.Duration(hour) * time.Hour)
}

// Story is a history with every kind of event, across two queues, for members m1 and m2, caseworkers w1 and w2 and a
// supervisor: a is claimed, paused and answered; b reassigned, noted, released, claimed again and lapsed; c rejected
// and noted afterwards; d withdrawn; e just submitted. Projections replay and rebuild from it (All(a, b, c, d, e)).
func Story(tb testing.TB, pos *uint64, m1, m2, w1, w2, supervisor uuid.UUID) (a, b, c, d, e *Request) {
	a = Submit(tb, pos, m1, C2S, At(0, 0))
	b = Submit(tb, pos, m2, C2S, At(1, 0))
	c = Submit(tb, pos, m1, Cards, At(1, 1))
	d = Submit(tb, pos, m2, C2S, At(2, 0))
	a.Claim(At(2, 1), w1)
	b.Reassign(At(2, 2), supervisor, w2)
	a.AskInformation(At(3, 0), At(20, 0))
	b.Note(At(3, 1), w2)
	b.Release(At(3, 2), w2)
	c.Claim(At(3, 3), w1)
	c.Decide(At(4, 0), sr.Rejected, "Ressources supérieures au plafond")
	c.Note(At(4, 1), w1)
	a.Answer(At(9, 0))
	d.Withdraw(At(9, 1))
	b.Claim(At(10, 0), w1)
	b.AskInformation(At(10, 1), At(12, 0))
	b.Lapse(At(12, 1))
	e = Submit(tb, pos, m1, C2S, At(13, 0))
	return a, b, c, d, e
}
