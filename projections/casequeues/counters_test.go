package casequeues

import (
	"errors"
	"fmt"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
)

var allQueues = []string{"sante-c2s", "sante-cartes", "pro-attestations", "retraite"}

// counts returns Counts of queues at now, after checking that it agrees with counting the cases (scanCounts).
func counts(t *testing.T, db *sqldb.DB, now time.Time, queues ...string) []QueueStats {
	t.Helper()
	q := NewQueries(db, fixed(now))
	got, err := q.Counts(projectionstest.Ctx(t), queues)
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := q.scanCounts(projectionstest.Ctx(t), queues)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, scanned) {
		t.Fatalf("Counts at %s disagrees with counting the cases:\n got %+v\nscan %+v", now, got, scanned)
	}
	return got
}

// TestCountsFollowTheCases: the figures of the queues after each staff and member action, each batch applied twice
// (the second time changes nothing).
func TestCountsFollowTheCases(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		now := time.Date(2026, 2, 5, 12, 0, 0, 0, srtest.Paris) // A is late (due 4 February), the others are not
		step := func(name string, evs []event.Envelope, want ...QueueStats) {
			t.Helper()
			feed(t, db, p, evs...)
			before := dump(t, db, p.Version())
			feed(t, db, p, evs...)
			if after := dump(t, db, p.Version()); !slices.Equal(after, before) {
				t.Fatalf("%s: applying the same events again changed the tables:\n got %q\nwant %q", name, after, before)
			}
			if got := counts(t, db, now, "sante-c2s", "sante-cartes"); !slices.Equal(got, want) {
				t.Fatalf("%s:\n got %+v\nwant %+v", name, got, want)
			}
		}
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(1, 0))
		c := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(2, 0))
		d := srtest.Submit(t, &pos, m2, srtest.Cards, srtest.At(20, 0))
		c2 := func(open, claimed, awaiting int, oldest time.Time, breaches int) QueueStats {
			return QueueStats{Queue: "sante-c2s", Open: open, Claimed: claimed, AwaitingInformation: awaiting,
				Oldest: oldest, Breaches: breaches}
		}
		cd := func(open, claimed, awaiting int, breaches int) QueueStats {
			st := QueueStats{Queue: "sante-cartes", Open: open, Claimed: claimed, AwaitingInformation: awaiting,
				Breaches: breaches}
			if open > 0 {
				st.Oldest = srtest.At(20, 0)
			}
			return st
		}
		step("submitted", srtest.All(a, b, c, d), c2(3, 0, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("A claimed", a.Claim(srtest.At(21, 0), w1), c2(3, 1, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("A released", a.Release(srtest.At(21, 1), w1), c2(3, 0, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("B reassigned to W2", b.Reassign(srtest.At(21, 2), supervisor, w2), c2(3, 1, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("B reassigned to W1", b.Reassign(srtest.At(21, 3), supervisor, w1), c2(3, 1, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("C claimed", c.Claim(srtest.At(21, 4), w2), c2(3, 2, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("C decided", c.Decide(srtest.At(21, 5), sr.Approved, ""), c2(2, 1, 0, srtest.At(0, 0), 1), cd(1, 0, 0, 0))
		step("A withdrawn", a.Withdraw(srtest.At(21, 6)), c2(1, 1, 0, srtest.At(1, 0), 0), cd(1, 0, 0, 0))
		step("D claimed", d.Claim(srtest.At(21, 7), w2), c2(1, 1, 0, srtest.At(1, 0), 0), cd(1, 1, 0, 0))
		step("D awaits", d.AskInformation(srtest.At(22, 0), srtest.At(25, 0)), c2(1, 1, 0, srtest.At(1, 0), 0), cd(1, 0, 1, 0))
		step("D lapsed", d.Lapse(srtest.At(25, 0)), c2(1, 1, 0, srtest.At(1, 0), 0), cd(0, 0, 0, 0))
		step("B awaits", b.AskInformation(srtest.At(26, 0), srtest.At(60, 0)), c2(1, 0, 1, srtest.At(1, 0), 0), cd(0, 0, 0, 0))
		step("B answered", b.Answer(srtest.At(27, 0)), c2(1, 1, 0, srtest.At(1, 0), 0), cd(0, 0, 0, 0))
		step("B noted", b.Note(srtest.At(27, 1), w1), c2(1, 1, 0, srtest.At(1, 0), 0), cd(0, 0, 0, 0))
		step("B decided", b.Decide(srtest.At(28, 0), sr.Rejected, "Hors plafond"), c2(0, 0, 0, time.Time{}, 0), cd(0, 0, 0, 0))

		// Every case closed: no counter is left, not even at zero.
		tt := tablesOf(p.Version())
		var n int
		if err := db.Reader().GetContext(projectionstest.Ctx(t), &n, "SELECT (SELECT COUNT(*) FROM "+tt.statusCounts+
			") + (SELECT COUNT(*) FROM "+tt.breachCounts+")"); err != nil || n != 0 {
			t.Fatalf("counters left once every case is closed: %d, %v", n, err)
		}
	})
}

// TestCountersMatchTheCases is a property test: random histories of random cases over three queues, applied in
// random batches, some applied twice, some out of order, some rolled back and applied again; after every batch the
// counters are what counting the cases gives, and Counts agrees with counting at several instants. A rebuild of the
// whole history in other batches gives the same tables.
func TestCountersMatchTheCases(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		// Two fixed seeds, and a new one each run (its name says how to replay it).
		for _, seed := range []uint64{1, 2, uint64(time.Now().UnixNano())} {
			t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0))
				evs := randomHistory(t, rng, 60, 200)
				db := sqldbtest.NewTarget(t, tg.Dialect).Open(t)
				p := projectionstest.Setup(t, db, New())
				end := evs[len(evs)-1].Metadata.OccurredAt
				for i := 0; i < len(evs); {
					n := 1 + rng.IntN(25)
					batch := evs[i:min(i+n, len(evs))]
					switch rng.IntN(6) {
					case 0: // rolled back (as after a crash or a fenced commit), then applied again
						errBoom := errors.New("boom")
						err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error {
							if err := p.Apply(projectionstest.Ctx(t), tx, batch); err != nil {
								return err
							}
							return errBoom
						})
						if !errors.Is(err, errBoom) {
							t.Fatalf("rolled-back batch: %v", err)
						}
						feed(t, db, p, batch...)
					case 1: // applied, then an earlier stretch again, in reverse
						feed(t, db, p, batch...)
						from := rng.IntN(i + len(batch))
						again := slices.Clone(evs[from:min(from+1+rng.IntN(30), i+len(batch))])
						slices.Reverse(again)
						feed(t, db, p, again...)
					case 2: // applied twice in the same batch
						feed(t, db, p, append(slices.Clone(batch), batch...)...)
					default:
						feed(t, db, p, batch...)
					}
					i += len(batch)
					if rng.IntN(3) == 0 {
						last := batch[len(batch)-1].Metadata.OccurredAt
						counts(t, db, last.Add(time.Duration(rng.IntN(30*24))*time.Hour-10*24*time.Hour), allQueues...)
					}
				}
				for _, d := range []int{-40, -20, -10, 0, 10, 40} {
					counts(t, db, end.AddDate(0, 0, d), allQueues...)
				}
				t.Logf("%d events; at the end: %+v", len(evs), counts(t, db, end, allQueues...))
				// A new version built beside the live one, in other batches, holds the same rows.
				rebuilt := &Projection{Meta: meta.At(Version + 1)}
				if err := projections.Setup(projectionstest.Ctx(t), db, rebuilt); err != nil {
					t.Fatal(err)
				}
				for batch := range slices.Chunk(evs, 1+rng.IntN(200)) {
					feed(t, db, rebuilt, batch...)
				}
				if got, want := dump(t, db, rebuilt.Version()), dump(t, db, p.Version()); !slices.Equal(got, want) {
					t.Fatalf("rebuild:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	})
}

// randomHistory builds n cases and then steps random legal actions on them, with a clock that moves forward a few
// hours each step; the cases are received up to 40 days before the first step so that some are late.
func randomHistory(t *testing.T, rng *rand.Rand, n, steps int) []event.Envelope {
	t.Helper()
	services := []sr.Service{srtest.C2S, srtest.Cards, srtest.Attestations}
	workers := []uuid.UUID{w1, w2, uuid.New()}
	var pos uint64
	now := srtest.T0
	var rs []*srtest.Request
	for range n {
		rs = append(rs, srtest.Submit(t, &pos, uuid.New(), services[rng.IntN(len(services))],
			now.Add(-time.Duration(rng.IntN(40*24))*time.Hour)))
	}
	for range steps {
		now = now.Add(time.Duration(1+rng.IntN(10)) * time.Hour)
		r := rs[rng.IntN(len(rs))]
		agg := sr.Rehydrate(r.ID, r.Events)
		worker := workers[rng.IntN(len(workers))]
		holder := agg.Assignee()
		_, deadline, awaiting := agg.Awaiting()
		var acts []func()
		note := func() { r.Note(now, worker) }
		switch agg.Status() {
		case sr.StatusClosed:
			acts = append(acts, note)
		case sr.StatusQueued:
			acts = append(acts, func() { r.Claim(now, worker) }, func() { r.Claim(now, worker) },
				func() { r.Withdraw(now) }, note)
		case sr.StatusClaimed:
			acts = append(acts, func() { r.Release(now, holder) }, func() { r.Decide(now, sr.Approved, "") },
				func() { r.AskInformation(now, now.Add(time.Duration(12+rng.IntN(10*24))*time.Hour)) },
				func() { r.Withdraw(now) }, note)
			if worker != holder {
				acts = append(acts, func() { r.Reassign(now, supervisor, worker) })
			}
		case sr.StatusAwaitingInformation:
			acts = append(acts, func() { r.Withdraw(now) }, note)
			if awaiting && !now.After(deadline) {
				acts = append(acts, func() { r.Answer(now) }, func() { r.Answer(now) })
			}
			if awaiting && !now.Before(deadline) {
				acts = append(acts, func() { r.Lapse(now) }, func() { r.Lapse(now) })
			}
			if holder != uuid.Nil && worker != holder {
				acts = append(acts, func() { r.Reassign(now, supervisor, worker) })
			}
			if holder != uuid.Nil {
				acts = append(acts, func() { r.Release(now, holder) }) // still awaiting, held by nobody
			}
		}
		acts[rng.IntN(len(acts))]()
	}
	return srtest.All(rs...)
}

// A counter that no longer matches the cases stops the projection loudly instead of going below zero.
func TestDriftedCountersStop(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		feed(t, db, p, a.Events...)
		if _, err := db.ExecContext(projectionstest.Ctx(t), "DELETE FROM "+tablesOf(p.Version()).statusCounts); err != nil {
			t.Fatal(err)
		}
		claim := a.Claim(srtest.At(1, 0), w1)
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error { return p.Apply(projectionstest.Ctx(t), tx, claim) })
		if err == nil || !strings.Contains(err.Error(), "no longer match") {
			t.Fatalf("Apply over a drifted counter = %v, want an error", err)
		}
	})
}

// While the live version has no counters (version 1, during the rebuild of this one after a deploy), Counts counts
// the cases.
func TestCountsWithoutCounters(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		feed(t, db, p, story(t)...)
		now := srtest.At(60, 0)
		want := counts(t, db, now, allQueues...)
		if want[0].Open == 0 || want[0].Breaches == 0 {
			t.Fatalf("figures %+v: want open cases and breaches", want)
		}
		for _, v := range []string{statusCountsView, breachCountsView} {
			if _, err := db.ExecContext(projectionstest.Ctx(t), "DROP VIEW "+v); err != nil {
				t.Fatal(err)
			}
		}
		if got := counts(t, db, now, allQueues...); !slices.Equal(got, want) {
			t.Fatalf("without counters:\n got %+v\nwant %+v", got, want)
		}
	})
}
