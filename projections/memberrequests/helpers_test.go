package memberrequests

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// t0 is Monday 5 January 2026, 09:00 UTC (10:00 in Paris).
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// c2s is a service of queue sante-c2s: handling target 30 days, silence means acceptance after 2 months.
var c2s = sr.Service{
	Code: "complementaire-sante-solidaire", CatalogVersion: "2026.1", Queue: "sante-c2s",
	Deadlines: sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
		HandlingTime: sr.Period{Count: 30, Unit: sr.Days},
	},
	AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée.",
}

// cards is a service of another queue, with a 15-day target.
var cards = sr.Service{
	Code: "carte-assurance-maladie", CatalogVersion: "2026.1", Queue: "sante-cartes",
	Deadlines: sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
		HandlingTime: sr.Period{Count: 15, Unit: sr.Days},
	},
	AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée.",
}

var registry = func() *event.Registry {
	r, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		panic(err)
	}
	return r
}()

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// request is the history of one service request, built through the aggregate's behaviour methods and handed out
// as the store does (encoded then decoded by the codec, revisions from 0, positions from a shared counter).
type request struct {
	tb     testing.TB
	ID     uuid.UUID
	Member uuid.UUID
	Events []event.Envelope
	pos    *uint64
}

// submit records a new request of member for svc, received at at.
func submit(tb testing.TB, pos *uint64, member uuid.UUID, svc sr.Service, at time.Time) *request {
	tb.Helper()
	r := &request{tb: tb, ID: uuid.New(), Member: member, pos: pos}
	ref := sr.DeriveReference(r.ID, at.In(paris).Year(), 0)
	r.do(at, event.RoleMember, member, func(a *sr.ServiceRequest) error {
		return a.Submit(sr.Submission{MemberID: member, Form: json.RawMessage(`{"household":2}`), CommandID: uuid.New(),
			Reference: ref}, svc, at, paris)
	})
	return r
}

// do runs a behaviour on the request as its history stands and appends what it recorded, at the instant at.
func (r *request) do(at time.Time, role event.Role, actor uuid.UUID, fn func(*sr.ServiceRequest) error) []event.Envelope {
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

func (r *request) claim(at time.Time, worker uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, worker, func(a *sr.ServiceRequest) error { return a.Claim(worker) })
}

func (r *request) release(at time.Time, worker uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, worker, func(a *sr.ServiceRequest) error { return a.Release(worker) })
}

func (r *request) reassign(at time.Time, supervisor, to uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleSupervisor, supervisor, func(a *sr.ServiceRequest) error { return a.Reassign(supervisor, to) })
}

func (r *request) askInformation(at time.Time, deadline time.Time) []event.Envelope {
	return r.do(at, event.RoleCaseworker, uuid.Nil, func(a *sr.ServiceRequest) error {
		return a.RequestInformation(a.Assignee(), []string{"Avis d'imposition 2025"}, deadline, at)
	})
}

func (r *request) answer(at time.Time) []event.Envelope {
	return r.do(at, event.RoleMember, r.Member, func(a *sr.ServiceRequest) error {
		return a.ReceiveInformation(r.Member, "Avis d'imposition déposé", at)
	})
}

func (r *request) lapse(at time.Time) []event.Envelope {
	return r.do(at, event.RoleSystem, uuid.Nil, func(a *sr.ServiceRequest) error { return a.LapseInformationDeadline(at) })
}

func (r *request) decide(at time.Time, d sr.Decision, reason string) []event.Envelope {
	return r.do(at, event.RoleCaseworker, uuid.Nil, func(a *sr.ServiceRequest) error {
		return a.Decide(sr.Decided{Caseworker: a.Assignee(), Decision: d, Reason: reason, CatalogVersion: "2026.1",
			RuleApplied: "c2s.eligibility"})
	})
}

func (r *request) withdraw(at time.Time) []event.Envelope {
	return r.do(at, event.RoleMember, r.Member, func(a *sr.ServiceRequest) error { return a.Withdraw(r.Member, "") })
}

func (r *request) note(at time.Time, author uuid.UUID) []event.Envelope {
	return r.do(at, event.RoleCaseworker, author, func(a *sr.ServiceRequest) error { return a.AddNote(author, "Appelé") })
}

// legalClock is servicerequest.Clock over the whole history: what the projection's dates must agree with.
func (r *request) legalClock() sr.LegalClock {
	r.tb.Helper()
	agg := sr.Rehydrate(r.ID, r.Events)
	c, err := sr.Clock(r.Events, agg.Deadlines(), paris)
	if err != nil {
		r.tb.Fatal(err)
	}
	return c
}

// all returns the events of requests, interleaved in global position order.
func all(rs ...*request) []event.Envelope {
	var out []event.Envelope
	for _, r := range rs {
		out = append(out, r.Events...)
	}
	sortByPosition(out)
	return out
}

func sortByPosition(es []event.Envelope) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Position < es[j-1].Position; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func setup(tb testing.TB, db *sqldb.DB) *Projection {
	tb.Helper()
	p := New()
	if err := projections.Setup(ctxT(tb), db, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// feed applies batch to p in one transaction, as the runner does.
func feed(tb testing.TB, db *sqldb.DB, p projections.Projection, batch ...event.Envelope) {
	tb.Helper()
	if err := db.InTx(ctxT(tb), func(tx *sqldb.Tx) error { return p.Apply(ctxT(tb), tx, batch) }); err != nil {
		tb.Fatalf("apply: %v", err)
	}
}

// dump returns every row of a version's tables as sorted text, without the version in the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	t.Helper()
	table := projections.Prefix(Name, version)
	rows := projectionstest.Dump(t, db, table, table+"_timeline")
	for i, r := range rows {
		rows[i] = r[len(table):]
	}
	return rows
}

func at(days int, hour int) time.Time {
	return t0.AddDate(0, 0, days).Add(time.Duration(hour) * time.Hour)
}

func ids(rs []Request) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
