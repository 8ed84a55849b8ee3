package casequeues

import (
	"fmt"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

// BenchmarkQueueList100k lists the first page (50 cases) of a queue holding 100,000 open cases, on SQLite and on
// PostgreSQL, and reports the p50 and p99 latency of one List call (the goal: p99 under 50 ms). The cases are built
// through the aggregate and the projection, received over 90 days, one in three claimed by one of ten
// caseworkers, one in ten awaiting information; beside them sit 20,000 cases of another queue and 20,000 closed
// ones. Sub-benchmarks time the other queries on the same data: a page deep in the queue, the queue filtered on one
// caseworker, claim-next candidates, a caseworker's own cases and the counts.
//
//	go run ./tests/testenv -- go test -run '^$' -bench QueueList100k -benchtime 2000x ./projections/casequeues
func BenchmarkQueueList100k(b *testing.B) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		db := sqldbtest.NewTarget(b, d).Open(b)
		start := time.Now()
		workers := fill(b, db, 100_000)
		b.Logf("%s: 140,000 cases folded in %s", d, time.Since(start).Round(time.Millisecond))
		q := NewQueries(db, fixed(t0.AddDate(0, 0, 60)))
		// Walk 50,000 cases down, page by page, for a cursor in the middle of the queue.
		var middle string
		for range 250 {
			cs, err := q.List(ctxT(b), "sante-c2s", Filter{Limit: MaxLimit, After: middle})
			if err != nil || len(cs) != MaxLimit {
				b.Fatalf("walk: %d cases, %v", len(cs), err)
			}
			middle = cs[len(cs)-1].Cursor
		}
		for _, bench := range []struct {
			name string
			run  func() (int, error)
		}{
			{"first-page", func() (int, error) { cs, err := q.List(ctxT(b), "sante-c2s", Filter{}); return len(cs), err }},
			{"middle-page", func() (int, error) {
				cs, err := q.List(ctxT(b), "sante-c2s", Filter{After: middle})
				return len(cs), err
			}},
			{"assignee-page", func() (int, error) {
				cs, err := q.List(ctxT(b), "sante-c2s", Filter{Assignee: &workers[3]})
				return len(cs), err
			}},
			{"next-candidates", func() (int, error) { ids, err := q.NextCandidates(ctxT(b), "sante-c2s", 5); return len(ids), err }},
			{"mine", func() (int, error) { cs, err := q.Mine(ctxT(b), workers[3]); return len(cs), err }},
			{"counts", func() (int, error) {
				st, err := q.Counts(ctxT(b), []string{"sante-c2s", "sante-cartes", "retraite"})
				return st[0].Open, err
			}},
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

// fill folds n open cases of queue sante-c2s, 20% as many open in sante-cartes and 20% as many closed, in batches
// of about 1,000 events as the runner commits them, and returns the caseworkers.
func fill(b *testing.B, db *sqldb.DB, n int) []uuid.UUID {
	b.Helper()
	p := setup(b, db)
	workers := make([]uuid.UUID, 10)
	for i := range workers {
		workers[i] = uuid.New()
	}
	var pos uint64
	var batch []event.Envelope
	flush := func() {
		srtest.SortByPosition(batch)
		feed(b, db, p, batch...)
		batch = batch[:0]
	}
	// Of every 7 requests, 5 stay open in sante-c2s, 1 in sante-cartes, and 1 is withdrawn.
	total := n / 5 * 7
	for i := range total {
		received := t0.Add(time.Duration(i) * 90 * 24 * time.Hour / time.Duration(total))
		svc := c2s
		if i%7 == 5 {
			svc = cards
		}
		r := submit(b, &pos, uuid.New(), svc, received)
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
	flush()
	return workers
}
