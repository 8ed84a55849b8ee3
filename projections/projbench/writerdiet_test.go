package projbench

// Writer diet (session 7): the write transactions that 16 projections and 21 reaction handlers put on the
// read-model database, and what a read waiting for its own write (Runner.WaitFor) pays for them, with the
// checkpoints of before (every batch commits, every Ack stores) and of now (a batch that writes nothing commits
// nothing, reactions store every 250 ms), alternated in the same run on the same event store.
//
// Rerun (BENCHMARKS.md, "Writer diet (session 7)"):
//
//	DOSSIER_WRITER_DIET_EVENTS=1500 DOSSIER_WRITER_DIET_ROUNDS=3 go run ./tests/testenv -- \
//	    go test ./projections/projbench -run TestWriterDiet -count=1 -v -timeout 30m
//
// Without the variables it runs a small smoke round (the test suite).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

const (
	dietProjections = 16
	dietHandlers    = 21
	dietInterest    = 6 // projections that write for a given event (the other ten skip it)
	dietClients     = 4
	dietStreams     = 64
)

var dietMigrations = fstest.MapFS{"migrations/00001_t.sql": {Data: []byte(
	"-- +goose Up\nCREATE TABLE {{prefix}} (k TEXT NOT NULL PRIMARY KEY, n BIGINT NOT NULL);\n" +
		"-- +goose Down\nDROP TABLE {{prefix}};\n")}}

// dietProjection counts the events of the streams it has an interest in: dietInterest of dietProjections
// projections write for any given stream, the others skip its events.
type dietProjection struct {
	projections.Meta
	i int
}

func (p dietProjection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	q := tx.Rebind("INSERT INTO " + p.Table() + " (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = " +
		p.Table() + ".n + 1")
	for _, e := range batch {
		c := int(e.Stream.ID[0]) % dietProjections
		if (p.i-c+dietProjections)%dietProjections >= dietInterest {
			continue
		}
		if _, err := tx.ExecContext(ctx, q, e.Stream.ID.String()); err != nil {
			return err
		}
	}
	return nil
}

