package sqldb_test

import (
	"context"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// The statement cache (stmtcache.go) prepares a statement once per connection and text, then only binds it: each
// query still gets its own arguments' answer, inside a transaction and out, and the same text run again while
// the first rows are open does not disturb them.
func TestStatementCache(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE stmtcache_t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"zero", "one", "two", "three"} {
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO stmtcache_t (id, name) VALUES (?, ?)`), i, name); err != nil {
				t.Fatal(err)
			}
		}
		byID := db.Rebind(`SELECT name FROM stmtcache_t WHERE id = ?`)
		before := db.StatementCacheStats()
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for round := range 3 {
				for i, want := range []string{"zero", "one", "two", "three"} {
					var got string
					if err := tx.GetContext(ctx, &got, byID, i); err != nil {
						return err
					}
					if got != want {
						t.Errorf("round %d: name of %d = %q, want %q", round, i, got, want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		after := db.StatementCacheStats()
		if p, h := after.Prepares-before.Prepares, after.Hits-before.Hits; p != 1 || h != 11 {
			t.Errorf("12 queries of one text in a transaction: %d prepared, %d hits; want 1 and 11", p, h)
		}

		// Outside a transaction, on the pools: the right answers whatever connection serves them.
		for _, pool := range []interface {
			GetContext(context.Context, any, string, ...any) error
		}{db, db.Reader()} {
			for i, want := range []string{"zero", "one", "two", "three", "one"} {
				var got string
				if err := pool.GetContext(ctx, &got, byID, []int{0, 1, 2, 3, 1}[i]); err != nil || got != want {
					t.Errorf("query %d = %q, %v; want %q", i, got, err, want)
				}
			}
		}

		if db.Dialect() != sqldb.SQLite {
			return // lib/pq reads one result at a time on a connection: nothing to nest
		}
		// The same text again while its first rows are open, on one connection (the writer's transaction).
		all := `SELECT id, name FROM stmtcache_t WHERE id >= ? ORDER BY id`
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			outer, err := tx.QueryxContext(ctx, all, 0)
			if err != nil {
				return err
			}
			defer outer.Close()
			var ids []int
			for outer.Next() {
				var id int
				var name string
				if err := outer.Scan(&id, &name); err != nil {
					return err
				}
				ids = append(ids, id)
				var inner []string
				if err := tx.SelectContext(ctx, &inner, `SELECT name FROM stmtcache_t WHERE id >= ? ORDER BY id`, 3); err != nil {
					return err
				}
				if len(inner) != 1 || inner[0] != "three" {
					t.Errorf("inner query while the outer rows are open = %v, want [three]", inner)
				}
				var n int
				if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM stmtcache_t WHERE id >= ?`, 2); err != nil || n != 2 {
					t.Errorf("count = %d, %v; want 2", n, err)
				}
				var again []int
				if err := tx.SelectContext(ctx, &again, `SELECT id FROM stmtcache_t WHERE id >= ? ORDER BY id`, 2); err != nil {
					return err
				}
				if len(again) != 2 {
					t.Errorf("ids >= 2 = %v", again)
				}
			}
			if err := outer.Err(); err != nil {
				return err
			}
			if len(ids) != 4 {
				t.Errorf("outer rows = %v, want the 4 ids: a nested query of the same text disturbed them", ids)
			}
			// The very same text nested: it must run beside the open rows, not on their statement.
			outer2, err := tx.QueryxContext(ctx, all, 0)
			if err != nil {
				return err
			}
			defer outer2.Close()
			n := 0
			for outer2.Next() {
				n++
				inner, err := tx.QueryxContext(ctx, all, 3)
				if err != nil {
					return err
				}
				m := 0
				for inner.Next() {
					m++
				}
				_ = inner.Close()
				if m != 1 {
					t.Errorf("same text nested: %d rows, want 1", m)
				}
			}
			if n != 4 {
				t.Errorf("same text, outer rows: %d, want 4 (the nested query reset their statement)", n)
			}
			return outer2.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A cached statement over a view that is replaced with other columns: SQLite prepares it again by itself;
// PostgreSQL refuses the cached plan (0A000), and the cache drops it and runs the query again (outside a
// transaction), so the caller sees the new view at once. A projection's version switch replaces its views so.
func TestStatementCacheAfterSchemaChange(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`CREATE TABLE stmtcache_a (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`,
			`INSERT INTO stmtcache_a (id, name) VALUES (1, 'a')`,
			`CREATE VIEW stmtcache_v AS SELECT id, name FROM stmtcache_a`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		q := db.Rebind(`SELECT * FROM stmtcache_v WHERE id = ?`)
		// Warm every connection of the pool that may serve the query.
		for range 3 {
			rows, err := db.QueryxContext(ctx, q, 1)
			if err != nil {
				t.Fatal(err)
			}
			_ = rows.Close()
		}
		for _, stmt := range []string{`DROP VIEW stmtcache_v`, `CREATE VIEW stmtcache_v AS SELECT id, name, 'x' AS extra FROM stmtcache_a`} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			rows, err := db.QueryxContext(ctx, q, 1)
			if err != nil {
				t.Fatalf("query %d after the view changed: %v", i, err)
			}
			cols, err := rows.Columns()
			_ = rows.Close()
			if err != nil || len(cols) != 3 {
				t.Errorf("query %d after the view changed: columns %v, %v; want 3", i, cols, err)
			}
		}
	})
}
