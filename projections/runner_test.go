package projections_test

import (
	"context"
	"errors"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest/storetest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

func TestCheckpointCommitsWithTheRowsOrNotAtAll(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		s := storetest.NewStream("testcase")
		e.Append(t, s, opened{Queue: "q"})
		last := e.Append(t, s, noted{Text: "n"})

		r, err := projections.NewRunner(db, e.Source,
			projections.Options{Logger: projectionstest.Logger(), RetryDelay: time.Second}, streamactivity.New())
		if err != nil {
			t.Fatal(err)
		}
		failed := make(chan struct{})
		var calls atomic.Int32
		projections.SetAfterApply(r, func() error {
			if calls.Add(1) == 1 {
				close(failed)
				return errBoom // the rows are written in the transaction; the checkpoint is not yet
			}
			return nil
		})
		run := projectionstest.Start(t, r)
		<-failed
		time.Sleep(100 * time.Millisecond) // let the rollback land; the retry waits 1 s
		if _, ok := activity(t, db, s); ok {
			t.Fatal("rows of the failed batch are visible")
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != 0 || cp.Events != 0 {
			t.Fatalf("checkpoint after the failed batch: %+v", cp)
		}
		run.Wait(t, last.Position) // the runner resumes from its checkpoint and applies the batch again
		a, ok := activity(t, db, s)
		if !ok || a.EventCount != 2 {
			t.Fatalf("after the retry: %+v", a)
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != last.Position || cp.Events != 2 {
			t.Fatalf("checkpoint after the retry: %+v", cp)
		}
	})
}

func TestUndecodableEventStopsTheProjectionLoudly(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		good, bad, later := storetest.NewStream("testcase"), storetest.NewStream("testcase"), storetest.NewStream("testcase")
		first := e.Append(t, good, opened{Queue: "q"})
		poison := e.Append(t, bad, unknown{X: 1})
		after := e.Append(t, later, opened{Queue: "q"})

		run := projectionstest.StartRunner(t, db, e.Source, streamactivity.New())
		err := run.Ended(t)
		if !errors.Is(err, projections.ErrUndecodable) || !errors.Is(err, event.ErrUnknownType) {
			t.Fatalf("Run = %v, want ErrUndecodable wrapping ErrUnknownType", err)
		}
		if !strings.Contains(err.Error(), bad.String()) {
			t.Errorf("error %q does not name the stream", err)
		}
		cp := checkpoints(t, db)[streamactivity.Version]
		if cp.Position != first.Position || !strings.Contains(cp.LastError, "undecodable") {
			t.Errorf("checkpoint %+v: want position %d and the error recorded", cp, first.Position)
		}
		if _, ok := activity(t, db, good); !ok {
			t.Error("the event before the poison one was not committed")
		}
		if _, ok := activity(t, db, later); ok {
			t.Error("an event after the poison one was applied: the projection skipped it")
		}
		st := run.Status()[0]
		if st.Err == nil || st.Role != projections.RoleStopped {
			t.Errorf("status %+v: want stopped with the error", st)
		}
		if err := run.Ready(); err == nil {
			t.Error("Ready = nil after a stop")
		}
		ctx, cancel := context.WithTimeout(projectionstest.Ctx(t), 5*time.Second)
		defer cancel()
		if err := run.WaitFor(ctx, after.Position); !errors.Is(err, projections.ErrStopped) || !errors.Is(err, failure.Unavailable) {
			t.Errorf("WaitFor = %v, want ErrStopped (Unavailable)", err)
		}

		// A restart stops at the same event again: nothing is ever skipped.
		again := projectionstest.StartRunner(t, db, e.Source, streamactivity.New())
		if err := again.Ended(t); !errors.Is(err, projections.ErrUndecodable) {
			t.Fatalf("restart: Run = %v", err)
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != first.Position {
			t.Errorf("restart moved the checkpoint to %d (poison at %d)", cp.Position, poison.Position)
		}
	})
}

