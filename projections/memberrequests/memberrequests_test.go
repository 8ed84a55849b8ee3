package memberrequests

import (
	"errors"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/requestclock"
)

var (
	w1, w2     = uuid.New(), uuid.New()
	supervisor = uuid.New()
	m1, m2     = uuid.New(), uuid.New()
)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func get(t *testing.T, q *Queries, member, id uuid.UUID) Request {
	t.Helper()
	r, err := q.Get(projectionstest.Ctx(t), member, id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// TestRequestWithoutImplicitDecision: the member's view of a request whose silence decides nothing (a document
// delivered by right) shows no implicit-decision date, stored as "" on both dialects, also while paused.
func TestRequestWithoutImplicitDecision(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.Attestations, srtest.At(0, 0))
		projectionstest.Apply(t, db, p, a.Events...)
		q := NewQueries(db, fixed(srtest.At(5, 0)))

		r := get(t, q, m1, a.ID)
		if r.Status != StatusReceived || r.ServiceCode != srtest.Attestations.Code || r.ImplicitDecisionOn != "" ||
			r.ImplicitOutcome != "none" || r.TimeZone != "Europe/Paris" || r.Revision != 2 {
			t.Errorf("submitted = %+v", r)
		}
		var stored []string
		if err := db.Reader().SelectContext(projectionstest.Ctx(t), &stored, db.Reader().Rebind("SELECT implicit_decision_on FROM "+
			Name+" WHERE request_id = ?"), a.ID.String()); err != nil || len(stored) != 1 || stored[0] != "" {
			t.Fatalf("stored implicit_decision_on = %q, %v", stored, err)
		}
		if got, err := q.List(projectionstest.Ctx(t), m1); err != nil || len(got) != 1 || got[0].ImplicitDecisionOn != "" {
			t.Fatalf("List = %+v, %v", got, err)
		}

		// Paused, then answered: still no date.
		projectionstest.Apply(t, db, p, a.Claim(srtest.At(1, 0), w1)...)
		projectionstest.Apply(t, db, p, a.AskInformation(srtest.At(2, 0), srtest.At(40, 0))...)
		if r := get(t, q, m1, a.ID); r.Status != StatusAwaitingInformation || r.Expected == nil || r.ImplicitDecisionOn != "" {
			t.Errorf("awaiting = %+v", r)
		}
		projectionstest.Apply(t, db, p, a.Answer(srtest.At(7, 0))...)
		if r := get(t, q, m1, a.ID); r.Status != StatusInProgress || r.ImplicitDecisionOn != "" {
			t.Errorf("answered = %+v", r)
		}
		projectionstest.Apply(t, db, p, a.Decide(srtest.At(8, 0), sr.Approved, "")...)
		if r := get(t, q, m1, a.ID); r.Status != StatusApproved || r.ImplicitDecisionOn != "" || r.ImplicitOutcome != "none" {
			t.Errorf("decided = %+v", r)
		}
	})
}

// rejectionC2S is srtest.C2S under a silence that means rejection (a request for pieces suspends its period).
var rejectionC2S = func() sr.Service {
	s := srtest.C2S
	s.Deadlines.Silence.Outcome = sr.Rejection
	return s
}()

// TestMemberFollowsARequest follows a request under each silence rule: the dates the member sees while pieces are
// awaited and after they come are the L114-5 clock's (a suspension under rejection, a restart under acceptance).
func TestMemberFollowsARequest(t *testing.T) {
	for _, tc := range []struct {
		svc                sr.Service
		outcome            string
		awaiting, answered string // the last day of silence on 10 January (pieces awaited) and after the answer on 17 January
	}{
		{svc: rejectionC2S, outcome: "rejection", awaiting: "2026-03-08", answered: "2026-03-15"}, // suspended by 3, then 10 days
		{svc: srtest.C2S, outcome: "acceptance", awaiting: "2026-03-10", answered: "2026-03-17"},  // 2 months from 10, then 17 January
	} {
		t.Run(tc.outcome, func(t *testing.T) { memberFollowsARequest(t, tc.svc, tc.outcome, tc.awaiting, tc.answered) })
	}
}

