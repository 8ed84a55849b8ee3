package casequeues

import (
	"errors"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/requestclock"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var (
	w1, w2     = uuid.New(), uuid.New()
	supervisor = uuid.New()
	m1, m2     = uuid.New(), uuid.New()
)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func get(t *testing.T, q *Queries, id uuid.UUID) Case {
	t.Helper()
	c, err := q.Get(projectionstest.Ctx(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return c
}

func list(t *testing.T, q *Queries, queue string, f Filter) []Case {
	t.Helper()
	cs, err := q.List(projectionstest.Ctx(t), queue, f)
	if err != nil {
		t.Fatalf("List(%s): %v", queue, err)
	}
	return cs
}

func mine(t *testing.T, q *Queries, staff uuid.UUID) []uuid.UUID {
	t.Helper()
	cs, err := q.Mine(projectionstest.Ctx(t), staff)
	if err != nil {
		t.Fatal(err)
	}
	return ids(cs)
}

func next(t *testing.T, q *Queries, queue string) []uuid.UUID {
	t.Helper()
	got, err := q.NextCandidates(projectionstest.Ctx(t), queue, 10)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestQueueLifecycle(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		q := NewQueries(db, fixed(srtest.At(4, 0)))
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(1, 0))
		c := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(2, 0))
		d := srtest.Submit(t, &pos, m2, srtest.Cards, srtest.At(0, 1))
		feed(t, db, p, srtest.All(a, b, c, d)...)

		got := list(t, q, "sante-c2s", Filter{})
		if want := []uuid.UUID{a.ID, b.ID, c.ID}; !slices.Equal(ids(got), want) {
			t.Fatalf("queue = %v, want %v", ids(got), want)
		}
		ca := got[0]
		if ca.Status != sr.StatusQueued || ca.Assignee != nil || ca.Queue != "sante-c2s" || ca.ServiceCode != srtest.C2S.Code ||
			ca.Reference != sr.Rehydrate(a.ID, a.Events).Reference() || !ca.ReceivedAt.Equal(srtest.At(0, 0)) ||
			ca.DueOn != "2026-02-04" || ca.ImplicitDecisionOn != "2026-03-05" || ca.SilenceOutcome != "acceptance" ||
			ca.TimeZone != "Europe/Paris" || ca.AgeSeconds != int64(4*24*time.Hour/time.Second) || ca.Breached || ca.Revision != 2 ||
			ca.AwaitingSince != nil || ca.ClosedAt != nil {
			t.Errorf("case A = %+v", ca)
		}
		if got := next(t, q, "sante-c2s"); !slices.Equal(got, []uuid.UUID{a.ID, b.ID, c.ID}) {
			t.Errorf("candidates = %v", got)
		}

		// Claim, then release: the assignee comes and goes, and so does the case among the candidates.
		feed(t, db, p, a.Claim(srtest.At(3, 0), w1)...)
		if ca := get(t, q, a.ID); ca.Status != sr.StatusClaimed || ca.Assignee == nil || *ca.Assignee != w1 || ca.Revision != 3 {
			t.Errorf("claimed A = %+v", ca)
		}
		if got := next(t, q, "sante-c2s"); !slices.Equal(got, []uuid.UUID{b.ID, c.ID}) {
			t.Errorf("candidates after the claim = %v", got)
		}
		if got := mine(t, q, w1); !slices.Equal(got, []uuid.UUID{a.ID}) {
			t.Errorf("mine(w1) = %v", got)
		}
		feed(t, db, p, a.Release(srtest.At(3, 1), w1)...)
		if ca := get(t, q, a.ID); ca.Status != sr.StatusQueued || ca.Assignee != nil {
			t.Errorf("released A = %+v", ca)
		}
		if got := mine(t, q, w1); len(got) != 0 {
			t.Errorf("mine(w1) after release = %v", got)
		}

		// Reassign, twice: the case follows the supervisor's decisions.
		feed(t, db, p, b.Reassign(srtest.At(3, 2), supervisor, w2)...)
		if got := mine(t, q, w2); !slices.Equal(got, []uuid.UUID{b.ID}) {
			t.Errorf("mine(w2) = %v", got)
		}
		feed(t, db, p, b.Reassign(srtest.At(3, 3), supervisor, w1)...)
		if got := mine(t, q, w2); len(got) != 0 {
			t.Errorf("mine(w2) after the second reassignment = %v", got)
		}
		if got := list(t, q, "sante-c2s", Filter{Assignee: &w1}); !slices.Equal(ids(got), []uuid.UUID{b.ID}) {
			t.Errorf("queue filtered on w1 = %v", ids(got))
		}
		feed(t, db, p, b.Note(srtest.At(3, 4), w1)...)
		if cb := get(t, q, b.ID); cb.Revision != uint64(len(b.Events)-1) || *cb.Assignee != w1 {
			t.Errorf("B after a note = %+v, want revision %d", cb, len(b.Events)-1)
		}

		// Decided, withdrawn, lapsed: the cases leave their queues; Get still tells what became of them.
		feed(t, db, p, c.Claim(srtest.At(3, 5), w1)...)
		feed(t, db, p, c.Decide(srtest.At(3, 6), sr.Approved, "")...)
		feed(t, db, p, a.Withdraw(srtest.At(3, 7))...)
		feed(t, db, p, d.Claim(srtest.At(1, 0), w2)...)
		feed(t, db, p, d.AskInformation(srtest.At(1, 1), srtest.At(2, 0))...)
		feed(t, db, p, d.Lapse(srtest.At(2, 1))...)
		if got := list(t, q, "sante-c2s", Filter{}); !slices.Equal(ids(got), []uuid.UUID{b.ID}) {
			t.Errorf("queue after closures = %v", ids(got))
		}
		if got := list(t, q, "sante-cartes", Filter{}); len(got) != 0 {
			t.Errorf("cards queue after the lapse = %v", ids(got))
		}
		if got := mine(t, q, w1); !slices.Equal(got, []uuid.UUID{b.ID}) {
			t.Errorf("mine(w1) at the end = %v", got)
		}
		for r, reason := range map[*srtest.Request]string{a: sr.CloseWithdrawn, c: sr.CloseDecided, d: sr.CloseLapsed} {
			cc := get(t, q, r.ID)
			if cc.Status != sr.StatusClosed || cc.CloseReason != reason || cc.ClosedAt == nil || cc.Breached ||
				cc.Revision != uint64(len(r.Events)-1) {
				t.Errorf("closed case = %+v, want reason %s", cc, reason)
			}
		}
		if _, err := q.Get(projectionstest.Ctx(t), uuid.New()); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
	})
}

