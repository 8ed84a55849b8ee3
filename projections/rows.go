package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

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

// BatchFold folds a batch into one state per stream, like StreamFold, for a projection that writes its rows back
// in bulk: the states of every stream the batch touches are read at once (LoadAll, typically with SelectIn), and
// Apply returns the states Fold changed, in the order their streams first came, for the caller to write together.
type BatchFold[S any] struct {
	// Keep selects the events to fold; the others are skipped.
	Keep func(event.Envelope) bool
	// LoadAll reads the stored states of ids (stream ids), by id; an id it does not return starts from New().
	LoadAll func(ids []uuid.UUID) (map[uuid.UUID]S, error)
	New     func() S
	// Fold folds an event into its stream's state; it skips an event the state holds already (a replay).
	Fold func(S, event.Envelope) error
	// Changed reports whether a state must be written back.
	Changed func(S) bool
}

// Apply folds the kept events of batch in order and returns the changed states. It stops at the first error.
func (f BatchFold[S]) Apply(batch []event.Envelope) ([]S, error) {
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, e := range batch {
		if f.Keep(e) && !seen[e.Stream.ID] {
			seen[e.Stream.ID] = true
			ids = append(ids, e.Stream.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	stored, err := f.LoadAll(ids)
	if err != nil {
		return nil, err
	}
	var changed []S
	err = StreamFold[S]{
		Keep: f.Keep,
		Load: func(s event.StreamID) (S, error) {
			if st, ok := stored[s.ID]; ok {
				return st, nil
			}
			return f.New(), nil
		},
		Fold: f.Fold,
		Write: func(st S) error {
			if f.Changed(st) {
				changed = append(changed, st)
			}
			return nil
		},
	}.Apply(batch)
	return changed, err
}

// LoadByID reads the rows of table whose key column is one of ids (with SelectIn, inside tx) and turns each into a
// state with load, which returns the row's id too: the LoadAll of a BatchFold over a table keyed by stream id.
func LoadByID[R, S any](ctx context.Context, tx *sqldb.Tx, table, key string, ids []uuid.UUID,
	load func(R) (uuid.UUID, S, error)) (map[uuid.UUID]S, error) {
	rows, err := SelectIn[R](ctx, tx, "SELECT * FROM "+table+" WHERE "+key+" IN", ids)
	if err != nil {
		return nil, fmt.Errorf("read %d rows of %s: %w", len(ids), table, err)
	}
	out := make(map[uuid.UUID]S, len(rows))
	for _, r := range rows {
		id, st, err := load(r)
		if err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, nil
}

// selectInChunk is the most ids SelectIn binds in one statement.
const selectInChunk = 500

// SelectIn runs query, whose last condition is "<column> IN" and ends there (SelectIn appends the list), for ids in
// chunks, and returns every row, inside tx.
func SelectIn[R any](ctx context.Context, tx *sqldb.Tx, query string, ids []uuid.UUID) ([]R, error) {
	var out []R
	for chunk := range slices.Chunk(ids, selectInChunk) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id.String()
		}
		var rows []R
		q := query + " (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
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
