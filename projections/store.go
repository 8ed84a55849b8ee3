package projections

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

//go:embed migrations/*.sql
var runtimeMigrations embed.FS

// RuntimeOwner is the migration owner of the runtime's own table (projection_checkpoints).
const RuntimeOwner = "projections"

// State is where a projection version stands for readers.
type State string

// The states of a projection version.
const (
	// StateBuilding: the version is being built beside the live one; readers do not see it yet.
	StateBuilding State = "building"
	// StateLive: readers see this version through the projection's views. At most one version is live.
	StateLive State = "live"
	// StateRetired: a version replaced by a newer live one. Its tables are kept until the next switch, so that a
	// replica still running the old code keeps working during a rolling deploy and a rollback is quick.
	StateRetired State = "retired"
)

// Checkpoint is a projection version's row in the checkpoint table: the durable truth that Status figures and the
// `projections status` command read.
type Checkpoint struct {
	Name     string `db:"name"`
	Version  int    `db:"version"`
	State    State  `db:"state"`
	Position uint64 `db:"position"`
	// Events counts the events applied to this version since its tables were created.
	Events int64 `db:"events"`
	// LastRecordedAt is when the store recorded the last event applied (null before the first).
	LastRecordedAt sql.NullTime `db:"last_recorded_at"`
	// LastError is why the version stopped, until it makes progress again ("" when it did not).
	LastError string    `db:"last_error"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

const checkpointColumns = "name, version, state, position, events, last_recorded_at, last_error, created_at, updated_at"

// ReadCheckpoints returns every row of the checkpoint table, by name then version. It creates nothing: on a database
// the runtime never migrated it fails (the table does not exist).
func ReadCheckpoints(ctx context.Context, q sqlx.QueryerContext) ([]Checkpoint, error) {
	var rows []Checkpoint
	if err := sqlx.SelectContext(ctx, q, &rows,
		"SELECT "+checkpointColumns+" FROM projection_checkpoints ORDER BY name, version"); err != nil {
		return nil, fmt.Errorf("projections: read checkpoints: %w", err)
	}
	return rows, nil
}

func migrateRuntime(ctx context.Context, db *sqldb.DB) error {
	if err := sqldb.NewMigrations(RuntimeOwner, runtimeMigrations).Apply(ctx, db); err != nil {
		return fmt.Errorf("projections: migrate runtime: %w", err)
	}
	return nil
}

func migrateVersion(ctx context.Context, db *sqldb.DB, p Projection) error {
	fsys := prefixedFS{fsys: p.Migrations(), prefix: []byte(owner(p))}
	if _, err := db.Migrate(ctx, owner(p), fsys); err != nil {
		return fmt.Errorf("projections: migrate %s: %w", owner(p), err)
	}
	return nil
}

// Setup prepares the database for the given projections: the runtime's table, each version's tables, and its
// checkpoint row. A projection with no live version yet goes live at once (its views are created, empty); a new
// version of one that has a live version starts as building, beside it. Setup is idempotent and safe to run from
// several replicas at once; Runner.Run calls it, and `dossier migrate` may call it ahead.
func Setup(ctx context.Context, db *sqldb.DB, ps ...Projection) error {
	if err := migrateRuntime(ctx, db); err != nil {
		return err
	}
	for _, p := range ps {
		if err := validate(p); err != nil {
			return err
		}
		if err := setupVersion(ctx, db, p); err != nil {
			return err
		}
	}
	return nil
}

func setupVersion(ctx context.Context, db *sqldb.DB, p Projection) error {
	if err := migrateVersion(ctx, db, p); err != nil {
		return err
	}
	var err error
	// Two replicas of different versions meeting on a projection with no live version: one insert loses on the
	// unique "one live version" index; trying again, it sees the winner and starts as building.
	for range 3 {
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			cp, found, err := getCheckpoint(ctx, tx, p.Name(), p.Version())
			if err != nil {
				return err
			}
			if found {
				if cp.State == StateLive {
					// A migration of the live version may have added columns: views list them at creation.
					return createViews(ctx, tx, p.Name(), p.Version())
				}
				return nil
			}
			_, hasLive, err := liveVersion(ctx, tx, p.Name())
			if err != nil {
				return err
			}
			state := StateBuilding
			if !hasLive {
				state = StateLive
			}
			now := time.Now().UTC()
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO projection_checkpoints
				(name, version, state, position, events, last_error, created_at, updated_at)
				VALUES (?, ?, ?, 0, 0, '', ?, ?)`), p.Name(), p.Version(), string(state), now, now); err != nil {
				return fmt.Errorf("projections: insert checkpoint of %s: %w", owner(p), err)
			}
			if state == StateLive {
				return createViews(ctx, tx, p.Name(), p.Version())
			}
			return nil
		})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("projections: set up %s: %w", owner(p), err)
}