// rejectionC2S is srtest.C2S under a silence that means rejection: a request for pieces suspends its periods
// (CRPA L114-5), which TestPausesMoveTheDueDate measures; under acceptance it restarts them
// (TestAcceptanceRestartsTheDates).
var rejectionC2S = func() sr.Service {
	s := srtest.C2S
	s.Deadlines.Silence.Outcome = sr.Rejection
	return s
}()

func TestPausesMoveTheDueDate(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, rejectionC2S, srtest.At(0, 0)) // received 5 January: due 4 February, implicit decision 5 March
		a.Claim(srtest.At(1, 0), w1)
		a.AskInformation(srtest.At(2, 0), srtest.At(40, 0)) // 7 January
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(3, 0))
		feed(t, db, p, srtest.All(a, b)...)

		// While the pause runs, the dates move a day each day (as of the read) and the case is no candidate.
		q := NewQueries(db, fixed(srtest.At(5, 0))) // 10 January: 3 days of pause so far
		ca := get(t, q, a.ID)
		if ca.Status != sr.StatusAwaitingInformation || ca.AwaitingSince == nil || !ca.AwaitingSince.Equal(srtest.At(2, 0)) ||
			ca.DueOn != "2026-02-07" || ca.ImplicitDecisionOn != "2026-03-08" || ca.Breached {
			t.Errorf("paused A = %+v", ca)
		}
		if got := next(t, q, "sante-c2s"); !slices.Equal(got, []uuid.UUID{b.ID}) {
			t.Errorf("candidates while A awaits = %v", got)
		}

		// Answered on 17 January: a pause of 10 days, as servicerequest.Clock counts it.
		feed(t, db, p, a.Answer(srtest.At(12, 0))...)
		ca = get(t, q, a.ID)
		lc := a.LegalClock()
		if ca.Status != sr.StatusClaimed || ca.AwaitingSince != nil || ca.DueOn != "2026-02-14" ||
			ca.ImplicitDecisionOn != "2026-03-15" || ca.DueOn != requestclock.Day(lc.DueOn) || ca.ImplicitDecisionOn != requestclock.Day(lc.ImplicitDecisionOn) {
			t.Errorf("A after the answer = %+v, clock %+v", ca, lc)
		}
		// B (due 7 February) now comes first.
		if got := list(t, q, "sante-c2s", Filter{}); !slices.Equal(ids(got), []uuid.UUID{b.ID, a.ID}) {
			t.Errorf("queue = %v", ids(got))
		}

		// A second pause adds up.
		feed(t, db, p, a.AskInformation(srtest.At(13, 0), srtest.At(60, 0))...)
		feed(t, db, p, a.Answer(srtest.At(15, 5))...)
		lc = a.LegalClock()
		if ca := get(t, q, a.ID); ca.DueOn != "2026-02-16" || ca.DueOn != requestclock.Day(lc.DueOn) || lc.PausedDays != 12 {
			t.Errorf("A after two pauses = %+v, clock %+v", ca, lc)
		}
	})
}

