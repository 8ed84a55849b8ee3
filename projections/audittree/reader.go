package audittree

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/sumdb/tlog"
)

// reader reads stored hashes from a hashes table, those of the batch being written first (pending).
type reader struct {
	ctx     context.Context
	q       sqlx.ExtContext
	table   string
	pending map[int64]tlog.Hash
}

func newReader(ctx context.Context, q sqlx.ExtContext, table string) *reader {
	return &reader{ctx: ctx, q: q, table: table, pending: map[int64]tlog.Hash{}}
}

// readInChunk is the most indexes one query asks for.
const readInChunk = 500

// ReadHashes returns the hashes at indexes, in order (tlog.HashReader).
func (r *reader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int64
	for i, x := range indexes {
		h, ok := r.pending[x]
		if ok {
			out[i] = h
		} else {
			missing = append(missing, x)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	for chunk := range slices.Chunk(missing, readInChunk) {
		args := make([]any, len(chunk))
		for i, x := range chunk {
			args[i] = x
		}
		q := "SELECT idx, hash FROM " + r.table + " WHERE idx IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := r.q.QueryxContext(r.ctx, r.q.Rebind(q), args...)
		if err != nil {
			return nil, fmt.Errorf("audittree: read hashes: %w", err)
		}
		for rows.Next() {
			var x int64
			var b []byte
			if err := rows.Scan(&x, &b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audittree: read hashes: %w", err)
			}
			var h tlog.Hash
			if len(b) != len(h) {
				rows.Close()
				return nil, fmt.Errorf("audittree: stored hash %d has %d bytes", x, len(b))
			}
			copy(h[:], b)
			r.pending[x] = h // the frontier is read once per batch
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("audittree: read hashes: %w", err)
		}
	}
	for i, x := range indexes {
		h, ok := r.pending[x] // found ones are there too
		if !ok {
			return nil, fmt.Errorf("audittree: stored hash %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}
