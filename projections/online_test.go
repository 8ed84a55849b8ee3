package projections_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest/storetest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// An operator rebuilds a projection that a replica runs, without stopping it: the replica builds the version again
// beside its live rows, keeps serving and applying new events meanwhile, then swaps the rebuilt rows in. A row
// damaged by hand is repaired, the events appended during the rebuild are all there, readers never see the read
// model empty, and the rebuild's own tables are gone afterwards.
func TestOnlineRebuildBesideARunningReplica(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		e := storetest.New(t)
		damaged := storetest.NewStream("testcase")
		e.Append(t, damaged, opened{Queue: "q"}, noted{Text: "1"}, noted{Text: "2"})
		var streams []event.StreamID
		var last event.Commit
		for range 40 {
			s := storetest.NewStream("testcase")
			streams = append(streams, s)
			last = e.Append(t, s, opened{Queue: "q"})
		}
		r, err := projections.NewRunner(db, e.Source, projections.Options{Logger: projectionstest.Logger(),
			RetryDelay: 200 * time.Millisecond, SwitchCheck: 50 * time.Millisecond, MaxBatch: 5}, streamactivity.New())
		if err != nil {
			t.Fatal(err)
		}
		run := projectionstest.Start(t, r)
		run.Wait(t, last.Position)

		table := projections.Prefix(streamactivity.Name, streamactivity.Version)
		if _, err := db.ExecContext(ctx, db.Rebind("UPDATE "+table+" SET event_count = 99 WHERE stream = ?"), damaged.String()); err != nil {
			t.Fatal(err)
		}
		if a, _ := activity(t, db, damaged); a.EventCount != 99 {
			t.Fatalf("the damage did not land: %+v", a)
		}
		rowsBefore := countRows(t, db)

		// Readers watch the read model while the rebuild runs: it must never shrink.
		stop := make(chan struct{})
		var minSeen atomic.Int64
		minSeen.Store(rowsBefore)
		var reader, appender sync.WaitGroup
		reader.Add(1)
		appender.Add(1)
		go func() {
			defer reader.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n := countRows(t, db); n < minSeen.Load() {
					minSeen.Store(n)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		// Members keep acting: events appended during the rebuild.
		var during []event.StreamID
		var duringLast atomic.Uint64
		go func() {
			defer appender.Done()
			for range 30 {
				select {
				case <-stop:
					return
				default:
				}
				s := storetest.NewStream("testcase")
				during = append(during, s)
				duringLast.Store(e.Append(t, s, opened{Queue: "q"}).Position)
				time.Sleep(5 * time.Millisecond)
			}
		}()

		req, err := projections.RequestRebuild(ctx, db, streamactivity.New(), "ticket-42", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if req.State != projections.RebuildRequested || req.RequestedBy != "ticket-42" {
			t.Fatalf("request %+v", req)
		}
		again, err := projections.RequestRebuild(ctx, db, streamactivity.New(), "ticket-43", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if again.RequestedBy != "ticket-42" || !again.RequestedAt.Equal(req.RequestedAt) {
			t.Errorf("a second request while the first is pending = %+v, want the first", again)
		}
		var done projections.RebuildRequest
		projectionstest.Eventually(t, "the rebuild done", func() bool {
			st, found, err := projections.RebuildStatus(ctx, db, streamactivity.Name, streamactivity.Version)
			if err != nil {
				t.Fatal(err)
			}
			if st.State == projections.RebuildFailed {
				t.Fatalf("rebuild failed: %s", st.Error)
			}
			done = st
			return found && st.State == projections.RebuildDone
		})
		appender.Wait()
		close(stop)
		reader.Wait()

		if !done.FinishedAt.Valid || done.Events == 0 || done.Position == 0 || done.Position != done.Target {
			t.Errorf("finished request %+v", done)
		}
		run.Wait(t, duringLast.Load())
		if a, ok := activity(t, db, damaged); !ok || a.EventCount != 3 {
			t.Errorf("damaged row after the rebuild: %+v (found %v), want 3 events", a, ok)
		}
		for _, s := range append(streams, during...) {
			if a, ok := activity(t, db, s); !ok || a.EventCount != 1 {
				t.Errorf("stream %s after the rebuild: %+v (found %v)", s, a, ok)
			}
		}
		if n := minSeen.Load(); n < rowsBefore {
			t.Errorf("a reader saw %d rows during the rebuild, %d before: the read model shrank", n, rowsBefore)
		}
		tables, err := projections.Tables(ctx, db, db.Dialect(), streamactivity.Name, projections.OnlineVersion(streamactivity.Version))
		if err != nil {
			t.Fatal(err)
		}
		if len(tables) != 0 {
			t.Errorf("the rebuild's tables are left: %v", tables)
		}
		cp := checkpoints(t, db)[streamactivity.Version]
		if cp.State != projections.StateLive || cp.Position != duringLast.Load() {
			t.Errorf("checkpoint %+v, want live at %d", cp, duringLast.Load())
		}

		// A finished request can be made again.
		next, err := projections.RequestRebuild(ctx, db, streamactivity.New(), "ticket-44", time.Now())
		if err != nil || next.State != projections.RebuildRequested || next.RequestedBy != "ticket-44" {
			t.Errorf("a new request after the first finished = %+v, %v", next, err)
		}
	})
}

func countRows(t *testing.T, db *sqldb.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Reader().GetContext(projectionstest.Ctx(t), &n, "SELECT count(*) FROM "+streamactivity.Name); err != nil {
		t.Fatal(err)
	}
	return n
}
