// Package savedestimates is the list of NSA contributions estimates a member chose to keep (GET
// /v1/simulations/nsa-contributions), as they were shown when saved: inputs, rates year, lines and total.
//
// It folds the nsaestimates streams only, one row per simulation.EstimateSaved. Saved estimates never change, so
// rows are only inserted, keyed by the event's place in its stream (member, revision): a replayed batch, a rebuild
// over existing rows or the same event twice finds the row there and changes nothing. Every query takes the member
// id: a member reads only their own.
package savedestimates

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("savedestimates").
const Name = "savedestimates"

// Version is the current version of the projection. Bump it when the schema or the folding changes.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds nsaestimates events into one row per saved estimate. It is stateless and safe for concurrent
// use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// columns are the row's columns, in the order of insert's arguments.
var columns = []string{"member_id", "revision", "estimate_id", "saved_at", "rates_year", "status", "income_cents",
	"total_cents", "lines", "disclaimer"}

// Apply inserts a row per saved estimate of the batch; a row already there (the same event) is left as it is. The
// time saved is kept to the microsecond, as PostgreSQL keeps it, so both dialects give the same rows.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	insert := sqldb.Upsert{Table: p.Table(), Columns: columns,
		Key: []string{"member_id", "revision"}, Update: []string{}}
	for _, e := range batch {
		if e.Stream.Category != simulation.SavedCategory {
			continue
		}
		v, ok := e.Event.(simulation.EstimateSaved)
		if !ok {
			continue
		}
		lines := v.Lines
		if lines == nil {
			lines = []simulation.Line{}
		}
		raw, err := json.Marshal(lines)
		if err != nil {
			return fmt.Errorf("savedestimates: %s at %s@%d: encode lines: %w", e.Type, e.Stream, e.Revision, err)
		}
		if err := insert.Exec(ctx, tx, e.Stream.ID.String(), int64(e.Revision), v.EstimateID.String(),
			e.Metadata.OccurredAt.UTC().Truncate(time.Microsecond), v.RatesYear, string(v.Status), v.IncomeCents, v.TotalCents, string(raw),
			v.Disclaimer); err != nil {
			return fmt.Errorf("savedestimates: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return nil
}
