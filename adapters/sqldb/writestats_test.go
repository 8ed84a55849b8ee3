package sqldb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// The writer's metrics count each write transaction (and statement outside one) by the tables it wrote, with its
// outcome, and time the wait for the writer and the hold of it.
func TestWriterMetricsCountWritesByKind(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		reg := prometheus.NewRegistry()
		if err := db.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS wstat_widgets (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS reaction_checkpoint (handler TEXT PRIMARY KEY, position BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		before := writes(t, reg)

		// A transaction writing two tables is named by the one ranked first (the reaction's checkpoint).
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO wstat_widgets (id, n) VALUES (?, ?)`), 1, 1); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO reaction_checkpoint (handler, position) VALUES (?, ?)`), "h", 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// One writing only an unranked table is named by it; a statement outside a transaction counts as one.
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE wstat_widgets SET n = n + 1 WHERE id = ?`), 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM wstat_widgets WHERE id = ?`), 2); err != nil {
			t.Fatal(err)
		}
		// A transaction that wrote nothing, and one rolled back.
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			var n int
			return tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM wstat_widgets`)
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO wstat_widgets (id, n) VALUES (?, ?)`), 3, 3); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		// A lazy transaction that issues nothing takes no connection and counts nothing.
		if _, err := db.InLazyTx(ctx, nil, func(tx *sqldb.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}

		got := writes(t, reg)
		for key, want := range map[string]float64{
			"reaction_checkpoint/commit": 1,
			"wstat_widgets/commit":       2,
			"wstat_widgets/rollback":     1,
			"none/commit":                1,
		} {
			if d := got[key] - before[key]; d != want {
				t.Errorf("writes %s = %v, want %v (all: %v)", key, d, want, got)
			}
		}
		var total float64
		for k, v := range got {
			total += v - before[k]
		}
		if total != 5 {
			t.Errorf("%v writes counted, want 5: %v", total, got)
		}
		if _, n := histogram(t, reg, "dossier_sqldb_writer_hold_seconds", "wstat_widgets"); n != 3 {
			t.Errorf("hold histogram of wstat_widgets: %d observations, want 3", n)
		}
		if _, n := histogram(t, reg, "dossier_sqldb_writer_wait_seconds", "none"); n != 1 {
			t.Errorf("wait histogram of none: %d observations, want 1", n)
		}
	})
}

// Callers queueing for the SQLite writer's one connection are timed: the wait histogram sees the time a
// transaction waited behind another's hold.
func TestWriterMetricsTimeTheWaitForTheWriter(t *testing.T) {
	db := sqldbtest.Target{Dialect: sqldb.SQLite, DSN: t.TempDir() + "/w.db"}.Open(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	if err := db.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE wstat_widgets (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const hold = 150 * time.Millisecond
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO wstat_widgets (id, n) VALUES (1, 1)`)
			close(holding)
			time.Sleep(hold)
			return err
		})
	}()
	<-holding
	if _, err := db.ExecContext(ctx, `INSERT INTO wstat_widgets (id, n) VALUES (2, 2)`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sum, count := histogram(t, reg, "dossier_sqldb_writer_wait_seconds", "wstat_widgets")
	if count != 2 || sum < (hold/2).Seconds() {
		t.Errorf("wait histogram: %d observations summing %.3fs, want 2 with one of about %v", count, sum, hold)
	}
	hsum, hcount := histogram(t, reg, "dossier_sqldb_writer_hold_seconds", "wstat_widgets")
	if hcount != 2 || hsum < hold.Seconds() {
		t.Errorf("hold histogram: %d observations summing %.3fs, want 2 with one of at least %v", hcount, hsum, hold)
	}
}

// writes returns dossier_sqldb_writes_total by "kind/outcome".
func writes(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "dossier_sqldb_writes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var kind, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "kind":
					kind = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			out[kind+"/"+outcome] = m.GetCounter().GetValue()
		}
	}
	return out
}

func histogram(t *testing.T, reg *prometheus.Registry, name, kind string) (sum float64, count uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && strings.EqualFold(l.GetValue(), kind) {
					return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0, 0
}
