// Package blobrefs answers the blob sweeper's question (blobstore.Referenced) from a read model's table: which of
// these blob keys does a recorded event still reference. The read models of deposits, inbox documents and
// conversation attachments each keep their keys in a blob_key column and ask it here.
package blobrefs

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// In reports which of keys stand in the blob_key column of table (no key: an empty map, no query).
func In(ctx context.Context, db *sqlx.DB, table string, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In("SELECT blob_key FROM "+table+" WHERE blob_key IN (?)", keys)
	if err != nil {
		return nil, err
	}
	var found []string
	if err := sqlx.SelectContext(ctx, db, &found, db.Rebind(query), args...); err != nil {
		return nil, err
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