type dietResult struct {
	rywP50, rywP99 time.Duration
	cpuPerEvent    time.Duration
	stmtsPerEvent  float64
	projTxPerEvent float64
	wall           time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func stmts(db *sqldb.DB) int64 {
	s := db.StatementCacheStats()
	return s.Hits + s.Prepares + s.Bypassed
}

func projTransactions(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range fams {
		if f.GetName() == "dossier_projection_transactions_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func dietRound(t *testing.T, dialect sqldb.Dialect, source projections.Source, feed messaging.Feed, appendFn Append, old bool, events int) dietResult {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	db := sqldbtest.NewTarget(t, dialect).Open(t)
	interval, reactions := time.Duration(0), messaging.IntervalCheckpoint // projections: the default
	if old {
		interval, reactions = -1, -1
	}
	ps := make([]projections.Projection, dietProjections)
	for i := range ps {
		ps[i] = dietProjection{Meta: projections.NewMeta(fmt.Sprintf("diet%02d", i), 1, dietMigrations), i: i}
	}
	reg := prometheus.NewRegistry()
	runner, err := projections.NewRunner(db, source, projections.Options{Registry: reg, CheckpointInterval: interval}, ps...)
	if err != nil {
		t.Fatal(err)
	}
	if err := messaging.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	router, err := messaging.NewRouter(messaging.RouterConfig{Feed: feed, DB: db, CheckpointInterval: reactions})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, dietHandlers)
	for i := range names {
		names[i] = fmt.Sprintf("diet.h%02d", i)
		if err := router.AddHandler(names[i], func(*message.Message) error { return nil }, messaging.SkipHistory()); err != nil {
			t.Fatal(err)
		}
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = runner.Run(rctx) }()
	go func() { defer wg.Done(); _ = router.Run(rctx) }()
	defer func() {
		stop()
		_ = router.Close()
		wg.Wait()
	}()
	// Catch up with the log of the earlier rounds before measuring.
	for runner.Ready() != nil || router.Started(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // let the catch-up's checkpoints settle

	streams := make([]event.StreamID, dietStreams)
	for i := range streams {
		streams[i] = event.NewStreamID(Category, uuid.New())
	}
	stmts0, tx0, cpu0, start := stmts(db), projTransactions(t, reg), cpuTime(), time.Now()
	var (
		mu   sync.Mutex
		ryw  []time.Duration
		last uint64
	)
	var clients sync.WaitGroup
	for c := range dietClients {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for k := c; k < events; k += dietClients {
				commit, err := appendFn(ctx, streams[k%dietStreams], benchMeta(), NewRecorded(k))
				if err != nil {
					t.Error(err)
					return
				}
				t0 := time.Now()
				if err := runner.WaitFor(ctx, commit.Position); err != nil {
					t.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				ryw = append(ryw, d)
				last = max(last, commit.Position)
				mu.Unlock()
			}
		}()
	}
	clients.Wait()
	// Every handler has acknowledged the last event and stored it (within its interval).
	for {
		cps, err := messaging.Checkpoints(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, cp := range cps {
			if cp.Position >= last {
				done++
			}
		}
		if done == dietHandlers {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("handlers did not catch up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wall := time.Since(start)
	res := dietResult{
		cpuPerEvent:    (cpuTime() - cpu0) / time.Duration(events),
		stmtsPerEvent:  float64(stmts(db)-stmts0) / float64(events),
		projTxPerEvent: (projTransactions(t, reg) - tx0) / float64(events),
		wall:           wall,
	}
	slices.Sort(ryw)
	res.rywP50, res.rywP99 = ryw[len(ryw)/2], ryw[len(ryw)*99/100]
	return res
}

func dietMedian(ds []float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestWriterDiet(t *testing.T) {
	events, rounds := 80, 1
	if v := os.Getenv("DOSSIER_WRITER_DIET_EVENTS"); v != "" {
		events, _ = strconv.Atoi(v)
		rounds = 3
	}
	if v := os.Getenv("DOSSIER_WRITER_DIET_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	dialects := []sqldb.Dialect{sqldb.SQLite}
	if os.Getenv(sqldbtest.PostgresURLEnv) != "" {
		dialects = append(dialects, sqldb.Postgres)
	}
	source, appendFn := wire(t)
	type key struct {
		d   sqldb.Dialect
		old bool
	}
	got := map[key][]dietResult{}
	for r := range rounds {
		for _, d := range dialects {
			for _, old := range []bool{true, false} { // A B, A B, ...
				res := dietRound(t, d, source, source, appendFn, old, events)
				got[key{d, old}] = append(got[key{d, old}], res)
				t.Logf("round %d %s old=%v: ryw p50 %v p99 %v, cpu/event %v, statements/event %.2f, projection tx/event %.2f, wall %v",
					r+1, d, old, res.rywP50, res.rywP99, res.cpuPerEvent, res.stmtsPerEvent, res.projTxPerEvent, res.wall.Round(time.Millisecond))
			}
		}
	}
	pick := func(rs []dietResult, f func(dietResult) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		return dietMedian(v)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, d := range dialects {
		o, n := got[key{d, true}], got[key{d, false}]
		for _, m := range []struct {
			name string
			f    func(dietResult) float64
		}{
			{"ryw p50 ms", func(r dietResult) float64 { return ms(r.rywP50) }},
			{"ryw p99 ms", func(r dietResult) float64 { return ms(r.rywP99) }},
			{"cpu ms/event", func(r dietResult) float64 { return ms(r.cpuPerEvent) }},
			{"statements/event", func(r dietResult) float64 { return r.stmtsPerEvent }},
			{"projection tx/event", func(r dietResult) float64 { return r.projTxPerEvent }},
			{"wall s", func(r dietResult) float64 { return r.wall.Seconds() }},
		} {
			ov, nv := pick(o, m.f), pick(n, m.f)
			t.Logf("%-8s %-20s old %8.3f  new %8.3f  new/old %.2f", d, m.name, ov, nv, nv/ov)
		}
		if pick(n, func(r dietResult) float64 { return r.projTxPerEvent }) >= pick(o, func(r dietResult) float64 { return r.projTxPerEvent }) {
			t.Errorf("%s: the new checkpoints do not commit fewer projection transactions", d)
		}
	}
}
