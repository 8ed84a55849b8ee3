// Package staffdirectory gives the display name of a staff member from their id, so that staff reading a case see
// "claimed by Claire Dupont" rather than a bare id: the assignee of a case, the actor of a timeline step.
//
// It folds the staff streams ("staff-<id>") only: StaffMemberCreated gives the name (no event renames a staff
// member yet; one that does is folded here under a new Version). Each row keeps the revision of the event it
// reflects and an event not above it changes nothing, so a replayed batch, a rebuild over existing rows or the same
// event twice leaves the rows as one pass would.
//
// Staff names are for staff only: the HTTP layer adds them to staff routes and never to what a member reads (the
// member is shown the service, not the person; see domain/staff's access.go).
package staffdirectory

import (
	"context"
	"embed"
	"fmt"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("staffdirectory").
const Name = "staffdirectory"

// Version is the current version of the projection. Bump it when the schema or the folding changes.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds staff account creations into one row per staff member. It is stateless and safe for concurrent
// use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var columns = []string{"staff_id", "name", "revision"}

// Apply writes the name of each staff account created in the batch, unless the row already reflects that event or
// a later one.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	upsert := projections.GuardedUpsert(p.Table(), []string{"staff_id"}, columns, "revision")
	for _, e := range batch {
		if e.Stream.Category != staff.Category {
			continue
		}
		v, ok := e.Event.(staff.Created)
		if !ok {
			continue
		}
		if err := upsert.Exec(ctx, tx, e.Stream.ID.String(), v.Name, int64(e.Revision)); err != nil {
			return fmt.Errorf("staffdirectory: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return nil
}
