package projections_test

import (
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest/storetest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/staffdirectory"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// TestDatabaseOutageIsRiddenOut is issue 12's second defect as a test: a lease error other than "held by another
// replica" (PostgreSQL restarting: connections refused) made the runner end, and with it the process, on the holder
// and on the standby alike. Now both keep trying with back-off, report not ready meanwhile, and go on unaided.
func TestDatabaseOutageIsRiddenOut(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		dbA, dbB := tg.Open(t), tg.Open(t)
		a := projectionstest.StartRunner(t, dbA, e.Source, streamactivity.New())
		a.Wait(t, first.Position)
		b := projectionstest.StartRunner(t, dbB, e.Source, streamactivity.New())
		projectionstest.Eventually(t, "b standing by", func() bool {
			return b.Status()[0].Role == projections.RoleStandby && b.Ready() == nil
		})

		restore := tg.Outage(t)
		// On SQLite held leases survive (there is no server): stop the holder so that b must take the lease.
		if err := dbA.Close(); err != nil {
			t.Fatal(err)
		}
		s := storetest.NewStream("testcase")
		during := e.Append(t, s, opened{Queue: "q"})
		projectionstest.Eventually(t, "b not ready", func() bool { return b.Ready() != nil })
		time.Sleep(2 * time.Second) // several lease attempts fail meanwhile
		if !b.Running() {
			t.Fatalf("the runner ended during the database outage: %v", b.Ended(t))
		}
		if err := b.Ready(); err == nil {
			t.Error("Ready = nil while the database is unreachable")
		} else {
			t.Logf("during the outage: %v", err)
		}
		restore()

		b.Wait(t, during.Position)
		if a, ok := activity(t, dbB, s); !ok || a.EventCount != 1 {
			t.Fatalf("after the outage: %+v", a)
		}
		projectionstest.Eventually(t, "b ready", func() bool { return b.Ready() == nil })
		if st := b.Status()[0]; st.Role != projections.RoleActive || st.Err != nil {
			t.Errorf("status after the outage: %+v", st)
		}
	})
}

// TestSurvivorStaysReadyWhileTakingOver: a standby that was ready (following a projection another replica held)
// stays ready while it takes the projection over after the holder died: a load balancer must not drop the only
// working replica. (Before, it reported "taking over", then "catching up", for a moment.)
func TestSurvivorStaysReadyWhileTakingOver(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		dbA, dbB := tg.Open(t), tg.Open(t)
		a := projectionstest.StartRunner(t, dbA, e.Source, streamactivity.New())
		a.Wait(t, first.Position)
		b := projectionstest.StartRunner(t, dbB, e.Source, streamactivity.New())
		projectionstest.Eventually(t, "b standing by", func() bool {
			return b.Status()[0].Role == projections.RoleStandby && b.Ready() == nil
		})
		for range 20 { // the holder goes on writing; the standby follows
			e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		}
		if err := dbA.Close(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if err := b.Ready(); err != nil {
				t.Fatalf("the survivor reported not ready while taking over: %v", err)
			}
			if st := b.Status()[0]; st.Role == projections.RoleActive && st.CaughtUp {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no takeover within 20 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
}

// TestProjectionsMoveBackToARestartedReplica: the survivor of a replica's death runs every projection; when a
// replica starts again, the survivor hands the surplus over (fair share: ceil(projections/replicas) each) instead of
// starving it, and both stay ready throughout.
func TestProjectionsMoveBackToARestartedReplica(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := storetest.New(t)
		first := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		start := func(holder string) *projectionstest.Runner {
			db, err := sqldb.Open(projectionstest.Ctx(t), tg.Dialect, tg.DSN, sqldb.Options{Holder: holder})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			r, err := projections.NewRunner(db, e.Source, projections.Options{Logger: projectionstest.Logger(),
				RetryDelay: 200 * time.Millisecond, LeaseRetry: 100 * time.Millisecond, ShareInterval: 200 * time.Millisecond},
				streamactivity.New(), staffdirectory.New())
			if err != nil {
				t.Fatal(err)
			}
			return projectionstest.Start(t, r)
		}
		activeCount := func(r *projectionstest.Runner) int {
			n := 0
			for _, st := range r.Status() {
				if st.Role == projections.RoleActive {
					n++
				}
			}
			return n
		}
		a := start("replica-a")
		a.Wait(t, first.Position)
		projectionstest.Eventually(t, "a runs both", func() bool { return activeCount(a) == 2 && a.Ready() == nil })

		b := start("replica-b")
		deadline := time.Now().Add(20 * time.Second)
		for activeCount(a) != 1 || activeCount(b) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("no fair share within 20 s: a runs %d, b runs %d", activeCount(a), activeCount(b))
			}
			if err := a.Ready(); err != nil {
				t.Fatalf("a not ready while handing over: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		projectionstest.Eventually(t, "b ready", func() bool { return b.Ready() == nil })
		// The share holds: nothing keeps moving back and forth.
		time.Sleep(time.Second)
		if activeCount(a) != 1 || activeCount(b) != 1 {
			t.Errorf("after a second: a runs %d, b runs %d", activeCount(a), activeCount(b))
		}
		second := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})
		a.Wait(t, second.Position)
		b.Wait(t, second.Position)
	})
}
