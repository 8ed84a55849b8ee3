package casequeues

import (
	"context"
	"fmt"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
)

// BenchmarkQueueList100k lists the first page (50 cases) of a queue holding 100,000 open cases, on SQLite and on
// PostgreSQL, and reports the p50 and p99 latency of one List call (the goal: p99 under 50 ms). The cases are built
// through the aggregate and the projection, received over 90 days, one in three claimed by one of ten
// caseworkers, one in ten awaiting information; beside them sit 20,000 cases of another queue and 20,000 closed
// ones. Sub-benchmarks time the other queries on the same data: a page deep in the queue, the queue filtered on one
// caseworker, claim-next candidates, a caseworker's own cases and the counts of three queues at day 60 (about 41,000
// breaches), with beside them Counts as it was before the counter tables (counts-scan: the same-run baseline) and
// each of its statements beside the one it replaced (part-…).
//
//	go run ./tests/testenv -- go test -run '^$' -bench QueueList100k -benchtime 1000x -v ./projections/casequeues
func BenchmarkQueueList100k(b *testing.B) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		db := sqldbtest.NewTarget(b, d).Open(b)
		start := time.Now()
		workers := fill(b, db, 100_000)
		b.Logf("%s: 140,000 cases folded in %s", d, time.Since(start).Round(time.Millisecond))
		q := NewQueries(db, fixed(srtest.T0.AddDate(0, 0, 60)))
		queues := []string{"sante-c2s", "sante-cartes", "retraite"}
		want, err := q.scanCounts(projectionstest.Ctx(b), queues)
		if err != nil {
			b.Fatal(err)
		}
		if got, err := q.Counts(projectionstest.Ctx(b), queues); err != nil || !slices.Equal(got, want) {
			b.Fatalf("Counts = %+v, %v; counting the cases gives %+v", got, err, want)
		}
		var breachRows int
		if err := db.Reader().GetContext(projectionstest.Ctx(b), &breachRows, "SELECT COUNT(*) FROM "+breachCountsView); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: figures %+v; %d breach counters", d, want, breachRows)
		// part times one of Counts' statements (or the scan it replaced) filling one figure, the others as Counts
		// has them when it runs (the oldest case is read for the queues with open cases only).
		part := func(fill func(context.Context, []QueueStats) error, figure func(QueueStats) int) func() (int, error) {
			return func() (int, error) {
				out := slices.Clone(want)
				for i := range out {
					out[i] = QueueStats{Queue: out[i].Queue, Open: out[i].Open}
				}
				err := fill(projectionstest.Ctx(b), out)
				return figure(out[0]), err
			}
		}
		// Walk 50,000 cases down, page by page, for a cursor in the middle of the queue.
		var middle string
		for range 250 {
			cs, err := q.List(projectionstest.Ctx(b), "sante-c2s", Filter{Limit: MaxLimit, After: middle})
			if err != nil || len(cs) != MaxLimit {
				b.Fatalf("walk: %d cases, %v", len(cs), err)
			}
			middle = cs[len(cs)-1].Cursor
		}
		for _, bench := range []struct {
			name string
			run  func() (int, error)
		}{
			{"first-page", func() (int, error) {
				cs, err := q.List(projectionstest.Ctx(b), "sante-c2s", Filter{})
				return len(cs), err
			}},
			{"middle-page", func() (int, error) {
				cs, err := q.List(projectionstest.Ctx(b), "sante-c2s", Filter{After: middle})
				return len(cs), err
			}},
			{"assignee-page", func() (int, error) {
				cs, err := q.List(projectionstest.Ctx(b), "sante-c2s", Filter{Assignee: &workers[3]})
				return len(cs), err
			}},
			{"next-candidates", func() (int, error) {
				ids, err := q.NextCandidates(projectionstest.Ctx(b), "sante-c2s", 5)
				return len(ids), err
			}},
			{"mine", func() (int, error) { cs, err := q.Mine(projectionstest.Ctx(b), workers[3]); return len(cs), err }},
			{"counts", func() (int, error) {
				st, err := q.Counts(projectionstest.Ctx(b), queues)
				return st[0].Open, err
			}},
			// The same-run baseline: Counts as it was before the counters (version 1), counting the open cases.
			{"counts-scan", func() (int, error) {
				st, err := q.scanCounts(projectionstest.Ctx(b), queues)
				return st[0].Open, err
			}},
			// Counts' parts, each beside the query it replaced.
			{"part-counters", part(q.counters, func(st QueueStats) int { return st.Open * st.Breaches })},
			{"part-status-scan", part(q.statusScan, func(st QueueStats) int { return st.Open })},
			{"part-breaches-range", part(q.breachRange, func(st QueueStats) int { return st.Breaches })},
			{"part-oldest", part(q.oldest, func(st QueueStats) int { return int(st.Oldest.Unix()) })},
			{"part-oldest-scan", part(q.oldestScan, func(st QueueStats) int { return int(st.Oldest.Unix()) })},
		} {
			b.Run(fmt.Sprintf("%s/%s", d, bench.name), func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					t := time.Now()
					n, err := bench.run()
					lat = append(lat, time.Since(t))
					if err != nil || n == 0 {
						b.Fatalf("%d results, %v", n, err)
					}
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
				b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fill folds the cases of generate into db, in its batches, and returns the caseworkers.
func fill(b *testing.B, db *sqldb.DB, n int) []uuid.UUID {
	b.Helper()
	p := projectionstest.Setup(b, db, New())
	return generate(b, n, func(batch []event.Envelope) { projectionstest.Apply(b, db, p, batch...) })
}

// generate builds n open cases of queue sante-c2s, 20% as many open in sante-cartes and 20% as many closed, received
// over 90 days from t0, one in three claimed by one of ten caseworkers, one in ten of those awaiting information,
// and hands their events to emit in batches of about 1,000 events, in position order, as the runner commits them.
// It returns the caseworkers.
func generate(b *testing.B, n int, emit func([]event.Envelope)) []uuid.UUID {
	b.Helper()
	workers := make([]uuid.UUID, 10)
	for i := range workers {
		workers[i] = uuid.New()
	}
	var pos uint64
	var batch []event.Envelope
	flush := func() {
		srtest.SortByPosition(batch)
		emit(batch)
		batch = nil
	}
	// Of every 7 requests, 5 stay open in sante-c2s, 1 in sante-cartes, and 1 is withdrawn.
	total := n / 5 * 7
	const span = 90 * 24 * time.Hour
	for i := range total {
		// i * span overflows a Duration beyond about 1,000 cases: scale in float.
		received := srtest.T0.Add(time.Duration(float64(span) * float64(i) / float64(total)))
		svc := srtest.C2S
		if i%7 == 5 {
			svc = srtest.Cards
		}
		r := srtest.Submit(b, &pos, uuid.New(), svc, received)
		switch {
		case i%7 == 6:
			r.Withdraw(received.Add(time.Hour))
		case i%3 == 0:
			r.Claim(received.Add(time.Hour), workers[i%len(workers)])
			if i%10 == 0 {
				r.AskInformation(received.Add(2*time.Hour), received.AddDate(0, 1, 0))
			}
		}
		batch = append(batch, r.Events...)
		if len(batch) >= 1000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return workers
}

// BenchmarkRebuild folds a pre-built history into fresh tables, in batches of about 1,000 events as the runner
// commits them while catching up, on SQLite and on PostgreSQL, and reports events/s: the projection's share of a
// rebuild (reading the log is not counted). The history is 14,000 cases shaped like BenchmarkQueueList100k's.
//
//	go run ./tests/testenv -- go test -run '^$' -bench Rebuild -benchtime 3x ./projections/casequeues
func BenchmarkRebuild(b *testing.B) {
	batches := history(b, 10_000)
	events := 0
	for _, batch := range batches {
		events += len(batch)
	}
	b.Logf("%d events in %d batches", events, len(batches))
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				db := sqldbtest.NewTarget(b, d).Open(b)
				p := projectionstest.Setup(b, db, New())
				b.StartTimer()
				start := time.Now()
				for _, batch := range batches {
					projectionstest.Apply(b, db, p, batch...)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(events*b.N)/total.Seconds(), "events/s")
		})
	}
}

// history returns the batches of generate.
func history(b *testing.B, n int) [][]event.Envelope {
	b.Helper()
	var out [][]event.Envelope
	generate(b, n, func(batch []event.Envelope) { out = append(out, batch) })
	return out
}