// reset drops a version's tables, views (if it is live) and checkpoint, for a rebuild from scratch. It keeps the
// version's place: a live version is live again, empty, once Setup has recreated it.
func reset(ctx context.Context, db *sqldb.DB, p Projection) (wasLive bool, err error) {
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		cp, found, err := getCheckpoint(ctx, tx, p.Name(), p.Version())
		if err != nil || !found {
			return err
		}
		wasLive = cp.State == StateLive
		if wasLive {
			if err := dropViews(ctx, tx, p.Name(), p.Version()); err != nil {
				return err
			}
		}
		return dropVersion(ctx, tx, p.Name(), p.Version())
	})
	if err != nil {
		return false, fmt.Errorf("projections: reset %s: %w", owner(p), err)
	}
	return wasLive, nil
}

func getCheckpoint(ctx context.Context, q sqlx.ExtContext, name string, version int) (Checkpoint, bool, error) {
	var cp Checkpoint
	err := sqlx.GetContext(ctx, q, &cp, q.Rebind("SELECT "+checkpointColumns+
		" FROM projection_checkpoints WHERE name = ? AND version = ?"), name, version)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("projections: read checkpoint of %s: %w", Prefix(name, version), err)
	}
	return cp, true, nil
}

func liveVersion(ctx context.Context, q sqlx.ExtContext, name string) (int, bool, error) {
	var v int
	err := sqlx.GetContext(ctx, q, &v, q.Rebind(
		"SELECT version FROM projection_checkpoints WHERE name = ? AND state = 'live'"), name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("projections: read live version of %s: %w", name, err)
	}
	return v, true, nil
}

