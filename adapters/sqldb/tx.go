package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Tx is a transaction on a DB: the embedded *sqlx.Tx plus the dialect, so helpers given a Tx can build their SQL.
type Tx struct {
	*sqlx.Tx
	dialect Dialect
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
	stx, err := db.BeginTxx(ctx, nil)
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
	if err := fn(&Tx{Tx: stx, dialect: db.dialect}); err != nil {
		return err
	}
	committed = true
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}