// failing is streamactivity, failing on the batch that holds an event of the given stream.
type failing struct {
	*streamactivity.Projection
	stream string
}

func (f failing) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	if err := f.Projection.Apply(ctx, tx, batch); err != nil {
		return err
	}
	for _, e := range batch {
		if e.Stream.String() == f.stream {
			return errBoom
		}
	}
	return nil
}

func TestApplyErrorStopsTheProjectionLoudly(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		good, bad := storetest.NewStream("testcase"), storetest.NewStream("testcase")
		first := e.Append(t, good, opened{Queue: "q"})

		run := projectionstest.StartRunner(t, db, e.Source, failing{streamactivity.New(), bad.String()})
		run.Wait(t, first.Position)
		e.Append(t, bad, opened{Queue: "q"})
		err := run.Ended(t)
		if !errors.Is(err, projections.ErrApply) || !errors.Is(err, errBoom) {
			t.Fatalf("Run = %v, want ErrApply wrapping the projection's error", err)
		}
		if _, ok := activity(t, db, bad); ok {
			t.Error("the failed batch's rows were committed")
		}
		if cp := checkpoints(t, db)[streamactivity.Version]; cp.Position != first.Position || cp.LastError == "" {
			t.Errorf("checkpoint %+v", cp)
		}
	})
}

func TestWaitFor(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		run := projectionstest.StartRunner(t, db, e.Source, streamactivity.New())

		if err := run.WaitFor(projectionstest.Ctx(t), 0); err != nil {
			t.Fatalf("WaitFor(0) = %v", err)
		}
		run.Wait(t, first.Position)

		// A position not reached yet: WaitFor returns when an event at or past it is committed.
		returned := make(chan error, 1)
		go func() { returned <- run.WaitFor(projectionstest.Ctx(t), first.Position+1) }()
		select {
		case err := <-returned:
			t.Fatalf("WaitFor(next) returned %v before anything was appended", err)
		case <-time.After(200 * time.Millisecond):
		}
		s := storetest.NewStream("testcase")
		appended := time.Now()
		second := e.Append(t, s, opened{Queue: "q"})
		select {
		case err := <-returned:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WaitFor(next) did not return after an append")
		}
		if d := time.Since(appended); d > time.Second {
			t.Errorf("WaitFor returned %v after the append", d)
		}
		if _, ok := activity(t, db, s); !ok {
			t.Error("WaitFor returned before the read model reflected the event")
		}

		// Positions already passed return at once.
		ctx, cancel := context.WithTimeout(projectionstest.Ctx(t), 50*time.Millisecond)
		defer cancel()
		if err := run.WaitFor(ctx, first.Position); err != nil {
			t.Errorf("WaitFor(an older position) = %v", err)
		}
		if err := run.WaitForProjection(ctx, streamactivity.Name, second.Position); err != nil {
			t.Errorf("WaitForProjection = %v", err)
		}
		if err := run.WaitForProjection(ctx, "nosuch", 1); !errors.Is(err, projections.ErrUnknownProjection) {
			t.Errorf("WaitForProjection(unknown) = %v", err)
		}

		// A position never reached: the caller's deadline ends the wait.
		ctx, cancel = context.WithTimeout(projectionstest.Ctx(t), 100*time.Millisecond)
		defer cancel()
		if err := run.WaitFor(ctx, second.Position+1_000_000); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitFor(unreached) = %v, want DeadlineExceeded", err)
		}

		st := run.Status()[0]
		if st.Role != projections.RoleActive || !st.CaughtUp || st.Position != second.Position ||
			st.LiveVersion != streamactivity.Version || st.LivePosition != second.Position || st.Lag != 0 || st.Applied != 2 {
			t.Errorf("status %+v", st)
		}
		if err := run.Ready(); err != nil {
			t.Errorf("Ready = %v", err)
		}
		if err := run.Stop(t); err != nil {
			t.Errorf("Run ended with %v on cancellation, want nil", err)
		}
		if err := run.WaitFor(projectionstest.Ctx(t), second.Position+1); !errors.Is(err, projections.ErrStopped) {
			t.Errorf("WaitFor after the runner stopped = %v, want ErrStopped", err)
		}
	})
}

