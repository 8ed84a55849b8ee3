package sqldb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

func TestParseDialect(t *testing.T) {
	for in, want := range map[string]sqldb.Dialect{"sqlite": sqldb.SQLite, "postgres": sqldb.Postgres, "PostgreSQL": sqldb.Postgres} {
		got, err := sqldb.ParseDialect(in)
		if err != nil || got != want {
			t.Errorf("ParseDialect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := sqldb.ParseDialect("mysql"); !errors.Is(err, sqldb.ErrUnknownDialect) {
		t.Errorf("ParseDialect(mysql) err = %v, want ErrUnknownDialect", err)
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := sqldb.Open(ctx, "oracle", "x", sqldb.Options{}); !errors.Is(err, sqldb.ErrUnknownDialect) {
		t.Errorf("unknown dialect: err = %v", err)
	}
	if _, err := sqldb.Open(ctx, sqldb.SQLite, ":memory:", sqldb.Options{}); err == nil {
		t.Error("SQLite :memory: accepted, want an error (the reader pool would see another database)")
	}
	// Port 1 on loopback refuses at once: Open must report it rather than hand out a dead pool.
	if _, err := sqldb.Open(ctx, sqldb.Postgres, "postgres://u@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", sqldb.Options{}); err == nil {
		t.Error("unreachable PostgreSQL accepted")
	}
}

func TestOpenConfiguresTheConnection(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var one int
		if err := db.GetContext(ctx, &one, "SELECT 1"); err != nil || one != 1 {
			t.Fatalf("SELECT 1 = %d, %v", one, err)
		}
		if err := db.Reader().GetContext(ctx, &one, "SELECT 1"); err != nil || one != 1 {
			t.Fatalf("reader SELECT 1 = %d, %v", one, err)
		}
		if db.Dialect() != sqldb.SQLite {
			return
		}
		if got := db.Stats().MaxOpenConnections; got != 1 {
			t.Errorf("SQLite writer pool allows %d connections, want 1", got)
		}
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1",
		} {
			var got string
			if err := db.GetContext(ctx, &got, "PRAGMA "+pragma); err != nil || got != want {
				t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
			}
		}
	})
}

func TestConcurrentWritersAndReadersNeverHitBusy(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE hits (id BIGINT PRIMARY KEY, writer INTEGER NOT NULL)")
		const writers, perWriter = 6, 40
		var wg sync.WaitGroup
		errs := make(chan error, writers*perWriter*2)
		stopReading := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					err := db.InTx(ctx, func(tx *sqldb.Tx) error {
						var n int
						if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM hits"); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO hits (id, writer) VALUES (?, ?)"), w*1000+i, w)
						return err
					})
					if err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
					}
				}
			}()
		}
		var readers sync.WaitGroup
		for range 3 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stopReading:
						return
					default:
					}
					var n int
					if err := db.Reader().GetContext(ctx, &n, "SELECT COUNT(*) FROM hits"); err != nil {
						errs <- fmt.Errorf("reader: %w", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stopReading)
		readers.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var n int
		if err := db.GetContext(ctx, &n, "SELECT COUNT(*) FROM hits"); err != nil || n != writers*perWriter {
			t.Fatalf("rows = %d, %v; want %d", n, err, writers*perWriter)
		}
	})
}

func TestReaderSeesCommittedWritesAndCannotWriteOnSQLite(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
		mustExec(t, db, "INSERT INTO notes (id, body) VALUES (1, 'a')")
		var body string
		if err := db.Reader().GetContext(ctx, &body, "SELECT body FROM notes WHERE id = 1"); err != nil || body != "a" {
			t.Fatalf("reader body = %q, %v", body, err)
		}
		if db.Dialect() == sqldb.SQLite {
			if _, err := db.Reader().ExecContext(ctx, "INSERT INTO notes (id, body) VALUES (2, 'b')"); err == nil {
				t.Error("write through the SQLite reader succeeded, want a read-only error")
			}
		}
	})
}