func memberFollowsARequest(t *testing.T, svc sr.Service, outcome, awaiting, answered string) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, svc, srtest.At(0, 0)) // received 5 January: implicit decision on 5 March
		projectionstest.Apply(t, db, p, a.Events...)
		q := NewQueries(db, fixed(srtest.At(5, 0)))

		r := get(t, q, m1, a.ID)
		if r.Status != StatusReceived || r.MemberID != m1 || r.ServiceCode != srtest.C2S.Code || r.CatalogVersion != "2026.1" ||
			r.Reference != sr.Rehydrate(a.ID, a.Events).Reference() || !r.ReceivedAt.Equal(srtest.At(0, 0)) ||
			r.ImplicitDecisionOn != "2026-03-05" || r.ImplicitOutcome != outcome || r.TimeZone != "Europe/Paris" ||
			r.Expected != nil || r.Decision != nil || r.ClosedAt != nil || r.Revision != 2 || r.ImplicitDecisionAt == nil ||
			!r.ImplicitDecisionAt.Equal(time.Date(2026, 3, 6, 0, 0, 0, 0, srtest.Paris)) {
			t.Errorf("submitted = %+v (implicit decision at %v: the end of 5 March in Paris)", r, r.ImplicitDecisionAt)
		}

		// Claimed, released, claimed again, reassigned, noted: for the member, one step ("prise en charge").
		projectionstest.Apply(t, db, p, a.Claim(srtest.At(1, 0), w1)...)
		projectionstest.Apply(t, db, p, a.Release(srtest.At(1, 1), w1)...)
		projectionstest.Apply(t, db, p, a.Claim(srtest.At(1, 2), w2)...)
		projectionstest.Apply(t, db, p, a.Reassign(srtest.At(1, 3), supervisor, w1)...)
		projectionstest.Apply(t, db, p, a.Note(srtest.At(1, 4), w1)...)
		if r := get(t, q, m1, a.ID); r.Status != StatusInProgress || r.Revision != uint64(len(a.Events)-1) {
			t.Errorf("in progress = %+v", r)
		}

		// Information asked for on 7 January, by 20 February: the member sees what and by when; the clock stops.
		deadline := srtest.At(46, 0)
		projectionstest.Apply(t, db, p, a.AskInformation(srtest.At(2, 0), deadline)...)
		r = get(t, q, m1, a.ID) // read on 10 January: 3 days of pause so far
		if r.Status != StatusAwaitingInformation || r.Expected == nil ||
			!slices.Equal(r.Expected.Items, []string{"Avis d'imposition 2025"}) || !r.Expected.Deadline.Equal(deadline) ||
			r.ImplicitDecisionOn != awaiting {
			t.Errorf("awaiting = %+v (expected %+v)", r, r.Expected)
		}
		// Answered on 17 January: 10 days of pause, as servicerequest.Clock counts them.
		projectionstest.Apply(t, db, p, a.Answer(srtest.At(12, 0))...)
		r = get(t, q, m1, a.ID)
		if lc := a.LegalClock(); r.Status != StatusInProgress || r.Expected != nil || r.ImplicitDecisionOn != answered ||
			r.ImplicitDecisionOn != requestclock.Day(lc.ImplicitDecisionOn) {
			t.Errorf("answered = %+v", r)
		}

		projectionstest.Apply(t, db, p, a.Decide(srtest.At(20, 0), sr.Rejected, "Ressources supérieures au plafond")...)
		r = get(t, q, m1, a.ID)
		if r.Status != StatusRejected || r.Decision == nil || r.Decision.Outcome != sr.Rejected ||
			r.Decision.Reason != "Ressources supérieures au plafond" || !r.Decision.DecidedAt.Equal(srtest.At(20, 0)) ||
			r.ClosedReason != sr.CloseDecided || r.ClosedAt == nil || r.ImplicitDecisionOn != "" || r.ImplicitDecisionAt != nil {
			t.Errorf("decided = %+v (decision %+v)", r, r.Decision)
		}
		// The rejection names its author (L212-1) and tells how to contest it: the routes of the service's catalog
		// version, and the CRA to seize within 2 months of the notification, pending until the decision letter is
		// notified (the decision's date is not the notification any more).
		routes := catalogRoutes(t, svc.Code)
		if d := r.Decision; d == nil || d.Author == nil || *d.Author != (Author{Name: srtest.AuthorName, Position: srtest.AuthorPosition}) ||
			d.Appeal == nil || !slices.Equal(d.Appeal.Routes, routes) || len(routes) == 0 ||
			d.Appeal.Notification != NotificationPending || d.Appeal.NotifiedAt != nil || d.Appeal.CRADeadlineOn != nil ||
			d.Appeal.CRADeadlineAt != nil || d.Appeal.LetterAvailableAt != nil {
			t.Errorf("decision = %+v (author %+v, appeal %+v)", r.Decision, r.Decision.Author, r.Decision.Appeal)
		}
		// The letter made available on the 21st, not opened: still pending, with its availability.
		published := srtest.At(21, 0)
		if err := r.Notify(&Letter{AvailableAt: published, DeemedAt: published.AddDate(0, 0, 15)}); err != nil {
			t.Fatal(err)
		}
		if a := r.Decision.Appeal; a.Notification != NotificationPending || a.NotifiedAt != nil || a.CRADeadlineOn != nil ||
			a.LetterAvailableAt == nil || !a.LetterAvailableAt.Equal(published) || !a.DeemedNotifiedAt.Equal(published.AddDate(0, 0, 15)) {
			t.Errorf("letter available = %+v", a)
		}
		// First opened on 27 January: the CRA is to be seized by 27 March, the end of that day in Paris.
		opened := srtest.At(22, 9)
		if err := r.Notify(&Letter{AvailableAt: published, DeemedAt: published.AddDate(0, 0, 15), NotifiedAt: &opened}); err != nil {
			t.Fatal(err)
		}
		if a := r.Decision.Appeal; a.Notification != NotificationOpened || a.NotifiedAt == nil || !a.NotifiedAt.Equal(opened) ||
			a.CRADeadlineOn == nil || *a.CRADeadlineOn != "2026-03-27" || a.CRADeadlineAt == nil ||
			!a.CRADeadlineAt.Equal(time.Date(2026, 3, 28, 0, 0, 0, 0, srtest.Paris)) {
			t.Errorf("after the first opening = %+v", a)
		}
		// Never opened: deemed notified 15 days after it was made available, and the deadline runs from then.
		deemed := published.AddDate(0, 0, 15)
		if err := r.Notify(&Letter{AvailableAt: published, DeemedAt: deemed, NotifiedAt: &deemed, Deemed: true}); err != nil {
			t.Fatal(err)
		}
		if a := r.Decision.Appeal; a.Notification != NotificationDeemed || !a.NotifiedAt.Equal(deemed) ||
			*a.CRADeadlineOn != "2026-04-10" {
			t.Errorf("deemed notified = %+v (%s)", a, *a.CRADeadlineOn)
		}
		if r.ServiceInCharge == nil || *r.ServiceInCharge != srtest.Office {
			t.Errorf("service in charge = %+v", r.ServiceInCharge)
		}
	})
}

