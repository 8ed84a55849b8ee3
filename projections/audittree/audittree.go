// Package audittree keeps the audit tree of adapters/auditlog up to date: a projection over the events as stored
// (projections.RecordApplier) that appends one leaf per non-system event of $all, in commit order, and stores the
// tree's hashes (tlog.StoredHashes) in the read-model database, so that signing a head, proving an event's inclusion
// or two heads' consistency reads O(log n) rows. It holds hashes and positions only, never personal data, and it
// hashes events as stored: erasing a member's key changes nothing here.
package audittree

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query ("audittree",
// "audittree_hashes").
const Name = "audittree"

// Version is the current version of the projection. Version 2 (migration 00002): the leaf table keeps positions
// only (a leaf's hash is its level-0 stored hash) under a plain index on the commit position, and PostgreSQL gets
// each batch's rows as arrays (unnest).
const Version = 2

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection appends the leaves of a batch to the tree. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// Apply is never called: the runner gives a RecordApplier its records (ApplyRecords).
func (p *Projection) Apply(context.Context, *sqldb.Tx, []event.Envelope) error {
	return fmt.Errorf("audittree: Apply called instead of ApplyRecords")
}

var (
	leafColumns = []string{"leaf", "commit_position", "prepare_position"}
	hashColumns = []string{"idx", "hash"}
)

// arrayInserts sends PostgreSQL a batch's rows as one array per column (INSERT … SELECT FROM unnest): parsed and
// planned once whatever the number of rows, where a multi-row VALUES list costs a parameter per value. The
// benchmark turns it off to measure the difference in the same run.
var arrayInserts = true

// ApplyRecords appends every record of batch after the tree's last leaf as the next leaves; a record at or before
// the last leaf's position (a replay) is skipped, so applying a batch twice changes nothing.
func (p *Projection) ApplyRecords(ctx context.Context, tx *sqldb.Tx, batch []event.Record) error {
	table := p.Table()
	last, err := lastLeaf(ctx, tx, table)
	if err != nil {
		return err
	}
	size := last.Leaf + 1
	r := newReader(ctx, tx, table+"_hashes")
	var (
		leafIdx, commits, prepares, hashIdx []int64
		hashes                              [][]byte
	)
	for _, rec := range batch {
		if strings.HasPrefix(rec.Type, "$") {
			continue // the event store's own (the source leaves them out already)
		}
		leaf := auditlog.LeafOf(rec)
		if size > 0 && !after(leaf, last) {
			continue
		}
		lh := leaf.Hash()
		stored, err := tlog.StoredHashesForRecordHash(size, lh, r)
		if err != nil {
			return fmt.Errorf("audittree: leaf %d (position %d): %w", size, leaf.Commit, err)
		}
		base := tlog.StoredHashIndex(0, size)
		for i, h := range stored {
			r.pending[base+int64(i)] = h
			hashIdx = append(hashIdx, base+int64(i))
			hashes = append(hashes, h[:])
		}
		leafIdx, commits, prepares = append(leafIdx, size), append(commits, int64(leaf.Commit)), append(prepares, int64(leaf.Prepare))
		last = Stored{Leaf: size, Commit: leaf.Commit, Prepare: leaf.Prepare, Hash: lh}
		size++
	}
	if len(leafIdx) == 0 {
		return nil
	}
	if tx.Dialect() == sqldb.Postgres && arrayInserts {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (leaf, commit_position, prepare_position) "+
			"SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])",
			pq.Array(leafIdx), pq.Array(commits), pq.Array(prepares)); err != nil {
			return fmt.Errorf("audittree: insert leaves: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+"_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
			pq.Array(hashIdx), pq.Array(hashes)); err != nil {
			return fmt.Errorf("audittree: insert hashes: %w", err)
		}
		return nil
	}
	leaves := make([][]any, len(leafIdx))
	for i := range leafIdx {
		leaves[i] = []any{leafIdx[i], commits[i], prepares[i]}
	}
	rows := make([][]any, len(hashIdx))
	for i := range hashIdx {
		rows[i] = []any{hashIdx[i], hashes[i]}
	}
	if _, err := sqldb.BulkInsert(ctx, tx, table, leafColumns, leaves, ""); err != nil {
		return fmt.Errorf("audittree: insert leaves: %w", err)
	}
	if _, err := sqldb.BulkInsert(ctx, tx, table+"_hashes", hashColumns, rows, ""); err != nil {
		return fmt.Errorf("audittree: insert hashes: %w", err)
	}
	return nil
}

// after reports whether leaf comes after the stored leaf last in $all.
func after(leaf auditlog.Leaf, last Stored) bool {
	return leaf.Commit > last.Commit || (leaf.Commit == last.Commit && leaf.Prepare > last.Prepare)
}

// Stored is a leaf as the tree keeps it: its positions, and its hash (the level-0 stored hash).
type Stored struct {
	Leaf    int64     `db:"leaf"`
	Commit  uint64    `db:"commit_position"`
	Prepare uint64    `db:"prepare_position"`
	Hash    tlog.Hash `db:"-"`
}

// lastLeaf reads the positions of the last leaf of table (Leaf -1 when the tree is empty), without its hash.
func lastLeaf(ctx context.Context, q sqlx.QueryerContext, table string) (Stored, error) {
	var leaf, commit, prepare int64
	err := q.QueryRowxContext(ctx, "SELECT leaf, commit_position, prepare_position FROM "+table+
		" ORDER BY leaf DESC LIMIT 1").Scan(&leaf, &commit, &prepare)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{Leaf: -1}, nil
	}
	if err != nil {
		return Stored{}, fmt.Errorf("audittree: read the last leaf: %w", err)
	}
	return Stored{Leaf: leaf, Commit: uint64(commit), Prepare: uint64(prepare)}, nil
}

// MetaAt returns the projection's identity at version v (tests build a rebuild with it).
func MetaAt(v int) projections.Meta { return meta.At(v) }