// TestAcceptanceRestartsTheDates: under a silence that means acceptance, a request for pieces restarts the periods
// from the day they come (CRPA L114-5). While they are awaited the dates shown are as of the read (today + the whole
// periods) and the case is never breached; once they come, the dates run from that day. DueAt and
// ImplicitDecisionAt are the ends of these days.
func TestAcceptanceRestartsTheDates(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0)) // received 5 January: due 4 February, implicit 5 March
		a.Claim(srtest.At(1, 0), w1)
		feed(t, db, p, a.Events...)
		// Breached on 5 February, before any pause.
		q := NewQueries(db, fixed(srtest.At(31, 0)))
		if ca := get(t, q, a.ID); !ca.Breached || ca.DueOn != "2026-02-04" ||
			!ca.DueAt.Equal(time.Date(2026, 2, 5, 0, 0, 0, 0, srtest.Paris)) || ca.ImplicitDecisionAt == nil ||
			!ca.ImplicitDecisionAt.Equal(time.Date(2026, 3, 6, 0, 0, 0, 0, srtest.Paris)) {
			t.Errorf("A before the pause = %+v", ca)
		}
		// Pieces asked for on 5 February: the periods will run from the day they come; as of 10 February, that day.
		feed(t, db, p, a.AskInformation(srtest.At(31, 1), srtest.At(60, 0))...)
		q = NewQueries(db, fixed(srtest.At(36, 0)))
		if ca := get(t, q, a.ID); ca.Breached || ca.DueOn != "2026-03-12" || ca.ImplicitDecisionOn != "2026-04-10" {
			t.Errorf("A awaiting the pieces on 10 February = %+v", ca)
		}
		// They come on 15 February: due 17 March, implicit decision at the end of 15 April.
		feed(t, db, p, a.Answer(srtest.At(41, 0))...)
		lc := a.LegalClock()
		q = NewQueries(db, fixed(srtest.At(50, 0)))
		if ca := get(t, q, a.ID); ca.Breached || ca.DueOn != "2026-03-17" || ca.ImplicitDecisionOn != "2026-04-15" ||
			ca.DueOn != requestclock.Day(lc.DueOn) || ca.ImplicitDecisionOn != requestclock.Day(lc.ImplicitDecisionOn) ||
			!ca.ImplicitDecisionAt.Equal(lc.ImplicitDecisionAt()) || !ca.DueAt.Equal(lc.DueAt()) {
			t.Errorf("A after the pieces = %+v, clock %+v", ca, lc)
		}
	})
}

