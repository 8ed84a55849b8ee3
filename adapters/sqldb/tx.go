package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Tx is a transaction on a DB, with its dialect so that helpers given a Tx can build their SQL. It offers only the
// methods below (those of Execer and sqlx's common query helpers): the *sqlx.Tx is not embedded, because a Tx of
// InLazyTx begins its transaction at its first statement and every method must begin it first.
type Tx struct {
	stx     *sqlx.Tx // nil until a lazy Tx begins
	dialect Dialect
	lazy    *lazyBegin // nil: begun by InTx
}

// lazyBegin is how a lazy Tx begins.
type lazyBegin struct {
	db      *DB
	onBegin func(ctx context.Context, tx *Tx) error
	err     error // why it could not begin
}

// Dialect tells which database the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Execer is what the SQL helpers run on: a *DB or a *Tx.
type Execer interface {
	sqlx.ExtContext
	Dialect() Dialect
}

var (
	_ Execer = (*DB)(nil)
	_ Execer = (*Tx)(nil)
)

// InTx runs fn in a transaction on the writer and commits it if fn returns nil. If fn returns an error or panics, the
// transaction is rolled back (and the panic goes on). A failed commit is returned, wrapped: the caller must not assume
// its writes happened. fn must use tx, never db: on SQLite the writer's only connection is the transaction's.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := db.BeginTxx(db.requested(ctx), nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// Runs on error and on panic alike; on panic the deferred call does not recover, so the panic continues
		// once the connection is clean.
		if rbErr := stx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("sqldb: rollback: %w", rbErr))
		}
	}()
	if err := fn(&Tx{stx: stx, dialect: db.dialect}); err != nil {
		return err
	}
	committed = true
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}

// InLazyTx is InTx with a transaction that begins only at the first statement fn issues through tx (onBegin, if not
// nil, then runs first in it: SET LOCAL and the like). A fn that issues none takes no connection at all: on SQLite,
// it does not queue for the writer. It reports whether the transaction began (and so was committed or rolled back).
func (db *DB) InLazyTx(ctx context.Context, onBegin func(ctx context.Context, tx *Tx) error, fn func(tx *Tx) error) (began bool, err error) {
	tx := &Tx{dialect: db.dialect, lazy: &lazyBegin{db: db, onBegin: onBegin}}
	ended := false
	defer func() {
		if tx.stx == nil || ended {
			return
		}
		// fn failed or panicked; on panic the deferred call does not recover, so the panic continues once the
		// connection is clean.
		if rbErr := tx.stx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("sqldb: rollback: %w", rbErr))
		}
	}()
	err = fn(tx)
	if tx.lazy.err != nil {
		err = errors.Join(err, tx.lazy.err)
	}
	if err != nil || tx.stx == nil {
		return tx.stx != nil, err
	}
	ended = true
	if cerr := tx.stx.Commit(); cerr != nil {
		return true, fmt.Errorf("sqldb: commit: %w", cerr)
	}
	return true, nil
}

// Began reports whether the transaction has begun (always true for a Tx of InTx).
func (tx *Tx) Began() bool { return tx.stx != nil }

// begin begins a lazy Tx's transaction if it has not begun yet.
func (tx *Tx) begin(ctx context.Context) error {
	if tx.stx != nil {
		return nil
	}
	if tx.lazy == nil || tx.lazy.err != nil {
		if tx.lazy != nil {
			return tx.lazy.err
		}
		return errors.New("sqldb: transaction not begun")
	}
	stx, err := tx.lazy.db.BeginTxx(tx.lazy.db.requested(ctx), nil)
	if err != nil {
		tx.lazy.err = fmt.Errorf("sqldb: begin: %w", err)
		return tx.lazy.err
	}
	tx.stx = stx
	if tx.lazy.onBegin != nil {
		if err := tx.lazy.onBegin(ctx, tx); err != nil {
			tx.lazy.err = err
			return err
		}
	}
	return nil
}

// failed returns a context that has ended with the begin error, for the methods that return no error of their own
// (a query on it fails at once, without a connection).
func failed(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return ctx
}

// DriverName is the driver's name (no statement: it does not begin a lazy Tx).
func (tx *Tx) DriverName() string {
	if tx.stx == nil {
		return tx.lazy.db.DriverName()
	}
	return tx.stx.DriverName()
}

// Rebind turns '?' placeholders into the dialect's (no statement: it does not begin a lazy Tx).
func (tx *Tx) Rebind(query string) string { return sqlx.Rebind(sqlx.BindType(tx.DriverName()), query) }

// BindNamed binds named parameters (no statement: it does not begin a lazy Tx).
func (tx *Tx) BindNamed(query string, arg any) (string, []any, error) {
	return sqlx.BindNamed(sqlx.BindType(tx.DriverName()), query, arg)
}

// ExecContext runs a statement, beginning a lazy Tx first.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query, beginning a lazy Tx first.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.QueryContext(ctx, query, args...)
}

// QueryxContext runs a query, beginning a lazy Tx first.
func (tx *Tx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.QueryxContext(ctx, query, args...)
}

// QueryRowxContext runs a query of one row, beginning a lazy Tx first (if it cannot begin, the row's error is a
// context error and InLazyTx returns the begin error).
func (tx *Tx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if err := tx.begin(ctx); err != nil {
		return tx.lazy.db.reader.QueryRowxContext(failed(ctx), query, args...)
	}
	return tx.stx.QueryRowxContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row, beginning a lazy Tx first (see QueryRowxContext).
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := tx.begin(ctx); err != nil {
		return tx.lazy.db.reader.QueryRowContext(failed(ctx), query, args...)
	}
	return tx.stx.QueryRowContext(ctx, query, args...)
}

// GetContext reads one row into dest, beginning a lazy Tx first.
func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	if err := tx.begin(ctx); err != nil {
		return err
	}
	return tx.stx.GetContext(ctx, dest, query, args...)
}

// SelectContext reads rows into dest, beginning a lazy Tx first.
func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	if err := tx.begin(ctx); err != nil {
		return err
	}
	return tx.stx.SelectContext(ctx, dest, query, args...)
}

// NamedExecContext runs a statement with named parameters, beginning a lazy Tx first.
func (tx *Tx) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.NamedExecContext(ctx, query, arg)
}

// PrepareContext prepares a statement, beginning a lazy Tx first.
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.PrepareContext(ctx, query)
}

// PreparexContext prepares a statement, beginning a lazy Tx first.
func (tx *Tx) PreparexContext(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if err := tx.begin(ctx); err != nil {
		return nil, err
	}
	return tx.stx.PreparexContext(ctx, query)
}
