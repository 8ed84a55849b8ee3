package projections

import (
	"io/fs"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Meta is what identifies a projection version: its name, its version and its migrations. A projection embeds it
// and gets Name, Version and Migrations of the Projection interface; it writes only Apply (and its queries):
//
//	//go:embed migrations
//	var migrations embed.FS
//
//	var meta = projections.NewMeta(Name, Version, migrations)
//
//	type Projection struct{ projections.Meta }
//
//	func New() *Projection { return &Projection{Meta: meta} }
//
// Tests build the same projection at another version with meta.At(v), to check a rebuild.
type Meta struct {
	name       string
	version    int
	migrations fs.FS
}

// NewMeta returns the identity of projection name at version, whose migrations are the "migrations" directory of
// fsys (the package's embedded files: NNNNN_name.sql at its root, or split into sqlite/ and postgres/). It panics
// if that directory cannot be opened: the embedded directory is part of the binary.
func NewMeta(name string, version int, fsys fs.FS) Meta {
	return Meta{name: name, version: version, migrations: sqldb.EmbeddedMigrations(fsys)}
}

// At returns the same projection at version v.
func (m Meta) At(v int) Meta {
	m.version = v
	return m
}

// Name returns the projection's name.
func (m Meta) Name() string { return m.name }

// Version returns the projection's version.
func (m Meta) Version() int { return m.version }

// Migrations returns the migrations of the version's tables.
func (m Meta) Migrations() fs.FS { return m.migrations }

// Table returns the main table of the version, Prefix(Name, Version); its other tables start with it and '_'.
func (m Meta) Table() string { return Prefix(m.name, m.version) }
