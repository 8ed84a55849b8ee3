package casework

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// Owner is the name under which the casework tables are migrated (sqldb.DB.Migrate).
const Owner = "casework"

// deadlineTable holds the pending information deadlines (see migrations/).
const deadlineTable = "casework_information_deadline"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations are the goose migrations of the casework tables (casework_information_deadline), written in SQL both
// dialects accept.
var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the goose migrations of the casework tables.
func Migrations() fs.FS { return migrations.FS }

// Migrate creates or upgrades the casework tables. Run it, with messaging.Migrate, before starting the router and
// the Scheduler; it is safe from several replicas at once.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// dbTime is how times go into the table: UTC (PostgreSQL's TIMESTAMP drops the offset) and to the microsecond
// (its precision), so that both dialects hold the same value.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var upsertDeadline = sqldb.Upsert{
	Table:   deadlineTable,
	Columns: []string{"request_id", "deadline", "requested_position", "due_at", "attempts"},
	Key:     []string{"request_id"},
}

// deadlines keeps the table of pending information deadlines: a row per request awaiting information.
func (r *reactions) deadlines(msg *message.Message) error {
	// Only service request events matter; the stream is checked before decoding, so other events cost nothing.
	if !strings.HasPrefix(msg.Metadata.Get(messaging.MetaStream), servicerequest.Category+"-") {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	if env.Stream.Category != servicerequest.Category {
		return nil
	}
	var change func(ctx context.Context, tx *sqldb.Tx) error
	switch ev := env.Event.(type) {
	case servicerequest.InformationRequested:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			at := dbTime(ev.Deadline)
			return upsertDeadline.Exec(ctx, tx, env.Stream.ID.String(), at, int64(env.Position), at, 0)
		}
	case servicerequest.InformationReceived, servicerequest.InformationDeadlineLapsed, servicerequest.Decided,
		servicerequest.Withdrawn, servicerequest.Closed:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+deadlineTable+" WHERE request_id = ?"),
				env.Stream.ID.String())
			return err
		}
	default:
		return nil
	}
	ctx := msg.Context()
	ran, err := messaging.Once(ctx, r.DB, DeadlinesHandler, env.EventID, func(tx *sqldb.Tx) error {
		return change(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("casework: information deadline of %s: %w", env.Stream, err)
	}
	if ran {
		r.Logger.Debug("casework: information deadline updated", "handler", DeadlinesHandler,
			"stream", env.Stream.String(), "event_type", env.Type, "event_id", env.EventID.String(),
			"position", env.Position)
	}
	return nil
}

// Pending is an information deadline the Scheduler has yet to lapse.
type Pending struct {
	RequestID string
	Deadline  time.Time // the instant after which the request lapses
	DueAt     time.Time // when the Scheduler next tries to lapse it
	Attempts  int       // tries the port refused so far
}

// PendingDeadlines returns the pending information deadlines, earliest first: what an operator or a test looks at.
func PendingDeadlines(ctx context.Context, db *sqldb.DB) ([]Pending, error) {
	var rows []struct {
		RequestID string    `db:"request_id"`
		Deadline  time.Time `db:"deadline"`
		DueAt     time.Time `db:"due_at"`
		Attempts  int       `db:"attempts"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT request_id, deadline, due_at, attempts FROM "+deadlineTable+
		" ORDER BY deadline, request_id"); err != nil {
		return nil, fmt.Errorf("casework: pending deadlines: %w", err)
	}
	out := make([]Pending, len(rows))
	for i, row := range rows {
		out[i] = Pending{RequestID: row.RequestID, Deadline: row.Deadline.UTC(), DueAt: row.DueAt.UTC(),
			Attempts: row.Attempts}
	}
	return out, nil
}
