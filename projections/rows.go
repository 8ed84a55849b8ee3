package projections

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"

	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// EmbeddedMigrations returns the "migrations" directory of fsys (a projection's embedded files), for
// Projection.Migrations. It panics if the directory cannot be opened: the embedded directory is part of the binary.
func EmbeddedMigrations(fsys fs.FS) fs.FS {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// StreamFold folds a batch into one state per stream, for a projection that keeps a row per stream and reads it
// before changing it; a Projection's Apply runs it over its batch.
type StreamFold[S any] struct {
	// Keep selects the events to fold; the others are skipped.
	Keep func(event.Envelope) bool
	// Load reads the state of a stream, once per batch: at the stream's first kept event.
	Load func(event.StreamID) (S, error)
	// Fold folds an event into its stream's state; it skips an event the state holds already (a replay).
	Fold func(S, event.Envelope) error
	// Write stores a stream's state once the batch is folded.
	Write func(S) error
}

// Apply folds the kept events of batch, in order, then writes the states in the order their streams first came.
// It stops at the first error.
func (f StreamFold[S]) Apply(batch []event.Envelope) error {
	states := map[event.StreamID]S{}
	var order []S
	for _, e := range batch {
		if !f.Keep(e) {
			continue
		}
		s, ok := states[e.Stream]
		if !ok {
			var err error
			if s, err = f.Load(e.Stream); err != nil {
				return err
			}
			states[e.Stream] = s
			order = append(order, s)
		}
		if err := f.Fold(s, e); err != nil {
			return err
		}
	}
	for _, s := range order {
		if err := f.Write(s); err != nil {
			return err
		}
	}
	return nil
}

// GetRow reads into dest the row of table whose key column equals value, inside tx; found is false, with no error,
// when there is none.
func GetRow(ctx context.Context, tx *sqldb.Tx, dest any, table, key string, value any) (found bool, err error) {
	err = sqlx.GetContext(ctx, tx, dest, tx.Rebind("SELECT * FROM "+table+" WHERE "+key+" = ?"), value)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