func TestStandbyFollowsThenTakesOverWhenTheHolderDies(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		dbA, dbB := tg.Open(t), tg.Open(t)

		a := projectionstest.StartRunner(t, dbA, e.Source, streamactivity.New())
		a.Wait(t, first.Position)
		b := projectionstest.StartRunner(t, dbB, e.Source, streamactivity.New())
		// b stands by once it has found the lease taken (before that it is about to take over, and not ready).
		projectionstest.Eventually(t, "b standing by", func() bool {
			return b.Status()[0].Role == projections.RoleStandby && b.Ready() == nil
		})

		// The standby replica answers read-your-writes from the checkpoint the holder commits.
		s := storetest.NewStream("testcase")
		second := e.Append(t, s, opened{Queue: "q"})
		b.Wait(t, second.Position)
		if _, ok := activity(t, dbB, s); !ok {
			t.Fatal("standby's WaitFor returned before the rows were visible")
		}
		if err := b.Ready(); err != nil {
			t.Errorf("standby Ready = %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		if got := b.Status()[0].Role; got != projections.RoleStandby {
			t.Fatalf("b is %s while a holds the projection", got)
		}

		// Kill a: its database handle goes, and with it its lease.
		died := time.Now()
		if err := dbA.Close(); err != nil {
			t.Fatal(err)
		}
		projectionstest.Eventually(t, "b taking over", func() bool { return b.Status()[0].Role == projections.RoleActive })
		if d := time.Since(died); d > 5*time.Second {
			t.Errorf("takeover took %v", d)
		}
		t.Logf("takeover after %v", time.Since(died).Round(time.Millisecond))
		s3 := storetest.NewStream("testcase")
		third := e.Append(t, s3, opened{Queue: "q"})
		b.Wait(t, third.Position)
		if a, ok := activity(t, dbB, s3); !ok || a.EventCount != 1 {
			t.Fatalf("after the takeover: %+v", a)
		}
		if cp := checkpoints(t, dbB)[streamactivity.Version]; cp.Position != third.Position || cp.Events != 3 {
			t.Errorf("checkpoint %+v: each event applied once", cp)
		}
	})
}

