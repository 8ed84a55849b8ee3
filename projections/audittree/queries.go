package audittree

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Queries reads the live version of the tree through its views (auditlog.Tree). On SQLite it uses the read-only
// pool. Stored hashes never change once written, so a reader that takes the size first reads a consistent tree.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// Last returns the tree's last leaf (Leaf -1 when the tree is empty), its hash included: the tree's size is
// Last().Leaf+1.
func (q *Queries) Last(ctx context.Context) (Stored, error) {
	s, err := lastLeaf(ctx, q.db, Name)
	if err != nil || s.Leaf < 0 {
		return s, err
	}
	h, err := newReader(ctx, q.db, Name+"_hashes").ReadHashes([]int64{tlog.StoredHashIndex(0, s.Leaf)})
	if err != nil {
		return Stored{}, err
	}
	s.Hash = h[0]
	return s, nil
}

// Hashes returns a reader of the tree's stored hashes.
func (q *Queries) Hashes(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(newReader(ctx, q.db, Name+"_hashes").ReadHashes)
}

// LeafIndexes returns the leaf index of each commit position of commits the tree holds.
func (q *Queries) LeafIndexes(ctx context.Context, commits []uint64) (map[uint64]int64, error) {
	out := make(map[uint64]int64, len(commits))
	for chunk := range slices.Chunk(commits, readInChunk) {
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = int64(c)
		}
		var rows []Stored
		query := "SELECT leaf, commit_position, prepare_position FROM " + Name + " WHERE commit_position IN (?" +
			strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("audittree: leaf indexes: %w", err)
		}
		for _, r := range rows {
			out[r.Commit] = r.Leaf
		}
	}
	return out, nil
}

// Leaves calls fn with the stored leaves from leaf from on, in order, with their hashes (each page's level-0
// stored hashes read in one go), until fn returns false or an error.
func (q *Queries) Leaves(ctx context.Context, from int64, fn func(Stored) (bool, error)) error {
	const page = 10000
	for {
		var list []Stored
		if err := sqlx.SelectContext(ctx, q.db, &list, q.db.Rebind("SELECT leaf, commit_position, prepare_position FROM "+
			Name+" WHERE leaf >= ? ORDER BY leaf LIMIT ?"), from, page); err != nil {
			return fmt.Errorf("audittree: leaves: %w", err)
		}
		indexes := make([]int64, len(list))
		for i, s := range list {
			indexes[i] = tlog.StoredHashIndex(0, s.Leaf)
		}
		hashes, err := newReader(ctx, q.db, Name+"_hashes").ReadHashes(indexes)
		if err != nil {
			return fmt.Errorf("audittree: leaves: %w", err)
		}
		for i, s := range list {
			s.Hash = hashes[i]
			from = s.Leaf + 1
			if more, err := fn(s); err != nil || !more {
				return err
			}
		}
		if len(list) < page {
			return nil
		}
	}
}

// Size returns the number of leaves and the positions of the last one (auditlog.Tree).
func (q *Queries) Size(ctx context.Context) (size int64, lastCommit, lastPrepare uint64, err error) {
	s, err := q.Last(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	return s.Leaf + 1, s.Commit, s.Prepare, nil
}
