// Package memberaccesses is the member's view of the staff openings of their data ("qui a consulté mon dossier",
// GET /v1/me/accesses): when, in which role, which view and, for a case file, which request, the newest first.
//
// It folds the memberaccess streams only (staff.MemberDataOpened, recorded before any staff read of a member's data
// is answered), one row per event, keyed by the event's place in its stream (member, revision): rows are only
// inserted, so a replayed batch, a rebuild over existing rows or the same event twice changes nothing. It keeps
// neither the staff member's id nor their name: the member is shown the service, not the person (see domain/staff's
// access.go for why); the events keep the id for auditors and the data protection officer. Every query takes the
// member id: a member reads only their own log.
package memberaccesses

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("memberaccesses").
const Name = "memberaccesses"

// Version is the current version of the projection. Bump it when the schema or the folding changes. Version 2 keeps
// the subject of an opening (the request's reference): a new version rebuilds from the log, so a row an older
// replica wrote without it during a rolling deploy does not stay without it.
const Version = 2

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds memberaccess events into one row per opening. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var columns = []string{"member_id", "revision", "opened_at", "role", "what", "subject"}

// Apply inserts a row per opening of the batch; a row already there (the same event) is left as it is. The time of
// the opening is the event's business time, kept to the microsecond as PostgreSQL keeps it, so both dialects give the
// same rows.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	insert := sqldb.Upsert{Table: p.Table(), Columns: columns,
		Key: []string{"member_id", "revision"}, Update: []string{}}
	for _, e := range batch {
		if e.Stream.Category != staff.AccessCategory {
			continue
		}
		v, ok := e.Event.(staff.MemberDataOpened)
		if !ok {
			continue
		}
		if err := insert.Exec(ctx, tx, e.Stream.ID.String(), int64(e.Revision),
			e.Metadata.OccurredAt.UTC().Truncate(time.Microsecond), v.Role, v.What, v.Subject); err != nil {
			return fmt.Errorf("memberaccesses: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return nil
}
