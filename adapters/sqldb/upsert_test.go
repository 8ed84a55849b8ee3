package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

const memberID = "7d444840-9dc0-11d1-b245-5ffdce74fad2"

func memberUpsert() sqldb.Upsert {
	return sqldb.Upsert{
		Table:   "members",
		Columns: []string{"id", "name", "revision"},
		Key:     []string{"id"},
		Where:   "members.revision < excluded.revision",
	}
}

func TestUpsertSQLIsTheSameOnBothDialectsButPlaceholders(t *testing.T) {
	sqlite, err := memberUpsert().SQL(sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	want := "INSERT INTO members (id, name, revision) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET " +
		"name = excluded.name, revision = excluded.revision WHERE members.revision < excluded.revision"
	if sqlite != want {
		t.Errorf("SQLite SQL:\n%s\nwant\n%s", sqlite, want)
	}
	pg, err := memberUpsert().SQL(sqldb.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if pg != strings.Replace(strings.Replace(strings.Replace(want, "?", "$1", 1), "?", "$2", 1), "?", "$3", 1) {
		t.Errorf("PostgreSQL SQL: %s", pg)
	}
	bad := memberUpsert()
	bad.Columns = []string{"id", "name; DROP TABLE members"}
	if _, err := bad.SQL(sqldb.SQLite); !errors.Is(err, sqldb.ErrInvalidIdentifier) {
		t.Errorf("bad column: err = %v, want ErrInvalidIdentifier", err)
	}
	if _, err := (sqldb.Upsert{Table: "t", Columns: []string{"a"}}).SQL(sqldb.SQLite); err == nil {
		t.Error("upsert without key accepted")
	}
}

func TestUpsertWithRevisionGuardIgnoresReplays(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE members (id TEXT PRIMARY KEY, name TEXT NOT NULL, revision BIGINT NOT NULL)")
		u := memberUpsert()
		steps := []struct {
			name     string
			revision int64
			wantName string
		}{
			{"Ada", 0, "Ada"},     // insert
			{"Grace", 1, "Grace"}, // newer revision: update
			{"Ada", 0, "Grace"},   // replayed older event: no change
			{"Hedy", 1, "Grace"},  // same revision again: no change
			{"Hedy", 2, "Hedy"},
		}
		for i, s := range steps {
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				return u.Exec(ctx, tx, memberID, s.name, s.revision)
			}); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			var got string
			if err := db.GetContext(ctx, &got, db.Rebind("SELECT name FROM members WHERE id = ?"), memberID); err != nil {
				t.Fatal(err)
			}
			if got != s.wantName {
				t.Fatalf("step %d: name = %q, want %q", i, got, s.wantName)
			}
		}
		if n := count(t, db, "members"); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
		if err := u.Exec(ctx, db, memberID, "too few"); err == nil {
			t.Error("Exec with missing arguments accepted")
		}
	})
}

func TestUpsertDoNothing(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE seen (event_id TEXT PRIMARY KEY, handler TEXT NOT NULL)")
		u := sqldb.Upsert{Table: "seen", Columns: []string{"event_id", "handler"}, Key: []string{"event_id"}, Update: []string{}}
		for range 2 {
			if err := u.Exec(ctx, db, memberID, "mail"); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, db, "seen"); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

func TestBulkInsertSplitsStatementsAndAppliesTheConflictClause(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE lines (id BIGINT PRIMARY KEY, label TEXT NOT NULL, revision BIGINT NOT NULL)")
		const n = 2345 // more than one statement's worth
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{int64(i), fmt.Sprintf("line %d", i), int64(1)}
		}
		cols := []string{"id", "label", "revision"}
		var inserted int64
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			inserted, err = sqldb.BulkInsert(ctx, tx, "lines", cols, rows, "")
			return err
		})
		if err != nil || inserted != n {
			t.Fatalf("BulkInsert = %d, %v; want %d", inserted, err, n)
		}

		clause, err := sqldb.Upsert{Table: "lines", Columns: cols, Key: []string{"id"},
			Where: "lines.revision < excluded.revision"}.ConflictClause()
		if err != nil {
			t.Fatal(err)
		}
		// Replaying the same revision changes nothing; a newer revision of two rows changes exactly those.
		if got, err := sqldb.BulkInsert(ctx, db, "lines", cols, rows[:10], clause); err != nil || got != 0 {
			t.Fatalf("replay affected %d rows, %v; want 0", got, err)
		}
		newer := [][]any{{int64(3), "changed", int64(2)}, {int64(7), "changed", int64(2)}}
		if got, err := sqldb.BulkInsert(ctx, db, "lines", cols, newer, clause); err != nil || got != 2 {
			t.Fatalf("update affected %d rows, %v; want 2", got, err)
		}
		var changed int
		if err := db.GetContext(ctx, &changed, "SELECT COUNT(*) FROM lines WHERE label = 'changed'"); err != nil || changed != 2 {
			t.Fatalf("changed rows = %d, %v", changed, err)
		}
		if n := count(t, db, "lines"); n != 2345 {
			t.Fatalf("rows = %d", n)
		}
		if _, err := sqldb.BulkInsert(ctx, db, "lines", cols, [][]any{{int64(1)}}, ""); err == nil {
			t.Error("short row accepted")
		}
	})
}

// TestUpsertExecTellsApartUpsertsThatDifferInOneField: Exec remembers each statement's text; Upserts on the same
// table that differ only by Update (nil: every column, empty: nothing), by Where or by the dialect each run their own.
func TestUpsertExecTellsApartUpsertsThatDifferInOneField(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE members (id TEXT PRIMARY KEY, name TEXT NOT NULL, revision BIGINT NOT NULL)")
		name := func() string {
			var got string
			if err := db.GetContext(ctx, &got, db.Rebind("SELECT name FROM members WHERE id = ?"), memberID); err != nil {
				t.Fatal(err)
			}
			return got
		}
		every := sqldb.Upsert{Table: "members", Columns: []string{"id", "name", "revision"}, Key: []string{"id"}}
		nothing, guarded := every, every
		nothing.Update = []string{}
		guarded.Where = "members.revision < excluded.revision"
		for i, s := range []struct {
			u        sqldb.Upsert
			name     string
			revision int64
			want     string
		}{
			{every, "Ada", 5, "Ada"},
			{nothing, "Grace", 6, "Ada"},  // DO NOTHING
			{guarded, "Hedy", 4, "Ada"},   // older revision: guarded out
			{every, "Joan", 1, "Joan"},    // unguarded: overwrites
			{nothing, "Grace", 9, "Joan"}, // still DO NOTHING after the others ran
			{guarded, "Hedy", 2, "Hedy"},
		} {
			if err := s.u.Exec(ctx, db, memberID, s.name, s.revision); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got := name(); got != s.want {
				t.Fatalf("step %d: name = %q, want %q", i, got, s.want)
			}
		}
	})
}
