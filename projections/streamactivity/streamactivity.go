// Package streamactivity is a small read model of the event store itself: for every stream, its category, how many
// events it holds (its last revision plus one), its last event (type, revision, global position) and when its first
// and last events were recorded. Operators use it to find recently active aggregates of a category and auditors to check a stream's
// extent; it also serves as the projection runtime's sample until the aggregates bring read models of their own.
//
// It reads only envelopes (stream, revision, position, type, recorded-at), never event payloads, so it holds no
// personal data and needs no event definitions.
package streamactivity

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("streamactivity").
const Name = "streamactivity"

// Version is the current version of the projection. Bump it when the schema or the folding changes: the runner
// rebuilds the new version beside the live one and switches readers over once it has caught up.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds events into one row per stream. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// columns of the table, in the order of the rows written.
var columns = []string{"stream", "category", "last_revision", "last_event_type", "event_count",
	"first_recorded_at", "last_recorded_at", "last_position"}

// row is a stream's state after the events of a batch.
type row struct {
	stream, category string
	lastRevision     uint64
	lastType         string
	first, last      time.Time
	lastPosition     uint64
}

// upsert writes a stream's row. Every value it overwrites is absolute (the stream's last event and, since revisions
// count from 0, its number of events), never a delta, and the guard lets only a later event through: so an event
// applied twice, a batch replayed in part or an older event arriving late changes nothing, and no row needs reading
// first. The category and the first event's time are set when the row is created and never change.
var upsert = sqldb.Upsert{
	Key:     []string{"stream"},
	Columns: columns,
	Update:  []string{"last_revision", "last_event_type", "event_count", "last_recorded_at", "last_position"},
}

// Apply folds the batch into one row per stream it touches and writes them with one guarded upsert.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	rows := make(map[string]*row)
	var order []*row
	for _, e := range batch {
		name := e.Stream.String()
		r := rows[name]
		if r == nil {
			r = &row{stream: name, category: e.Stream.Category, first: e.RecordedAt.UTC()}
			rows[name] = r
			order = append(order, r)
		} else if e.Position <= r.lastPosition {
			continue // the same event twice in a batch
		}
		r.lastRevision, r.lastType, r.last, r.lastPosition = e.Revision, e.Type, e.RecordedAt.UTC(), e.Position
	}
	if len(order) == 0 {
		return nil
	}
	u := upsert
	u.Table = table
	u.Where = projections.Guard(table, "last_position")
	conflict, err := u.ConflictClause()
	if err != nil {
		return err
	}
	if tx.Dialect() == sqldb.Postgres {
		return writePostgres(ctx, tx, table, conflict, order)
	}
	out := make([][]any, len(order))
	for i, r := range order {
		out[i] = []any{r.stream, r.category, int64(r.lastRevision), r.lastType, int64(r.lastRevision) + 1, r.first,
			r.last, int64(r.lastPosition)}
	}
	if _, err := sqldb.BulkInsert(ctx, tx, table, columns, out, conflict); err != nil {
		return fmt.Errorf("streamactivity: %w", err)
	}
	return nil
}

// writePostgres writes the rows with one statement binding one array per column: PostgreSQL parses and plans it
// once whatever the number of rows, where a multi-row VALUES list costs a parameter per value.
func writePostgres(ctx context.Context, tx *sqldb.Tx, table, conflict string, rows []*row) error {
	n := len(rows)
	streams, categories, types := make([]string, n), make([]string, n), make([]string, n)
	revisions, counts, positions := make([]int64, n), make([]int64, n), make([]int64, n)
	firsts, lasts := make([]string, n), make([]string, n)
	for i, r := range rows {
		streams[i], categories[i], types[i] = r.stream, r.category, r.lastType
		revisions[i], counts[i], positions[i] = int64(r.lastRevision), int64(r.lastRevision)+1, int64(r.lastPosition)
		firsts[i], lasts[i] = r.first.Format(pgTimestamp), r.last.Format(pgTimestamp)
	}
	q := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") SELECT * FROM unnest(" +
		"$1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::timestamp[], $7::timestamp[], $8::bigint[]) " +
		conflict
	if _, err := tx.ExecContext(ctx, q, pq.Array(streams), pq.Array(categories), pq.Array(revisions), pq.Array(types),
		pq.Array(counts), pq.Array(firsts), pq.Array(lasts), pq.Array(positions)); err != nil {
		return fmt.Errorf("streamactivity: write rows: %w", err)
	}
	return nil
}

// pgTimestamp is how times travel in a timestamp[] parameter (UTC, microseconds: PostgreSQL's precision).
const pgTimestamp = "2006-01-02 15:04:05.999999"
