package audittree_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/projbench"
)

// BenchmarkTreeAgainstRebuild measures, in the same run over the same log (AUDIT_BENCH_EVENTS events, default
// 100,000, on a node on disk): the rebuild rate of the projection runtime's sample projection (streamactivity,
// projbench.RebuildRate), the rebuild rate of the audit tree (projections.Rebuild of audittree: the same runner and
// source), on SQLite and PostgreSQL (DOSSIER_TEST_POSTGRES_URL), then a signed head and `audit verify` (Verify over
// $all read with the official client) with its rate. One iteration: run with -benchtime 1x.
func BenchmarkTreeAgainstRebuild(b *testing.B) {
	events := 100_000
	if s := os.Getenv("AUDIT_BENCH_EVENTS"); s != "" {
		events, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	client, err := kurrentdb.Connect(ctx, node.ConnectionString())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	reg, err := event.NewRegistry(projbench.Definitions(), auditlog.Definitions())
	if err != nil {
		b.Fatal(err)
	}
	codec := kurrentdb.NewCodec(reg)
	store := kurrentdb.NewStore(client, codec)
	source := kurrentdb.NewSource(client, codec)
	appendFn := func(ctx context.Context, s event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
		return store.Append(ctx, s, esdb.Any{}, m, evs...)
	}
	fillOpts := projbench.FillOptions{Events: events, Streams: max(events/10, 1)}
	var fill projbench.FillResult
	if per, _ := strconv.Atoi(os.Getenv("AUDIT_BENCH_PER_APPEND")); per > 1 {
		fill, err = fillBatched(ctx, appendFn, fillOpts, per)
	} else {
		fill, err = projbench.Fill(ctx, appendFn, fillOpts)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d events in %s (%.0f/s)", fill.Events, fill.Elapsed.Round(time.Millisecond), fill.PerSecond)
	b.ResetTimer()
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		if d == sqldb.Postgres && os.Getenv(sqldbtest.PostgresURLEnv) == "" {
			continue
		}
		db := sqldbtest.NewTarget(b, d).Open(b)
		// Round 1: the baseline, then the tree. With AUDIT_BENCH_ROUNDS=N, N rounds alternate the baseline and the
		// tree on the same log (and on PostgreSQL the tree with multi-row VALUES instead of arrays, the lever of
		// version 2); the figures to read are the medians of the per-round ratios.
		rounds := 1
		if n, _ := strconv.Atoi(os.Getenv("AUDIT_BENCH_ROUNDS")); n > 1 {
			rounds = n
		}
		var ratios, valuesRatios []float64
		var base projbench.Rate
		var tree float64
		// CPU seconds (this process, where the node and SQLite run, plus the PostgreSQL server's processes) are
		// distorted less than wall time by the other work of a shared machine: cpuRatios compare them (baseline CPU
		// ÷ tree CPU: above 1, the tree costs less than the rebuild).
		var cpuRatios, valuesCPURatios []float64
		for round := range rounds {
			c0 := cpuSeconds(b, db)
			base, err = projbench.RebuildRate(ctx, db, source)
			if err != nil {
				b.Fatal(err)
			}
			c1 := cpuSeconds(b, db)
			var p projections.Progress
			tree, p = treeRate(ctx, b, db, source, true)
			c2 := cpuSeconds(b, db)
			ratios = append(ratios, tree/base.PerSecond)
			cpuRatios = append(cpuRatios, (c1-c0)/(c2-c1))
			b.Logf("%s round %d: streamactivity rebuild %.0f events/s (%s, %.1f CPU s), audit tree rebuild %.0f events/s (%d events, %.1f CPU s): ratio %.2f, CPU ratio %.2f",
				d, round+1, base.PerSecond, base.Elapsed.Round(time.Millisecond), c1-c0, tree, p.Events, c2-c1, tree/base.PerSecond, (c1-c0)/(c2-c1))
			if d == sqldb.Postgres && rounds > 1 {
				values, _ := treeRate(ctx, b, db, source, false)
				c3 := cpuSeconds(b, db)
				valuesRatios = append(valuesRatios, values/base.PerSecond)
				valuesCPURatios = append(valuesCPURatios, (c1-c0)/(c3-c2))
				b.Logf("%s round %d: audit tree rebuild with multi-row VALUES %.0f events/s (%.1f CPU s): ratio %.2f, CPU ratio %.2f",
					d, round+1, values, c3-c2, values/base.PerSecond, (c1-c0)/(c3-c2))
			}
		}
		if rounds > 1 {
			b.Logf("%s: medians over %d rounds: tree/rebuild %.2f (each %.2f), CPU %.2f (each %.2f)", d, rounds,
				median(ratios), ratios, median(cpuRatios), cpuRatios)
			if len(valuesRatios) > 0 {
				b.Logf("%s: medians, tree with VALUES/rebuild %.2f (each %.2f), CPU %.2f (each %.2f)", d,
					median(valuesRatios), valuesRatios, median(valuesCPURatios), valuesCPURatios)
			}
		}
		b.ReportMetric(base.PerSecond, string(d)+"-rebuild-events/s")
		b.ReportMetric(tree, string(d)+"-tree-events/s")
		b.ReportMetric(median(ratios), string(d)+"-tree/rebuild")
		if d == sqldb.SQLite {
			key, _ := auditlog.ParseKey("0101010101010101010101010101010101010101010101010101010101010101")
			if _, _, err := auditlog.New(audittree.NewQueries(db), store, key).Sign(ctx); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			n := 0
			if err := auditlog.ReadAll(client)(ctx, func(event.Record) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			read := float64(n) / time.Since(start).Seconds()
			b.Logf("read $all alone (verify's baseline): %d events at %.0f events/s", n, read)
			b.ReportMetric(read, "readall-events/s")
			start = time.Now()
			rep, err := auditlog.Verify(ctx, auditlog.ReadAll(client), key.Verifier(), nil)
			if err != nil || !rep.OK() {
				b.Fatalf("verify: %+v, %v", rep, err)
			}
			took := time.Since(start)
			b.Logf("verify: %d events, 1 head, in %s: %.0f events/s (1 M events in %.0f s at this rate)", rep.Leaves,
				took.Round(time.Millisecond), float64(rep.Leaves)/took.Seconds(), 1e6/(float64(rep.Leaves)/took.Seconds()))
			b.ReportMetric(float64(rep.Leaves)/took.Seconds(), "verify-events/s")
		}
	}
}

// fillBatched is projbench.Fill with per events in each append (AUDIT_BENCH_PER_APPEND): each round appends per
// events to every stream, so the log holds runs of per events of one stream. It fills a log of a million events in a
// few minutes where one event per append takes tens of minutes; the tree and verify hash events one by one whatever
// their grouping, but the streamactivity baseline folds a run of one stream into one row and gets faster: compare
// the tree with the rebuild on logs filled one event per append (the default).
func fillBatched(ctx context.Context, appendFn projbench.Append, opts projbench.FillOptions, per int) (projbench.FillResult, error) {
	streams := make([]event.StreamID, opts.Streams)
	for i := range streams {
		streams[i] = event.NewStreamID(projbench.Category, uuid.New())
	}
	start := time.Now()
	var (
		seq  atomic.Int64
		last atomic.Uint64
	)
	for written := 0; written < opts.Events; {
		var next atomic.Int64
		round := min(opts.Events-written, opts.Streams*per)
		g, gctx := errgroup.WithContext(ctx)
		for range 16 {
			g.Go(func() error {
				for {
					i := int(next.Add(1)) - 1
					n := min(per, round-i*per)
					if n <= 0 {
						return nil
					}
					evs := make([]any, n)
					for j := range evs {
						evs[j] = projbench.NewRecorded(int(seq.Add(1)))
					}
					cmd := uuid.New()
					c, err := appendFn(gctx, streams[i], event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
						Actor: event.Actor{ID: "bench/audittree", Role: event.RoleSystem}, OccurredAt: time.Now().UTC()}, evs...)
					if err != nil {
						return fmt.Errorf("fill: %w", err)
					}
					for {
						cur := last.Load()
						if c.Position <= cur || last.CompareAndSwap(cur, c.Position) {
							break
						}
					}
				}
			})
		}
		if err := g.Wait(); err != nil {
			return projbench.FillResult{}, err
		}
		written += round
	}
	elapsed := time.Since(start)
	return projbench.FillResult{Events: opts.Events, Streams: opts.Streams, Last: last.Load(), Elapsed: elapsed,
		PerSecond: float64(opts.Events) / elapsed.Seconds()}, nil
}

// treeRate rebuilds the audit tree over source (PostgreSQL array inserts on or off) and returns its rate.
func treeRate(ctx context.Context, b *testing.B, db *sqldb.DB, source projections.Source, arrays bool) (float64, projections.Progress) {
	prev := audittree.SetArrayInserts(arrays)
	defer audittree.SetArrayInserts(prev)
	start := time.Now()
	p, err := projections.Rebuild(ctx, db, source, audittree.New(), projections.RebuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return float64(p.Events) / time.Since(start).Seconds(), p
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuSeconds returns the CPU time used so far by this process and, on PostgreSQL, by the server's processes (the
// postmaster with its reaped children, and its live children): read from /proc, Linux only.
func cpuSeconds(b *testing.B, db *sqldb.DB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	total := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	if db.Dialect() != sqldb.Postgres {
		return total
	}
	var backend int
	if err := db.QueryRowxContext(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster := procStat(backend).ppid
	pm := procStat(postmaster)
	total += pm.cpu + pm.children
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := procStat(pid); st.ppid == postmaster {
			total += st.cpu
		}
	}
	return total
}

type stat struct {
	ppid          int
	cpu, children float64 // seconds: utime+stime, cutime+cstime
}

// procStat reads /proc/PID/stat (zero when the process is gone); times are in clock ticks of 1/100 s (USER_HZ).
func procStat(pid int) stat {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) ": f[0] is the state
	if len(f) < 15 {
		return stat{}
	}
	num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / 100 }
	ppid, _ := strconv.Atoi(f[1])
	return stat{ppid: ppid, cpu: num(11) + num(12), children: num(13) + num(14)}
}
