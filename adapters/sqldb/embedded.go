package sqldb

import (
	"context"
	"io/fs"
)

// EmbeddedMigrations returns the "migrations" directory of fsys, a package's embedded files (//go:embed
// migrations, or migrations/*.sql), for Migrate. It panics if the directory cannot be opened: the embedded
// directory is part of the binary.
func EmbeddedMigrations(fsys fs.FS) fs.FS {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// Migrations are one owner's embedded migrations: what an adapter with tables of its own declares once, and
// migrates or inspects from dossier serve, migrate and the operators' commands.
type Migrations struct {
	// Owner names the tables' owner (see Migrate).
	Owner string
	// FS holds the goose files (see Migrate); NewMigrations takes them from a package's embedded files.
	FS fs.FS
}

// NewMigrations returns owner's migrations, the "migrations" directory of fsys (see EmbeddedMigrations).
func NewMigrations(owner string, fsys fs.FS) Migrations {
	return Migrations{Owner: owner, FS: EmbeddedMigrations(fsys)}
}

// Apply creates or upgrades the owner's tables in db (DB.Migrate, whose error names the owner).
func (m Migrations) Apply(ctx context.Context, db *DB) error {
	_, err := db.Migrate(ctx, m.Owner, m.FS)
	return err
}