func TestWithdrawnAndLapsed(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		a.Withdraw(srtest.At(1, 0))
		b := srtest.Submit(t, &pos, m1, srtest.Cards, srtest.At(2, 0))
		b.Claim(srtest.At(2, 1), w1)
		b.AskInformation(srtest.At(2, 2), srtest.At(10, 0))
		b.Lapse(srtest.At(10, 1))
		c := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(3, 0))
		c.Claim(srtest.At(3, 1), w1)
		c.Decide(srtest.At(4, 0), sr.Approved, "")
		projectionstest.Apply(t, db, p, srtest.All(a, b, c)...)
		q := NewQueries(db, fixed(srtest.At(11, 0)))

		got, err := q.List(projectionstest.Ctx(t), m1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), []uuid.UUID{c.ID, b.ID, a.ID}) {
			t.Fatalf("List = %v, want newest first", ids(got))
		}
		if r := got[2]; r.Status != StatusWithdrawn || r.ClosedReason != sr.CloseWithdrawn || r.Decision != nil {
			t.Errorf("withdrawn = %+v", r)
		}
		if r := got[1]; r.Status != StatusLapsed || r.ClosedReason != sr.CloseLapsed || r.Expected != nil {
			t.Errorf("lapsed = %+v", r)
		}
		if r := got[0]; r.Status != StatusApproved || r.Decision == nil || r.Decision.Outcome != sr.Approved {
			t.Errorf("approved = %+v", r)
		}
	})
}

