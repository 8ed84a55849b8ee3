package sqldb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

const leaseName = "projection.members"

func TestLeaseIsExclusiveUntilReleased(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		a, b := tg.Open(t), tg.Open(t)
		held, err := a.TryAcquireLease(ctx, leaseName)
		if err != nil {
			t.Fatalf("first acquire: %v", err)
		}
		if held.Name() != leaseName || held.Err() != nil {
			t.Fatalf("lease %q err %v", held.Name(), held.Err())
		}
		if _, err := b.TryAcquireLease(ctx, leaseName); !errors.Is(err, sqldb.ErrLeaseHeld) {
			t.Fatalf("other handle: err = %v, want ErrLeaseHeld", err)
		}
		if _, err := a.TryAcquireLease(ctx, leaseName); !errors.Is(err, sqldb.ErrLeaseHeld) {
			t.Fatalf("same handle again: err = %v, want ErrLeaseHeld", err)
		}
		other, err := b.TryAcquireLease(ctx, "projection.requests")
		if err != nil {
			t.Fatalf("another name: %v", err)
		}
		defer other.Release()

		if err := held.Release(); err != nil {
			t.Fatalf("Release: %v", err)
		}
		select {
		case <-held.Done():
		default:
			t.Fatal("Done not closed after Release")
		}
		if !errors.Is(held.Err(), sqldb.ErrLeaseReleased) {
			t.Fatalf("Err after Release = %v", held.Err())
		}
		if err := held.Release(); err != nil {
			t.Fatalf("second Release: %v", err)
		}
		taken, err := b.TryAcquireLease(ctx, leaseName)
		if err != nil {
			t.Fatalf("acquire after release: %v", err)
		}
		_ = taken.Release()
	})
}

func TestLeaseIsTakenOverWhenTheHolderCloses(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		holder, waiter := tg.Open(t), tg.Open(t)
		held, err := holder.TryAcquireLease(ctx, leaseName)
		if err != nil {
			t.Fatal(err)
		}
		acquired := make(chan *sqldb.Lease, 1)
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		go func() {
			l, err := waiter.AcquireLease(waitCtx, leaseName, 50*time.Millisecond)
			if err != nil {
				t.Errorf("AcquireLease: %v", err)
			}
			acquired <- l
		}()
		select {
		case <-acquired:
			t.Fatal("acquired while the holder still held it")
		case <-time.After(300 * time.Millisecond):
		}
		start := time.Now()
		if err := holder.Close(); err != nil {
			t.Fatalf("holder Close: %v", err)
		}
		select {
		case <-held.Done():
		default:
			t.Fatal("holder's lease Done not closed by DB.Close")
		}
		l := <-acquired
		if l == nil {
			t.FailNow()
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("takeover took %v", took)
		}
		_ = l.Release()
		if _, err := holder.TryAcquireLease(ctx, leaseName); !errors.Is(err, sqldb.ErrClosed) {
			t.Errorf("acquire on a closed DB: err = %v, want ErrClosed", err)
		}
	})
}

func TestAcquireLeaseGivesUpWithTheContext(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		a, b := tg.Open(t), tg.Open(t)
		held, err := a.TryAcquireLease(context.Background(), leaseName)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Release()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := b.AcquireLease(ctx, leaseName, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
}

func TestLeaseRejectsBadNames(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for _, name := range []string{"", "../escape", "Projection", "a b"} {
			if _, err := db.TryAcquireLease(context.Background(), name); err == nil {
				t.Errorf("name %q accepted", name)
			}
		}
	})
}