// saveCheckpoint moves a version's checkpoint from prev to next inside the batch's transaction. It is a
// compare-and-set: if the checkpoint is no longer prev, another runner has moved it, and the whole batch must roll
// back (ErrFenced).
func saveCheckpoint(ctx context.Context, tx *sqldb.Tx, name string, version int, prev, next uint64, events int, lastRecordedAt time.Time) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE projection_checkpoints
		SET position = ?, events = events + ?, last_recorded_at = ?, last_error = '', updated_at = ?
		WHERE name = ? AND version = ? AND position = ?`),
		int64(next), events, lastRecordedAt.UTC(), time.Now().UTC(), name, version, int64(prev))
	if err != nil {
		return fmt.Errorf("projections: save checkpoint of %s: %w", Prefix(name, version), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("projections: save checkpoint of %s: %w", Prefix(name, version), err)
	}
	if n != 1 {
		return fmt.Errorf("%w: %s expected at %d", ErrFenced, Prefix(name, version), prev)
	}
	return nil
}

// saveError records why a version stopped, where `projections status` and other replicas see it.
func saveError(ctx context.Context, db *sqldb.DB, name string, version int, msg string) error {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	_, err := db.ExecContext(ctx, db.Rebind(
		"UPDATE projection_checkpoints SET last_error = ?, updated_at = ? WHERE name = ? AND version = ?"),
		msg, time.Now().UTC(), name, version)
	return err
}

// switchIn makes version the live one: the previous live version is retired, the views are pointed at version's
// tables, and versions retired before are dropped. All of it commits or nothing does, so readers see the old
// version or the new one, never a mix.
func switchIn(ctx context.Context, tx *sqldb.Tx, name string, version int) error {
	old, hasOld, err := liveVersion(ctx, tx, name)
	if err != nil {
		return err
	}
	if hasOld && old == version {
		return nil
	}
	var versions []Checkpoint
	if err := sqlx.SelectContext(ctx, tx, &versions, tx.Rebind("SELECT "+checkpointColumns+
		" FROM projection_checkpoints WHERE name = ?"), name); err != nil {
		return fmt.Errorf("projections: switch %s: %w", name, err)
	}
	now := time.Now().UTC()
	if hasOld {
		if err := dropViews(ctx, tx, name, old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(
			"UPDATE projection_checkpoints SET state = 'retired', updated_at = ? WHERE name = ? AND version = ?"),
			now, name, old); err != nil {
			return fmt.Errorf("projections: retire %s: %w", Prefix(name, old), err)
		}
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(
		"UPDATE projection_checkpoints SET state = 'live', updated_at = ? WHERE name = ? AND version = ?"),
		now, name, version)
	if err != nil {
		return fmt.Errorf("projections: switch to %s: %w", Prefix(name, version), err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("projections: switch to %s: no checkpoint row (%d, %v)", Prefix(name, version), n, err)
	}
	if err := createViews(ctx, tx, name, version); err != nil {
		return err
	}
	for _, v := range versions {
		if v.Version == version || (hasOld && v.Version == old) || v.State != StateRetired {
			continue
		}
		if err := dropVersion(ctx, tx, name, v.Version); err != nil {
			return err
		}
	}
	return nil
}

// dropVersion drops a version's tables, its migration history and its checkpoint row. Its views must already point
// elsewhere (PostgreSQL refuses to drop a table a view depends on).
func dropVersion(ctx context.Context, tx *sqldb.Tx, name string, version int) error {
	tables, err := versionTables(ctx, tx, name, version)
	if err != nil {
		return err
	}
	tables = append(tables, sqldb.VersionTable(Prefix(name, version)))
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return fmt.Errorf("projections: drop %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(
		"DELETE FROM projection_checkpoints WHERE name = ? AND version = ?"), name, version); err != nil {
		return fmt.Errorf("projections: drop checkpoint of %s: %w", Prefix(name, version), err)
	}
	return nil
}

func createViews(ctx context.Context, tx *sqldb.Tx, name string, version int) error {
	tables, err := versionTables(ctx, tx, name, version)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("%w: %s: its migrations create no table named %s or %s_…",
			ErrInvalidProjection, Prefix(name, version), Prefix(name, version), Prefix(name, version))
	}
	for _, t := range tables {
		v := View(name, version, t)
		if _, err := tx.ExecContext(ctx, "DROP VIEW IF EXISTS "+v); err != nil {
			return fmt.Errorf("projections: drop view %s: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, "CREATE VIEW "+v+" AS SELECT * FROM "+t); err != nil {
			return fmt.Errorf("projections: create view %s: %w", v, err)
		}
	}
	return nil
}

func dropViews(ctx context.Context, tx *sqldb.Tx, name string, version int) error {
	tables, err := versionTables(ctx, tx, name, version)
	if err != nil {
		return err
	}
	for _, t := range tables {
		v := View(name, version, t)
		if _, err := tx.ExecContext(ctx, "DROP VIEW IF EXISTS "+v); err != nil {
			return fmt.Errorf("projections: drop view %s: %w", v, err)
		}
	}
	return nil
}

// versionTables lists the tables of a projection version (see listTables).
func versionTables(ctx context.Context, tx *sqldb.Tx, name string, version int) ([]string, error) {
	return listTables(ctx, tx, tx.Dialect(), name, version)
}
