package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Projection is one read model: its tables (created by its migrations), and the code that folds events into them.
// It never runs side effects: the runner may apply the same history again at any time (a rebuild, a new version).
type Projection interface {
	// Name is the projection's stable identity: lower-case letters and digits, starting with a letter, at most 30
	// characters ("streamactivity"). It names its checkpoint, its lease, its tables and the views readers query.
	// Renaming a projection is creating a new one.
	Name() string
	// Version is the version of the projection's schema and logic, from 1. Bumping it makes the runner rebuild the
	// new version in tables of its own beside the live one and switch readers over once it has caught up.
	Version() int
	// Migrations holds the goose SQL migrations of this version's tables (NNNNN_name.sql files at its root, or split
	// into sqlite/ and postgres/: see sqldb.DB.Migrate). Every table and index name must start with the token
	// {{prefix}}, which the runner replaces with Prefix(Name(), Version()): "CREATE TABLE {{prefix}} (…)",
	// "CREATE TABLE {{prefix}}_items (…)", "CREATE INDEX {{prefix}}_by_category ON {{prefix}} (…)".
	Migrations() fs.FS
	// Apply folds a batch of events, in commit order, into the projection's tables, using tx only. The batch holds
	// every event of the global log in its range, also those the projection has no interest in (it skips them).
	// The runner writes the checkpoint in the same transaction, after Apply, and commits both or neither.
	// An error stops the projection loudly; it is never retried automatically.
	Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error
}

// RecordApplier is a Projection that folds the events as stored rather than decoded (the audit tree hashes their
// bytes: projections/audittree). The runner calls ApplyRecords instead of Apply, with the same batch as stored
// records; an event that cannot be decoded does not stop it (its bytes are all it needs).
type RecordApplier interface {
	ApplyRecords(ctx context.Context, tx *sqldb.Tx, batch []event.Record) error
}

// applyTo hands one batch to p: the stored records to a RecordApplier, the decoded envelopes to any other
// projection. The runner and the verification's rebuild both apply through it.
func applyTo(ctx context.Context, tx *sqldb.Tx, p Projection, batch []event.Envelope, records []event.Record) error {
	if ra, ok := p.(RecordApplier); ok {
		return ra.ApplyRecords(ctx, tx, records)
	}
	return p.Apply(ctx, tx, batch)
}

// Source is the ordered feed of the global log the runner consumes (adapters/kurrentdb.Source satisfies it).
// Run delivers every event committed strictly after position after, one at a time and in commit order, each with
// its decoded Envelope or a decode error; a Delivery with CaughtUp set and no record says the feed has reached the
// head of the log. Run returns when ctx ends or as soon as handle returns an error.
type Source interface {
	Run(ctx context.Context, after uint64, handle func(ctx context.Context, d event.Delivery) error) error
}

// Errors of the runtime. Match with errors.Is.
var (
	// ErrInvalidProjection is returned for a projection whose name, version or migrations are unusable.
	ErrInvalidProjection = errors.New("projections: invalid projection")
	// ErrUndecodable wraps the decode error of an event the projection cannot read: the projection stops there.
	ErrUndecodable = errors.New("projections: undecodable event")
	// ErrApply wraps a projection's Apply error: the projection stops there.
	ErrApply = errors.New("projections: apply failed")
	// ErrFenced means the checkpoint moved under the runner: another replica runs the projection (the lease was
	// lost). The batch was rolled back; the runner goes back to standby.
	ErrFenced = errors.New("projections: checkpoint moved by another runner")
	// ErrStopped is returned by WaitFor when a projection has stopped on an error, or the runner has ended: the
	// position will not be reached until an operator intervenes. Its kind is failure.Unavailable.
	ErrStopped = failure.New(failure.Unavailable, "projections.stopped", "projections: read models stopped")
)

var projectionName = regexp.MustCompile(`^[a-z][a-z0-9]{0,29}$`)

// PrefixToken is the token of migration files that stands for the version's table prefix.
const PrefixToken = "{{prefix}}"

// Prefix is the table prefix of a projection version: "<name>_v<version>". Its main table is named exactly that; its
// other tables and its indexes start with it followed by '_'. Readers query views named after the tables without
// the "_v<version>" part ("streamactivity", "streamactivity_items"), which point at the live version.
func Prefix(name string, version int) string {
	return name + "_v" + strconv.Itoa(version)
}

// View is the name of the view readers query for a table of a projection: table with its "_v<version>" part removed.
// View("streamactivity", "streamactivity_v3_items") is "streamactivity_items".
func View(name string, version int, table string) string {
	return name + table[len(Prefix(name, version)):]
}

func validate(p Projection) error {
	if p == nil {
		return fmt.Errorf("%w: nil", ErrInvalidProjection)
	}
	if !projectionName.MatchString(p.Name()) {
		return fmt.Errorf("%w: name %q: want lower-case letters and digits, starting with a letter", ErrInvalidProjection, p.Name())
	}
	if p.Version() < 1 {
		return fmt.Errorf("%w: %s: version %d: want at least 1", ErrInvalidProjection, p.Name(), p.Version())
	}
	if p.Migrations() == nil {
		return fmt.Errorf("%w: %s: no migrations", ErrInvalidProjection, p.Name())
	}
	return nil
}

// owner is the migration owner of a projection version (sqldb keeps its applied migrations apart).
func owner(p Projection) string { return Prefix(p.Name(), p.Version()) }

// prefixedFS serves the files of a projection's migrations with PrefixToken replaced by the version's prefix.
type prefixedFS struct {
	fsys   fs.FS
	prefix []byte
}

// Open opens name; regular files come back with the token replaced.
func (p prefixedFS) Open(name string) (fs.File, error) {
	f, err := p.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if info.IsDir() {
		return f, nil
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	data = bytes.ReplaceAll(data, []byte(PrefixToken), p.prefix)
	return &memFile{Reader: bytes.NewReader(data), info: memInfo{FileInfo: info, size: int64(len(data))}}, nil
}

type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	fs.FileInfo
	size int64
}

func (i memInfo) Size() int64 { return i.size }
