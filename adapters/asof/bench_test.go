package asof_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/asof"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkQueueAsOf times the queue view (GET /v1/audit/queues/{queue}?at=) over a log of ASOF_BENCH_EVENTS events
// (default 100,000) holding ASOF_BENCH_CASES cases (default 10,000: submitted and queued, in one queue), the rest
// being logins of 1,000 members, at the head of the log; beside it, in the same run, the live rebuild of casequeues
// over the same log into a SQLite file (projections.Rebuild: the whole log, as the runner reads it) as the baseline.
// The size:
//
//	ASOF_BENCH_EVENTS=1000000 ASOF_BENCH_CASES=100000 go test -run '^$' -bench QueueAsOf -benchtime 1x -timeout 30m ./adapters/asof
func BenchmarkQueueAsOf(b *testing.B) {
	events, cases := envInt("ASOF_BENCH_EVENTS", 100_000), envInt("ASOF_BENCH_CASES", 10_000)
	ctx := context.Background()
	env := kurrentdbtest.Start(b, member.Definitions(), sr.Definitions())
	start := time.Now()
	fill(b, ctx, env, events, cases)
	b.Logf("log of %d events (%d cases) written in %s", events, cases, time.Since(start).Round(time.Millisecond))
	head, err := env.Client.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	views := asof.New(env.Client, env.Codec, nil)
	b.Run("queue-as-of", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			t0 := time.Now()
			v, err := views.Queue(ctx, "sante-c2s", asof.At{Position: head}, casequeues.Filter{})
			total += time.Since(t0)
			if err != nil || v.Stats.Open != cases {
				b.Fatalf("queue as of the head: %d open, %v", v.Stats.Open, err)
			}
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/view")
	})
	b.Run("baseline-live-rebuild", func(b *testing.B) {
		var total time.Duration
		for i := range b.N {
			db, err := sqldb.Open(ctx, sqldb.SQLite, filepath.Join(b.TempDir(), strconv.Itoa(i)+".db"), sqldb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if _, err := projections.Rebuild(ctx, db, env.Source, casequeues.New(), projections.RebuildOptions{}); err != nil {
				b.Fatal(err)
			}
			total += time.Since(t0)
			_ = db.Close()
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s/rebuild")
	})
}

// fill appends cases submissions (Submitted and Queued, one append each) and logins up to events in all, from four
// writers.
func fill(b *testing.B, ctx context.Context, env *kurrentdbtest.Env, events, cases int) {
	var pos uint64
	type job struct {
		stream event.StreamID
		meta   event.Metadata
		evs    []any
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				if _, err := env.Store.Append(ctx, j.stream, esdb.Any{}, j.meta, j.evs...); err != nil {
					b.Error(err)
				}
			}
		})
	}
	members := make([]uuid.UUID, 1000)
	for i := range members {
		members[i] = uuid.New()
	}
	logins := events - 2*cases
	perCase := max(1, logins/max(1, cases))
	const loginBatch = 200
	pending := 0
	for i := range cases {
		r := srtest.Submit(b, &pos, members[i%len(members)], srtest.C2S, srtest.At(i%90, 0))
		evs := make([]any, len(r.Events))
		for k, e := range r.Events {
			evs[k] = e.Event
		}
		jobs <- job{stream: r.Events[0].Stream, meta: r.Events[0].Metadata, evs: evs}
		pending += perCase
		for pending >= loginBatch && logins > 0 {
			n := min(loginBatch, logins)
			evs := make([]any, n)
			for k := range evs {
				evs[k] = member.LoggedIn{SessionID: uuid.New()}
			}
			m := members[(i/7)%len(members)]
			jobs <- job{stream: event.NewStreamID(member.Category, m), meta: projectionstest.Meta(), evs: evs}
			pending -= n
			logins -= n
		}
	}
	for logins > 0 {
		n := min(loginBatch, logins)
		evs := make([]any, n)
		for k := range evs {
			evs[k] = member.LoggedIn{SessionID: uuid.New()}
		}
		jobs <- job{stream: event.NewStreamID(member.Category, members[logins%len(members)]), meta: projectionstest.Meta(), evs: evs}
		logins -= n
	}
	close(jobs)
	wg.Wait()
}
