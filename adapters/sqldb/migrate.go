package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"time"

	"github.com/pressly/goose/v3"
)

var ownerName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// MigrationStatus tells how far an owner's tables are migrated.
type MigrationStatus struct {
	Owner   string
	Current int64 // highest applied version, 0 if none
	Latest  int64 // highest version in the migration files
}

// Pending reports whether migrations remain to apply.
func (s MigrationStatus) Pending() bool { return s.Current < s.Latest }

// VersionTable is the table recording which of owner's migrations were applied.
func VersionTable(owner string) string { return "schema_version_" + owner }

// Migrate applies owner's pending goose migrations from fsys and returns the resulting status. owner names the tables'
// owner (lower-case letters, digits, '_'), e.g. "members" or "projection_runtime"; its applied versions are kept in
// VersionTable(owner), apart from every other owner's.
//
// fsys holds goose SQL files (NNNNN_name.sql with "-- +goose Up" / "-- +goose Down") at its root, written in SQL
// both dialects accept; or, when the dialects need different text, in two subdirectories named "sqlite" and
// "postgres" (an embed.FS of a "migrations" directory is passed through fs.Sub first).
//
// Concurrent Migrate calls for the same owner, from any process, run one after the other (they hold the lease
// "migrate.<owner>"), so replicas starting together apply each migration once.
func (db *DB) Migrate(ctx context.Context, owner string, fsys fs.FS) (MigrationStatus, error) {
	p, err := db.migrationProvider(owner, fsys)
	if err != nil {
		return MigrationStatus{}, err
	}
	lease, err := db.AcquireLease(ctx, "migrate."+owner, 100*time.Millisecond)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("sqldb: migrate %s: %w", owner, err)
	}
	defer func() { _ = lease.Release() }()
	if _, err := p.Up(ctx); err != nil {
		return MigrationStatus{}, fmt.Errorf("sqldb: migrate %s: %w", owner, err)
	}
	return db.status(ctx, owner, p)
}

// MigrationStatus reports how far owner's tables are migrated, without changing them (the version table is created
// if missing).
func (db *DB) MigrationStatus(ctx context.Context, owner string, fsys fs.FS) (MigrationStatus, error) {
	p, err := db.migrationProvider(owner, fsys)
	if err != nil {
		return MigrationStatus{}, err
	}
	return db.status(ctx, owner, p)
}

func (db *DB) status(ctx context.Context, owner string, p *goose.Provider) (MigrationStatus, error) {
	current, latest, err := p.GetVersions(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("sqldb: migration status of %s: %w", owner, err)
	}
	return MigrationStatus{Owner: owner, Current: current, Latest: latest}, nil
}

func (db *DB) migrationProvider(owner string, fsys fs.FS) (*goose.Provider, error) {
	if !ownerName.MatchString(owner) {
		return nil, fmt.Errorf("sqldb: invalid migration owner %q", owner)
	}
	if fsys == nil {
		return nil, fmt.Errorf("sqldb: migrate %s: no migration files", owner)
	}
	dir, err := dialectDir(fsys, db.dialect)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrate %s: %w", owner, err)
	}
	gooseDialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		gooseDialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gooseDialect, db.DB.DB, dir,
		goose.WithTableName(VersionTable(owner)),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger.With("migration_owner", owner)),
	)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrate %s: %w", owner, err)
	}
	return p, nil
}

// dialectDir picks the dialect's subdirectory when fsys is split by dialect, else fsys itself.
func dialectDir(fsys fs.FS, d Dialect) (fs.FS, error) {
	hasDir := func(name string) bool {
		fi, err := fs.Stat(fsys, name)
		return err == nil && fi.IsDir()
	}
	if !hasDir(string(SQLite)) && !hasDir(string(Postgres)) {
		return fsys, nil
	}
	if !hasDir(string(d)) {
		return nil, errors.New("migrations are split by dialect but have no " + string(d) + " directory")
	}
	return fs.Sub(fsys, string(d))
}
