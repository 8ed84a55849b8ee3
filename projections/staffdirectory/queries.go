package staffdirectory

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// MaxIDs is the most ids Names looks up in one query; a longer list is read in chunks of it.
const MaxIDs = 500

// Queries reads the live version of the projection, through its view. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// Names returns the display names of the staff members among ids, in one query (per MaxIDs ids), so that a page of
// cases or a timeline is named without a query per row. An id that names no staff account (a member, a staff
// member the projection has not reached yet) is absent from the map; nil ids and repeats are ignored.
func (q *Queries) Names(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != uuid.Nil {
			keys = append(keys, id.String())
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	out := make(map[uuid.UUID]string, len(keys))
	for chunk := range slices.Chunk(keys, MaxIDs) {
		query, args, err := sqlx.In("SELECT staff_id, name FROM "+Name+" WHERE staff_id IN (?)", chunk)
		if err != nil {
			return nil, fmt.Errorf("staffdirectory: names: %w", err)
		}
		var rows []struct {
			ID   string `db:"staff_id"`
			Name string `db:"name"`
		}
		if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("staffdirectory: names: %w", err)
		}
		for _, r := range rows {
			id, err := uuid.Parse(r.ID)
			if err != nil {
				return nil, fmt.Errorf("staffdirectory: names: staff id %q: %w", r.ID, err)
			}
			out[id] = r.Name
		}
	}
	return out, nil
}
