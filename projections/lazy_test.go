package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest/storetest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// selective is streamactivity for the "testcase" streams only: it skips the events of any other stream, as most
// projections skip most events. It embeds the projection by value, so that projections.AtVersion (Verify) can set
// its Meta.
type selective struct{ streamactivity.Projection }

func newSelective() *selective { return &selective{*streamactivity.New()} }

func (s *selective) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	var mine []event.Envelope
	for _, e := range batch {
		if e.Stream.Category == "testcase" {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	return s.Projection.Apply(ctx, tx, mine)
}

func transactions(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "dossier_projection_transactions_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no dossier_projection_transactions_total")
	return 0
}

func TestBatchThatWritesNothingCommitsNothing(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		mine := storetest.NewStream("testcase")
		first := e.Append(t, mine, opened{Queue: "q"})

		reg := prometheus.NewRegistry()
		r, err := projections.NewRunner(db, e.Source, projections.Options{Logger: projectionstest.Logger(),
			Registry: reg, CheckpointInterval: time.Hour}, newSelective())
		if err != nil {
			t.Fatal(err)
		}
		run := projectionstest.Start(t, r)
		run.Wait(t, first.Position)
		projectionstest.Eventually(t, "caught up", func() bool { return run.Status()[0].CaughtUp })
		before := transactions(t, reg)
		if before != 1 {
			t.Fatalf("%v transactions for one batch that writes, want 1", before)
		}

		// Events of other streams, one command at a time: live batches that the projection skips.
		var last event.Commit
		for range 3 {
			last = e.Append(t, storetest.NewStream("other"), opened{Queue: "q"})
			run.Wait(t, last.Position) // WaitFor sees the skipped batch at once
		}
		if got := transactions(t, reg); got != before {
			t.Errorf("%v transactions after skipped batches, want %v (none opened)", got, before)
		}
		if got := run.Status()[0].Position; got != last.Position {
			t.Errorf("status position %d, want %d", got, last.Position)
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != first.Position {
			t.Errorf("stored checkpoint %d before the interval, want it still at %d", cp.Position, first.Position)
		}

		// A clean stop stores the position reached; a restart resumes from it and applies only what follows.
		if err := run.Stop(t); err != nil {
			t.Fatal(err)
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != last.Position || cp.Events != 4 {
			t.Fatalf("checkpoint after a clean stop: %+v, want position %d, 4 events", cp, last.Position)
		}
		next := e.Append(t, mine, noted{Text: "n"})
		again := projectionstest.StartRunner(t, db, e.Source, newSelective())
		again.Wait(t, next.Position)
		a, ok := activity(t, db, mine)
		if !ok || a.EventCount != 2 || a.LastPosition != next.Position {
			t.Errorf("after the restart: %+v, want 2 events up to %d", a, next.Position)
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != next.Position || cp.Events != 5 {
			t.Errorf("checkpoint after the restart: %+v, want position %d, 5 events (none applied twice)", cp, next.Position)
		}
		// The read model is the one a rebuild from the log makes (digests of every row).
		rep, err := projections.Verify(projectionstest.Ctx(t), db, e.Source, newSelective(), projections.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Clean() || rep.Position != next.Position {
			t.Errorf("verify: %d differences at %d, want none at %d", rep.Differences(), rep.Position, next.Position)
		}
	})
}

func TestSkippedPositionIsStoredWithinTheInterval(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		r, err := projections.NewRunner(db, e.Source, projections.Options{Logger: projectionstest.Logger(),
			CheckpointInterval: 100 * time.Millisecond}, newSelective())
		if err != nil {
			t.Fatal(err)
		}
		run := projectionstest.Start(t, r)
		run.Wait(t, first.Position)
		skipped := e.Append(t, storetest.NewStream("other"), opened{Queue: "q"})
		run.Wait(t, skipped.Position)
		projectionstest.Eventually(t, "the skipped position stored", func() bool {
			return checkpoints(t, db)[streamactivity.Version].Position == skipped.Position
		})
		if !run.Running() {
			t.Error("runner stopped")
		}
	})
}

func TestLazyTxBeginsAtTheFirstStatement(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		if _, err := db.ExecContext(ctx, `CREATE TABLE lazy_t (x INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		hooks := 0
		onBegin := func(context.Context, *sqldb.Tx) error { hooks++; return nil }
		began, err := db.InLazyTx(ctx, onBegin, func(tx *sqldb.Tx) error {
			_ = tx.Rebind("SELECT ?") // no statement
			return nil
		})
		if err != nil || began || hooks != 0 {
			t.Fatalf("no statement: began %v, hooks %d, err %v", began, hooks, err)
		}
		began, err = db.InLazyTx(ctx, onBegin, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO lazy_t (x) VALUES (?)`), 1)
			return err
		})
		if err != nil || !began || hooks != 1 {
			t.Fatalf("a statement: began %v, hooks %d, err %v", began, hooks, err)
		}
		began, err = db.InLazyTx(ctx, nil, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (x) VALUES (2)`); err != nil {
				return err
			}
			return errBoom
		})
		if !began || err == nil {
			t.Fatalf("a failing fn: began %v, err %v", began, err)
		}
		var n int
		if err := db.Reader().GetContext(ctx, &n, `SELECT COUNT(*) FROM lazy_t`); err != nil || n != 1 {
			t.Fatalf("rows = %d (%v), want 1: the failed fn is rolled back", n, err)
		}
	})
}