// TestCaseWithoutImplicitDecision: a request whose silence decides nothing (a document delivered by right) has a
// due date and no implicit-decision date, stored as "" on both dialects; a pause still moves the due date.
func TestCaseWithoutImplicitDecision(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.Attestations, srtest.At(0, 0)) // received 5 January: due 10 January, no implicit decision
		b := srtest.Submit(t, &pos, m2, srtest.Attestations, srtest.At(1, 0)) // due 11 January
		feed(t, db, p, srtest.All(a, b)...)

		q := NewQueries(db, fixed(srtest.At(3, 0)))
		got := list(t, q, "pro-attestations", Filter{})
		if !slices.Equal(ids(got), []uuid.UUID{a.ID, b.ID}) {
			t.Fatalf("queue = %v", ids(got))
		}
		if ca := got[0]; ca.DueOn != "2026-01-10" || ca.ImplicitDecisionOn != "" || ca.SilenceOutcome != "none" ||
			ca.Status != sr.StatusQueued || ca.Breached {
			t.Errorf("case A = %+v", ca)
		}
		var stored []string
		if err := db.Reader().SelectContext(projectionstest.Ctx(t), &stored, db.Reader().Rebind("SELECT implicit_decision_on FROM "+
			Name+" WHERE request_id = ?"), a.ID.String()); err != nil || len(stored) != 1 || stored[0] != "" {
			t.Fatalf("stored implicit_decision_on = %q, %v", stored, err)
		}

		// Paused on 7 January: the due date moves a day each day as of the read; still no implicit-decision date.
		feed(t, db, p, a.Claim(srtest.At(1, 1), w1)...)
		feed(t, db, p, a.AskInformation(srtest.At(2, 0), srtest.At(40, 0))...)
		q = NewQueries(db, fixed(srtest.At(5, 0))) // 10 January: 3 days of pause so far
		if ca := get(t, q, a.ID); ca.Status != sr.StatusAwaitingInformation || ca.DueOn != "2026-01-13" ||
			ca.ImplicitDecisionOn != "" || ca.AwaitingSince == nil || ca.Breached {
			t.Errorf("paused A = %+v", ca)
		}
		// Answered on 12 January: 5 days of pause, as servicerequest.Clock counts them.
		feed(t, db, p, a.Answer(srtest.At(7, 0))...)
		lc := a.LegalClock()
		if ca := get(t, q, a.ID); ca.DueOn != "2026-01-15" || ca.DueOn != requestclock.Day(lc.DueOn) ||
			ca.ImplicitDecisionOn != "" || !lc.ImplicitDecisionOn.IsZero() {
			t.Errorf("A after the answer = %+v, clock %+v", ca, lc)
		}
		// B is past its due date on 12 January: breached, without any implicit-decision date.
		q = NewQueries(db, fixed(srtest.At(7, 0)))
		if cb := get(t, q, b.ID); !cb.Breached || cb.ImplicitDecisionOn != "" {
			t.Errorf("B = %+v", cb)
		}
		// Closed: still none.
		feed(t, db, p, a.Decide(srtest.At(8, 0), sr.Approved, "")...)
		if ca := get(t, q, a.ID); ca.Status != sr.StatusClosed || ca.ImplicitDecisionOn != "" || ca.DueOn != "2026-01-15" {
			t.Errorf("closed A = %+v", ca)
		}
	})
}

