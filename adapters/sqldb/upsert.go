package sqldb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
)

// ErrInvalidIdentifier is returned when a table or column name given to a helper is not a plain SQL identifier.
var ErrInvalidIdentifier = errors.New("sqldb: invalid identifier")

// identifier admits unquoted names (optionally schema-qualified): quoting would make PostgreSQL case-sensitive and
// the helpers never take names from outside the program.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func checkIdentifiers(names ...string) error {
	for _, n := range names {
		if !identifier.MatchString(n) {
			return fmt.Errorf("%w: %q", ErrInvalidIdentifier, n)
		}
	}
	return nil
}

// Upsert describes an INSERT … ON CONFLICT (Key) DO UPDATE statement. Both dialects accept the same text, with
// excluded.<column> naming the value that failed to insert and the table name naming the existing row.
type Upsert struct {
	// Table receives the row.
	Table string
	// Columns are the inserted columns, in the order of the arguments.
	Columns []string
	// Key is the conflict target: the columns of the primary key or of a unique constraint.
	Key []string
	// Update lists the columns overwritten on conflict. nil means every column not in Key; an empty non-nil slice
	// means DO NOTHING.
	Update []string
	// Where, if set, guards the update with a condition on the existing row and excluded, e.g.
	// "members.revision < excluded.revision": a replayed or older event then changes nothing.
	Where string
}

// ConflictClause returns the "ON CONFLICT (…) DO …" part alone, for BulkInsert.
func (u Upsert) ConflictClause() (string, error) {
	if len(u.Key) == 0 {
		return "", errors.New("sqldb: upsert needs a conflict key")
	}
	if err := checkIdentifiers(u.Key...); err != nil {
		return "", err
	}
	update := u.Update
	if update == nil {
		for _, c := range u.Columns {
			if !slices.Contains(u.Key, c) {
				update = append(update, c)
			}
		}
	}
	if err := checkIdentifiers(update...); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("ON CONFLICT (")
	b.WriteString(strings.Join(u.Key, ", "))
	b.WriteString(") ")
	if len(update) == 0 {
		b.WriteString("DO NOTHING")
		return b.String(), nil
	}
	b.WriteString("DO UPDATE SET ")
	for i, c := range update {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
		b.WriteString(" = excluded.")
		b.WriteString(c)
	}
	if u.Where != "" {
		b.WriteString(" WHERE ")
		b.WriteString(u.Where)
	}
	return b.String(), nil
}

// SQL returns the single-row statement with the dialect's placeholders, one per column in Columns order.
func (u Upsert) SQL(d Dialect) (string, error) {
	if err := checkIdentifiers(u.Table); err != nil {
		return "", err
	}
	if len(u.Columns) == 0 {
		return "", errors.New("sqldb: upsert needs columns")
	}
	if err := checkIdentifiers(u.Columns...); err != nil {
		return "", err
	}
	clause, err := u.ConflictClause()
	if err != nil {
		return "", err
	}
	q := "INSERT INTO " + u.Table + " (" + strings.Join(u.Columns, ", ") + ") VALUES (" +
		placeholders(len(u.Columns)) + ") " + clause
	return rebind(d, q), nil
}

// Exec runs the upsert for one row. The statement's text is built once per distinct Upsert and dialect (a fold
// runs the same Upsert for every row of every batch: building and checking it each time cost more than executing it
// on SQLite).
func (u Upsert) Exec(ctx context.Context, ex Execer, args ...any) error {
	if len(args) != len(u.Columns) {
		return fmt.Errorf("sqldb: upsert into %s: %d arguments for %d columns", u.Table, len(args), len(u.Columns))
	}
	q, err := u.cachedSQL(ex.Dialect())
	if err != nil {
		return err
	}
	if _, err := ex.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("sqldb: upsert into %s: %w", u.Table, err)
	}
	return nil
}

// Bind-parameter limits: SQLite since 3.32 admits 32766, PostgreSQL 65535. Rows per statement are also capped so a
// single statement stays a reasonable size.
const (
	maxParamsSQLite   = 32766
	maxParamsPostgres = 65535
	maxRowsPerInsert  = 1000
)

// BulkInsert inserts rows with multi-row INSERT statements, as many rows per statement as the dialect's
// bind-parameter limit allows, and returns the number of rows affected. onConflict, if not empty, is appended to
// every statement (see Upsert.ConflictClause). On PostgreSQL a statement may not update the same key twice
// ("ON CONFLICT DO UPDATE command cannot affect row a second time"): keep one row per key in a call. Run it in a
// transaction to make the whole insert atomic.
func BulkInsert(ctx context.Context, ex Execer, table string, columns []string, rows [][]any, onConflict string) (int64, error) {
	if err := checkIdentifiers(table); err != nil {
		return 0, err
	}
	if len(columns) == 0 {
		return 0, errors.New("sqldb: bulk insert needs columns")
	}
	if err := checkIdentifiers(columns...); err != nil {
		return 0, err
	}
	maxParams := maxParamsSQLite
	if ex.Dialect() == Postgres {
		maxParams = maxParamsPostgres
	}
	perStmt := min(maxRowsPerInsert, maxParams/len(columns))
	if perStmt < 1 {
		return 0, fmt.Errorf("sqldb: bulk insert into %s: %d columns exceed the parameter limit", table, len(columns))
	}
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	tuple := "(" + placeholders(len(columns)) + ")"
	var total int64
	for start := 0; start < len(rows); start += perStmt {
		chunk := rows[start:min(start+perStmt, len(rows))]
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*len(columns))
		for i, r := range chunk {
			if len(r) != len(columns) {
				return total, fmt.Errorf("sqldb: bulk insert into %s: row %d has %d values for %d columns",
					table, start+i, len(r), len(columns))
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if onConflict != "" {
			b.WriteString(" ")
			b.WriteString(onConflict)
		}
		res, err := ex.ExecContext(ctx, rebind(ex.Dialect(), b.String()), args...)
		if err != nil {
			return total, fmt.Errorf("sqldb: bulk insert into %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqldb: bulk insert into %s: rows affected: %w", table, err)
		}
		total += n
	}
	return total, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// rebind turns '?' placeholders into the dialect's own, as sqlx's Rebind does on a DB or Tx.
func rebind(d Dialect, q string) string {
	if d != Postgres {
		return q
	}
	return sqlx.Rebind(sqlx.DOLLAR, q)
}

// upsertSQL holds the text of every Upsert executed so far, by cacheKey (a program has a fixed set of them).
var upsertSQL sync.Map

// cachedSQL is SQL, remembered by the Upsert's fields and the dialect. Invalid Upserts are not remembered.
func (u Upsert) cachedSQL(d Dialect) (string, error) {
	key := u.cacheKey(d)
	if q, ok := upsertSQL.Load(key); ok {
		return q.(string), nil
	}
	q, err := u.SQL(d)
	if err != nil {
		return "", err
	}
	upsertSQL.Store(key, q)
	return q, nil
}

// cacheKey names everything SQL depends on; a nil Update (every column not in Key) and an empty one (DO NOTHING)
// differ.
func (u Upsert) cacheKey(d Dialect) string {
	update := "\x00nil"
	if u.Update != nil {
		update = strings.Join(u.Update, ",")
	}
	return strings.Join([]string{string(d), u.Table, strings.Join(u.Columns, ","), strings.Join(u.Key, ","), update, u.Where}, "\x01")
}