func TestMetrics(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		last := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"}, noted{Text: "n"})
		reg := prometheus.NewRegistry()
		r, err := projections.NewRunner(db, e.Source, projections.Options{Logger: projectionstest.Logger(), Registry: reg},
			streamactivity.New())
		if err != nil {
			t.Fatal(err)
		}
		run := projectionstest.Start(t, r)
		run.Wait(t, last.Position)
		projectionstest.Eventually(t, "caught up", func() bool { return run.Status()[0].CaughtUp })
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{
			"dossier_projection_position":             float64(last.Position),
			"dossier_projection_live_position":        float64(last.Position),
			"dossier_projection_lag_seconds":          0,
			"dossier_projection_active":               1,
			"dossier_projection_caught_up":            1,
			"dossier_projection_stopped":              0,
			"dossier_projection_events_applied_total": 3,
		}
		for _, f := range families {
			w, ok := want[f.GetName()]
			if !ok {
				continue
			}
			delete(want, f.GetName())
			m := f.GetMetric()[0]
			if labels(m) != "projection=streamactivity,version=1" {
				t.Errorf("%s labels %s", f.GetName(), labels(m))
			}
			got := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				got = m.GetCounter().GetValue()
			}
			if got != w {
				t.Errorf("%s = %v, want %v", f.GetName(), got, w)
			}
		}
		for name := range want {
			t.Errorf("metric %s missing", name)
		}
		if _, err := projections.NewRunner(db, e.Source, projections.Options{Registry: reg}, streamactivity.New()); err == nil {
			t.Error("a second runner registered the same metrics without error")
		}
	})
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		s := storetest.NewStream("testcase")
		e.Append(t, s, opened{Queue: "q"}, noted{Text: "1"})
		last := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})

		run := projectionstest.StartRunner(t, db, e.Source, streamactivity.New())
		run.Wait(t, last.Position)
		if _, err := projections.Rebuild(projectionstest.Ctx(t), db, e.Source, streamactivity.New(), projections.RebuildOptions{}); !errors.Is(err, projections.ErrRunning) {
			t.Fatalf("Rebuild while a runner runs = %v, want ErrRunning", err)
		}
		if err := run.Stop(t); err != nil {
			t.Fatal(err)
		}
		before, _ := activity(t, db, s)

		var calls int
		var seen projections.Progress
		p, err := projections.Rebuild(projectionstest.Ctx(t), db, e.Source, streamactivity.New(), projections.RebuildOptions{
			Logger: projectionstest.Logger(), MaxBatch: 2,
			Progress: func(p projections.Progress) { calls++; seen = p },
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.Events != 3 || p.Position != last.Position || calls != 2 || seen != p {
			t.Errorf("progress %+v after %d calls (last %+v)", p, calls, seen)
		}
		after, ok := activity(t, db, s)
		if !ok || after != before {
			t.Errorf("rebuilt row %+v, want %+v", after, before)
		}
		cp := checkpoints(t, db)[streamactivity.Version]
		if cp.State != projections.StateLive || cp.Position != last.Position || cp.Events != 3 {
			t.Errorf("checkpoint %+v", cp)
		}
	})
}

func TestRunnerRejectsBadProjections(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		for name, ps := range map[string][]projections.Projection{
			"duplicate": {streamactivity.New(), streamactivity.New()},
			"nil":       {nil},
			"bad name":  {named{streamactivity.New(), "Stream-Activity"}},
		} {
			if _, err := projections.NewRunner(db, e.Source, projections.Options{}, ps...); !errors.Is(err, projections.ErrInvalidProjection) {
				t.Errorf("%s: NewRunner = %v, want ErrInvalidProjection", name, err)
			}
		}
	})
}

type named struct {
	*streamactivity.Projection
	name string
}

func (n named) Name() string { return n.name }

func TestMovedCheckpointFencesTheBatchOut(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		s := storetest.NewStream("testcase")
		first := e.Append(t, s, opened{Queue: "q"})
		second := e.Append(t, s, noted{Text: "n"})
		run := projectionstest.StartRunner(t, db, e.Source, streamactivity.New())
		run.Wait(t, second.Position)
		projectionstest.Eventually(t, "caught up", func() bool { return run.Status()[0].CaughtUp })

		// Another runner (one that took the lease while this one did not notice) has moved the checkpoint: back to
		// the first event, as if it had applied only that one.
		if _, err := db.ExecContext(projectionstest.Ctx(t), db.Rebind(
			"UPDATE projection_checkpoints SET position = ? WHERE name = ? AND version = ?"),
			int64(first.Position), streamactivity.Name, streamactivity.Version); err != nil {
			t.Fatal(err)
		}
		third := e.Append(t, s, noted{Text: "m"})
		run.Wait(t, third.Position)

		// The batch of the third event was refused (its checkpoint update found the row moved) and rolled back; the
		// runner took the projection again from the moved checkpoint and applied the second and third events.
		cp := checkpoints(t, db)[streamactivity.Version]
		if cp.Position != third.Position || cp.Events != 4 {
			t.Fatalf("checkpoint %+v: want position %d after 2 + 2 events (a committed fenced batch would make 3)",
				cp, third.Position)
		}
		if a, ok := activity(t, db, s); !ok || a.EventCount != 3 || a.LastPosition != third.Position {
			t.Fatalf("row %+v: the replayed event must change nothing", a)
		}
	})
}