func TestCountsAndBreaches(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))  // due 4 February
		b := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(1, 0))  // due 5 February
		c := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(20, 0)) // due 24 February
		c.Claim(srtest.At(20, 1), w1)
		d := srtest.Submit(t, &pos, m2, srtest.Cards, srtest.At(0, 0)) // due 20 January
		// E and F are suspended by a request for pieces (silence means rejection): a restart is TestAcceptanceRestartsTheDates.
		e := srtest.Submit(t, &pos, m1, rejectionC2S, srtest.At(0, 2)) // due 4 February, paused on time on 15 January
		e.Claim(srtest.At(1, 0), w2)
		e.AskInformation(srtest.At(10, 0), srtest.At(90, 0))
		f := srtest.Submit(t, &pos, m2, rejectionC2S, srtest.At(-40, 0)) // received 26 November 2025: due 26 December, paused late
		f.Claim(srtest.At(-39, 0), w2)
		f.AskInformation(srtest.At(0, 3), srtest.At(90, 0))
		g := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(-60, 0)) // closed: counts nowhere
		g.Withdraw(srtest.At(-59, 0))
		feed(t, db, p, srtest.All(a, b, c, d, e, f, g)...)

		counts := func(now time.Time) []QueueStats {
			t.Helper()
			got, err := NewQueries(db, fixed(now)).Counts(projectionstest.Ctx(t), []string{"sante-c2s", "sante-cartes", "retraite"})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		now := time.Date(2026, 2, 5, 12, 0, 0, 0, srtest.Paris)
		want := []QueueStats{
			{Queue: "sante-c2s", Open: 5, Claimed: 1, AwaitingInformation: 2, Oldest: srtest.At(-40, 0), Breaches: 2},
			{Queue: "sante-cartes", Open: 1, Oldest: srtest.At(0, 0), Breaches: 1},
			{Queue: "retraite"},
		}
		if got := counts(now); !slices.Equal(got, want) {
			t.Errorf("counts on 5 February:\n got %+v\nwant %+v", got, want)
		}
		breached := func(now time.Time) []uuid.UUID {
			var out []uuid.UUID
			for _, c := range list(t, NewQueries(db, fixed(now)), "sante-c2s", Filter{}) {
				if c.Breached {
					out = append(out, c.RequestID)
				}
			}
			return out
		}
		if got := breached(now); !slices.Equal(got, []uuid.UUID{f.ID, a.ID}) {
			t.Errorf("breached on 5 February = %v, want F, A", got)
		}
		// B's target day ends at midnight in Paris.
		midnight := time.Date(2026, 2, 6, 0, 0, 0, 0, srtest.Paris)
		if got := counts(midnight.Add(-time.Nanosecond))[0].Breaches; got != 2 {
			t.Errorf("breaches just before midnight = %d, want 2", got)
		}
		if got := counts(midnight)[0].Breaches; got != 3 {
			t.Errorf("breaches at midnight = %d, want 3", got)
		}
		if got := breached(midnight); !slices.Equal(got, []uuid.UUID{f.ID, a.ID, b.ID}) {
			t.Errorf("breached at midnight = %v, want F, A, B", got)
		}
		// E, paused before its target, is never breached while the member has not answered.
		if got := counts(time.Date(2026, 6, 1, 0, 0, 0, 0, srtest.Paris))[0].Breaches; got != 4 {
			t.Errorf("breaches in June = %d, want 4 (all but E)", got)
		}
		// Once E's member answers, the target moves by the pause and E is late like the others.
		feed(t, db, p, e.Answer(srtest.At(80, 0))...)
		if got := counts(time.Date(2026, 6, 1, 0, 0, 0, 0, srtest.Paris))[0].Breaches; got != 5 {
			t.Errorf("breaches in June after E's answer = %d, want 5", got)
		}
	})
}