// TestLeaseLostWhenTheSessionIsKilled: on PostgreSQL the holder finds out, within seconds, that its session is gone
// (here terminated by an operator) and closes Done, so it stops before another replica has run for long.
func TestLeaseLostWhenTheSessionIsKilled(t *testing.T) {
	tg := sqldbtest.NewTarget(t, sqldb.Postgres)
	ctx := context.Background()
	holder, admin := tg.Open(t), tg.Open(t)
	held, err := holder.TryAcquireLease(ctx, leaseName)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	if err := admin.SelectContext(ctx, &pids, `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 {
		t.Fatalf("advisory lock holders: %v, want one", pids)
	}
	if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pids[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Done():
	case <-time.After(6 * time.Second):
		t.Fatal("holder did not notice the lost session")
	}
	if !errors.Is(held.Err(), sqldb.ErrLeaseLost) {
		t.Fatalf("Err = %v, want ErrLeaseLost", held.Err())
	}
	l, err := admin.TryAcquireLease(ctx, leaseName)
	if err != nil {
		t.Fatalf("acquire after loss: %v", err)
	}
	_ = l.Release()
}

// The helper process for TestLeaseIsTakenOverWhenTheHolderProcessDies is this test binary started again with these
// variables set: see TestMain.
const (
	helperDialectEnv = "SQLDB_TEST_LEASE_HELPER_DIALECT"
	helperDSNEnv     = "SQLDB_TEST_LEASE_HELPER_DSN"
)

func TestMain(m *testing.M) {
	if dialect := os.Getenv(helperDialectEnv); dialect != "" {
		holdLeaseUntilKilled(sqldb.Dialect(dialect), os.Getenv(helperDSNEnv))
		return
	}
	os.Exit(m.Run())
}

// holdLeaseUntilKilled takes the lease, says so on stdout, and waits to be killed.
func holdLeaseUntilKilled(dialect sqldb.Dialect, dsn string) {
	db, err := sqldb.Open(context.Background(), dialect, dsn, sqldb.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	if _, err := db.TryAcquireLease(context.Background(), leaseName); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	fmt.Println("LEASE HELD")
	time.Sleep(time.Minute)
	fmt.Fprintln(os.Stderr, "helper: not killed within a minute")
	os.Exit(1)
}

func TestLeaseIsTakenOverWhenTheHolderProcessDies(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperDialectEnv+"="+string(tg.Dialect), helperDSNEnv+"="+tg.DSN)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		lines := bufio.NewScanner(out)
		held := false
		for lines.Scan() {
			if strings.Contains(lines.Text(), "LEASE HELD") {
				held = true
				break
			}
		}
		if !held {
			t.Fatal("helper process did not take the lease")
		}

		db := tg.Open(t)
		if _, err := db.TryAcquireLease(ctx, leaseName); !errors.Is(err, sqldb.ErrLeaseHeld) {
			t.Fatalf("while the helper lives: err = %v, want ErrLeaseHeld", err)
		}
		start := time.Now()
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup code runs in the holder
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		l, err := db.AcquireLease(waitCtx, leaseName, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("takeover after the holder died: %v", err)
		}
		t.Logf("took over %v after the holder was killed", time.Since(start).Round(time.Millisecond))
		_ = l.Release()
	})
}

// TestLeaseHoldersSayWhoHoldsWhat: operators see which replica holds a lease, and whether it is held now.
func TestLeaseHoldersSayWhoHoldsWhat(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		open := func(holder string) *sqldb.DB {
			db, err := sqldb.Open(ctx, tg.Dialect, tg.DSN, sqldb.Options{Holder: holder})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		a, b := open("replica-a"), open("replica-b")
		if hs, err := a.LeaseHolders(ctx, "projection."); err != nil || len(hs) != 0 {
			t.Fatalf("before any lease: %v, %v", hs, err)
		}
		la, err := a.TryAcquireLease(ctx, leaseName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.TryAcquireLease(ctx, "reaction.mail"); err != nil {
			t.Fatal(err)
		}
		hs, err := b.LeaseHolders(ctx, "projection.")
		if h := hs[leaseName]; err != nil || len(hs) != 1 || h.Holder != "replica-a" || !h.Held || h.Since.IsZero() {
			t.Fatalf("held by a: %+v, %v", hs, err)
		}
		la.Release()
		if hs, err := b.LeaseHolders(ctx, "projection."); err != nil || hs[leaseName].Held || hs[leaseName].Holder != "replica-a" {
			t.Fatalf("released: %+v, %v", hs, err)
		}
		if _, err := b.TryAcquireLease(ctx, leaseName); err != nil {
			t.Fatal(err)
		}
		if hs, err := a.LeaseHolders(ctx, "projection."); err != nil || !hs[leaseName].Held || hs[leaseName].Holder != "replica-b" {
			t.Fatalf("taken over by b: %+v, %v", hs, err)
		}
	})
}