func TestInTxCommits(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY)")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if tx.Dialect() != db.Dialect() {
				t.Errorf("tx dialect %q, db dialect %q", tx.Dialect(), db.Dialect())
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO items (id) VALUES (1)")
			return err
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if n := count(t, db, "items"); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

func TestInTxRollsBackWhenFnFails(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY)")
		errRule := errors.New("rule broken")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO items (id) VALUES (1)"); err != nil {
				return err
			}
			return fmt.Errorf("deciding: %w", errRule)
		})
		if !errors.Is(err, errRule) {
			t.Fatalf("InTx err = %v, want it to wrap the fn's error", err)
		}
		if n := count(t, db, "items"); n != 0 {
			t.Fatalf("rows after rollback = %d, want 0", n)
		}
		// The connection is clean: the next transaction works (on SQLite it is the same, only connection).
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO items (id) VALUES (2)")
			return err
		}); err != nil {
			t.Fatalf("next InTx: %v", err)
		}
		if n := count(t, db, "items"); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

func TestInTxRollsBackAndRepanicsWhenFnPanics(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY)")
		recovered := func() (r any) {
			defer func() { r = recover() }()
			_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO items (id) VALUES (1)"); err != nil {
					t.Errorf("insert: %v", err)
				}
				panic("boom")
			})
			return nil
		}()
		if recovered != "boom" {
			t.Fatalf("recovered %v, want the fn's panic to go on", recovered)
		}
		if n := count(t, db, "items"); n != 0 {
			t.Fatalf("rows after panic = %d, want 0", n)
		}
	})
}

func TestInTxReportsAFailedCommit(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// A deferred foreign key is checked at COMMIT, on both dialects: the commit itself fails.
		mustExec(t, db, "CREATE TABLE parents (id BIGINT PRIMARY KEY)")
		mustExec(t, db, `CREATE TABLE children (id BIGINT PRIMARY KEY,
			parent_id BIGINT NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)`)
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO children (id, parent_id) VALUES (1, 42)")
			return err
		})
		if err == nil {
			t.Fatal("InTx returned nil although the commit violated a foreign key")
		}
		if n := count(t, db, "children"); n != 0 {
			t.Fatalf("rows after failed commit = %d, want 0", n)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO parents (id) VALUES (42)"); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO children (id, parent_id) VALUES (1, 42)")
			return err
		}); err != nil {
			t.Fatalf("InTx after a failed commit: %v", err)
		}
	})
}

func TestPortableColumnTypesRoundTrip(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, `CREATE TABLE portable (
			id BIGINT PRIMARY KEY, label TEXT NOT NULL, active BOOLEAN NOT NULL, ratio DOUBLE PRECISION NOT NULL,
			payload BYTEA NOT NULL, at TIMESTAMP NOT NULL, note TEXT)`)
		at := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))
		payload := []byte{0, 1, 2, 0xff, 'x'}
		if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO portable (id, label, active, ratio, payload, at, note)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), int64(1)<<40, "été", true, 0.25, payload, at.UTC(), nil); err != nil {
			t.Fatalf("insert: %v", err)
		}
		var row struct {
			ID      int64     `db:"id"`
			Label   string    `db:"label"`
			Active  bool      `db:"active"`
			Ratio   float64   `db:"ratio"`
			Payload []byte    `db:"payload"`
			At      time.Time `db:"at"`
			Note    *string   `db:"note"`
		}
		if err := db.Reader().GetContext(ctx, &row, "SELECT * FROM portable"); err != nil {
			t.Fatalf("select: %v", err)
		}
		if row.ID != 1<<40 || row.Label != "été" || !row.Active || row.Ratio != 0.25 ||
			!bytes.Equal(row.Payload, payload) || !row.At.Equal(at) || row.Note != nil {
			t.Fatalf("round trip gave %+v (at %v), want the values written (at %v)", row, row.At, at)
		}
	})
}

func mustExec(t *testing.T, db *sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