func TestMemberBCannotReadMemberAsRequest(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(0, 1))
		projectionstest.Apply(t, db, p, srtest.All(a, b)...)
		q := NewQueries(db, fixed(srtest.At(1, 0)))

		if _, err := q.Get(projectionstest.Ctx(t), m2, a.ID); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("Get(B, A's request) = %v, want ErrNotFound", err)
		}
		if _, err := q.Get(projectionstest.Ctx(t), m1, uuid.New()); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
		for member, want := range map[uuid.UUID][]uuid.UUID{m1: {a.ID}, m2: {b.ID}, uuid.New(): nil} {
			got, err := q.List(projectionstest.Ctx(t), member)
			if err != nil || !slices.Equal(ids(got), want) {
				t.Errorf("List(%s) = %v, %v; want %v", member, ids(got), err, want)
			}
		}
	})
}

// story is a history with every kind of event, for two members.
func story(t *testing.T) []event.Envelope {
	var pos uint64
	a, b, c, d, e := srtest.Story(t, &pos, m1, m2, w1, w2, supervisor)
	e.Claim(srtest.At(13, 1), w2)
	e.AskInformation(srtest.At(13, 2), srtest.At(40, 0))
	return srtest.All(a, b, c, d, e)
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		evs := story(t)

		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		projectionstest.Apply(t, clean, projectionstest.Setup(t, clean, New()), evs...)
		want := dump(t, clean, Version)

		// Event by event, then everything again, then out of order and in duplicate; and a new version built beside
		// the live one from the whole log in batches: the same rows.
		projectionstest.ReplaysAndRebuild(t, db, projectionstest.Setup(t, db, New()), &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return dump(t, db, version) })
	})
}

// TestTimelineMovedToCaseFiles: since version 2 the member's timeline is the case file's (projections/casefiles):
// the version's migrations leave no timeline table of its own.
func TestTimelineMovedToCaseFiles(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		projectionstest.Setup(t, db, New())
		table := projections.Prefix(Name, Version)
		if !projectionstest.TableExists(t, db, table) || projectionstest.TableExists(t, db, table+"_timeline") {
			t.Fatalf("tables of %s: want %s and no %s_timeline", table, table, table)
		}
	})
}

// catalogRoutes returns the appeal routes of service code in catalog version 2026.1.
func catalogRoutes(t *testing.T, code string) []string {
	t.Helper()
	c, err := catalog.Load("2026.1")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := c.Lookup(code)
	if err != nil {
		t.Fatal(err)
	}
	return svc.AppealRoutes
}

// TestRequestPages: the member's requests page by the convention (newest first, several the same instant: the id
// breaks the tie), past the 500 that List stops at; another member's requests never appear.
func TestRequestPages(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		var rs []*srtest.Request
		for i := range 9 {
			rs = append(rs, srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(i/3, i%2)))
		}
		rs = append(rs, srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(1, 0)))
		projectionstest.Apply(t, db, p, srtest.All(rs...)...)
		q := NewQueries(db, fixed(srtest.At(11, 0)))
		ctx := projectionstest.Ctx(t)
		whole, err := q.List(ctx, m1)
		if err != nil || len(whole) != 9 {
			t.Fatalf("List = %d, %v", len(whole), err)
		}
		for _, limit := range []int{1, 2, 4, 9} {
			var paged []Request
			pg := projections.Page{Limit: limit}
			for range 12 {
				got, next, err := q.Page(ctx, m1, pg)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, got...)
				if next == "" {
					break
				}
				pg.After = next
			}
			if !slices.Equal(ids(paged), ids(whole)) {
				t.Errorf("limit %d: pages %v, whole %v", limit, ids(paged), ids(whole))
			}
		}
		for _, bad := range []string{"%%", projections.EncodeCursor("x", "y"), projections.EncodeCursor("2026-01-05T00:00:00Z")} {
			if _, _, err := q.Page(ctx, m1, projections.Page{After: bad}); !errors.Is(err, projections.ErrInvalidCursor) {
				t.Errorf("cursor %q: %v", bad, err)
			}
		}
	})
}