func TestListPages(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		var rs []*srtest.Request
		for i := range 11 {
			// Several cases a day (same due day), some the same instant (the id breaks the tie).
			r := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(i/3, i%2))
			if i%3 == 0 {
				r.Claim(srtest.At(5, 0), w1)
			}
			rs = append(rs, r)
		}
		feed(t, db, p, srtest.All(rs...)...)
		q := NewQueries(db, fixed(srtest.At(6, 0)))
		for _, f := range []Filter{{Limit: 3}, {Limit: 1, Assignee: &w1}, {Limit: 4, Assignee: &w2}} {
			whole := list(t, q, "sante-c2s", Filter{Limit: 100, Assignee: f.Assignee})
			var paged []Case
			for page := 0; ; page++ {
				got := list(t, q, "sante-c2s", f)
				paged = append(paged, got...)
				if len(got) < f.Limit {
					break
				}
				f.After = got[len(got)-1].Cursor
				if page > 20 {
					t.Fatal("pages do not end")
				}
			}
			if !slices.Equal(ids(paged), ids(whole)) {
				t.Errorf("pages = %v\nwhole = %v", ids(paged), ids(whole))
			}
			if !slices.IsSortedFunc(whole, func(x, y Case) int {
				if x.DueOn != y.DueOn {
					return compare(x.DueOn, y.DueOn)
				}
				return x.ReceivedAt.Compare(y.ReceivedAt)
			}) {
				t.Errorf("listing not ordered by due date then receipt")
			}
		}
		if got := list(t, q, "sante-c2s", Filter{}); len(got) != 11 {
			t.Errorf("default page = %d cases", len(got))
		}
		// The paging convention: Page and MinePage give the next cursor, "" exactly at the end (a last page that is
		// full too), and the pages put together are the whole listing.
		ctx := projectionstest.Ctx(t)
		for _, limit := range []int{1, 3, 4, 11, 12} {
			whole := list(t, q, "sante-c2s", Filter{Limit: 100})
			var paged []Case
			f := Filter{Limit: limit}
			for page := 0; ; page++ {
				got, nextCursor, err := q.Page(ctx, "sante-c2s", f)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, got...)
				if nextCursor == "" {
					break
				}
				if len(got) != limit || page > 20 {
					t.Fatalf("limit %d: page %d of %d cases with a next cursor", limit, page, len(got))
				}
				f.After = nextCursor
			}
			if !slices.Equal(ids(paged), ids(whole)) {
				t.Errorf("limit %d: pages = %v\nwhole = %v", limit, ids(paged), ids(whole))
			}
			var minePaged []uuid.UUID
			mp := projections.Page{Limit: limit}
			for page := 0; page < 20; page++ {
				got, nextCursor, err := q.MinePage(ctx, w1, mp)
				if err != nil {
					t.Fatal(err)
				}
				minePaged = append(minePaged, ids(got)...)
				if nextCursor == "" {
					break
				}
				mp.After = nextCursor
			}
			if want := mine(t, q, w1); len(want) == 0 || !slices.Equal(minePaged, want) {
				t.Errorf("limit %d: my pages = %v, want %v", limit, minePaged, want)
			}
		}
		if _, _, err := q.Page(ctx, "sante-c2s", Filter{After: "bm9wZQ"}); !errors.Is(err, projections.ErrInvalidCursor) {
			t.Errorf("Page(bad cursor) = %v, want projections.ErrInvalidCursor", err)
		}
		if _, _, err := q.MinePage(ctx, w1, projections.Page{After: "%%%"}); !errors.Is(err, projections.ErrInvalidCursor) {
			t.Errorf("MinePage(bad cursor) = %v, want projections.ErrInvalidCursor", err)
		}
		if _, err := q.List(projectionstest.Ctx(t), "sante-c2s", Filter{After: "nope"}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("List(bad cursor) = %v, want ErrInvalidCursor", err)
		}
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// story is a history with every kind of event, across two queues.
func story(t *testing.T) []event.Envelope {
	var pos uint64
	a, b, c, d, e := srtest.Story(t, &pos, m1, m2, w1, w2, supervisor)
	return srtest.All(a, b, c, d, e)
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		evs := story(t)

		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		feed(t, clean, projectionstest.Setup(t, clean, New()), evs...)
		want := dump(t, clean, Version)
		// 5 cases; A (claimed) and E (queued) open in sante-c2s: 2 status counters, and 2 breach counters (their
		// due days differ).
		if len(want) != 9 {
			t.Fatalf("dump = %d rows, want 9:\n%s", len(want), strings.Join(want, "\n"))
		}

		// Event by event, then everything again, then out of order and in duplicate; and a new version built beside
		// the live one from the whole log in batches: the same rows.
		projectionstest.ReplaysAndRebuild(t, db, projectionstest.Setup(t, db, New()), &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { feed(t, db, p.(*Projection), batch...) },
			func(version int) []string { return dump(t, db, version) })
	})
}

// An event of a service request stream before its Submitted is a bug upstream: the projection stops loudly.
func TestEventBeforeSubmittedStops(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		claim := a.Claim(srtest.At(1, 0), w1)
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error { return p.Apply(projectionstest.Ctx(t), tx, claim) })
		if err == nil {
			t.Fatal("Apply(claim without submission) = nil, want an error")
		}
	})
}
