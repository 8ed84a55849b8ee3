package messaging

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Owner is the name under which the reactions' tables are migrated (sqldb.DB.Migrate).
const Owner = "reactions"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations are the goose migrations of the reactions' tables (reaction_checkpoint, reaction_processed,
// reaction_poison), written in SQL both dialects accept.
var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the goose migrations of the reactions' tables.
func Migrations() fs.FS { return migrations.FS }

// Migrate creates or upgrades the reactions' tables. Run it before starting a Router (dossier serve and dossier
// migrate do); it is safe from several replicas at once.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// handlerName is what a handler name may look like: it also names the handler's lease ("reaction.<name>").
var handlerName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,99}$`)

// ErrInvalidHandlerName is returned for a handler name that is not lower-case letters, digits, '.', '_' and '-'
// (starting with a letter, at most 100 characters).
var ErrInvalidHandlerName = errors.New("messaging: invalid handler name")

func checkName(name string) error {
	if !handlerName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrInvalidHandlerName, name)
	}
	return nil
}

// CheckpointRow is a handler's durable checkpoint.
type CheckpointRow struct {
	Handler   string
	Position  uint64 // commit position of the last event the handler acknowledged
	UpdatedAt time.Time
	// LastRecordedAt is when the store recorded that event (zero if unknown): UpdatedAt − LastRecordedAt is how long
	// after its event the handler acted (for a mail handler, the mail lag).
	LastRecordedAt time.Time
}

// Checkpoint returns the commit position of the last event handler acknowledged, and whether it has one at all (a
// handler that never ran has none and starts from the beginning of the log).
func Checkpoint(ctx context.Context, db *sqldb.DB, handler string) (position uint64, found bool, err error) {
	var p int64
	r := db.Reader()
	err = r.QueryRowxContext(ctx, r.Rebind(`SELECT position FROM reaction_checkpoint WHERE handler = ?`), handler).Scan(&p)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("messaging: read checkpoint of %s: %w", handler, err)
	}
	return uint64(p), true, nil
}

// Checkpoints returns every handler's checkpoint, by handler name.
func Checkpoints(ctx context.Context, db *sqldb.DB) ([]CheckpointRow, error) {
	rows, err := db.Reader().QueryxContext(ctx, `SELECT handler, position, updated_at, last_recorded_at FROM reaction_checkpoint ORDER BY handler`)
	if err != nil {
		return nil, fmt.Errorf("messaging: list checkpoints: %w", err)
	}
	defer rows.Close()
	var out []CheckpointRow
	for rows.Next() {
		var (
			r   CheckpointRow
			p   int64
			rec sql.NullTime
		)
		if err := rows.Scan(&r.Handler, &p, &r.UpdatedAt, &rec); err != nil {
			return nil, fmt.Errorf("messaging: list checkpoints: %w", err)
		}
		r.Position = uint64(p)
		r.UpdatedAt = r.UpdatedAt.UTC()
		if rec.Valid {
			r.LastRecordedAt = rec.Time.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messaging: list checkpoints: %w", err)
	}
	return out, nil
}

var checkpointUpsert = sqldb.Upsert{
	Table:   "reaction_checkpoint",
	Columns: []string{"handler", "position", "updated_at", "last_recorded_at"},
	Key:     []string{"handler"},
	// Checkpoints only move forward: a replica that lost its lease cannot pull one back.
	Where: "reaction_checkpoint.position < excluded.position",
}

// storeCheckpoint makes position the handler's checkpoint, durably; recorded is when the store recorded its event
// (zero: unknown).
func storeCheckpoint(ctx context.Context, db *sqldb.DB, handler string, position uint64, now, recorded time.Time) error {
	rec := sql.NullTime{Time: recorded.UTC(), Valid: !recorded.IsZero()}
	if err := checkpointUpsert.Exec(ctx, db, handler, int64(position), now.UTC(), rec); err != nil {
		return fmt.Errorf("messaging: store checkpoint of %s at %d: %w", handler, position, err)
	}
	return nil
}
