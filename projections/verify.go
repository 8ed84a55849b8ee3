package projections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Verification of a projection (`dossier projections verify NAME`, issue 16 item 4): the live version's rows are
// read in one snapshot together with its checkpoint; the same projection code rebuilds the version into scratch
// tables of the same database (version ScratchVersion(v), beside the live one, as the runtime builds new versions)
// from the start of the log up to exactly that checkpoint; every row of both is reduced to a canonical digest and the
// two sets are compared by primary key. The scratch tables are dropped afterwards, and the outcome is recorded in
// projection_verifications, which the runner's metrics export.
//
// It runs beside a serving process: the live projection may move on during the check; the comparison is against
// the snapshot taken first (rows and checkpoint agree in it, as the runner commits both in one transaction), so the
// live projection moving changes nothing to the verdict. A projection that is not caught up is verified where it is.

// ErrVerifying is returned by Verify when another verification of the same projection is running.
var ErrVerifying = errors.New("projections: a verification of this projection is running")

// scratchOffset puts the scratch version far from any real version.
const scratchOffset = 900000

// ScratchVersion is the version whose tables Verify rebuilds version v into.
func ScratchVersion(v int) int { return scratchOffset + v }

// VerifyOptions tune Verify. The zero value is ready to use.
type VerifyOptions struct {
	Logger *slog.Logger
	// MaxBatch is the most events applied to the scratch tables in one transaction (default 1000).
	MaxBatch int
	// Progress, if set, is called after each scratch batch with the position reached and the target.
	Progress func(position, target uint64)
	// Now is the clock of the record (nil: time.Now).
	Now func() time.Time
}

// Report is the outcome of Verify.
type Report struct {
	Projection string `json:"projection"`
	Version    int    `json:"version"`
	// Position is the live checkpoint the live rows were read at and the rebuild stopped at.
	Position uint64 `json:"position"`
	// Events is the number of events the rebuild applied.
	Events int64 `json:"events"`
	// Rows is the number of live rows compared (every table).
	Rows   int         `json:"rows"`
	Tables []TableDiff `json:"tables"`
	Took   time.Duration
}

// TableDiff compares one table of the live version with its rebuild.
type TableDiff struct {
	// Table is the name readers know it by (the view: "accounts_addresses").
	Table string `json:"table"`
	// Key names the primary key's columns (empty: the table has none, rows are keyed by their digest).
	Key         []string `json:"key"`
	LiveRows    int      `json:"live_rows"`
	RebuiltRows int      `json:"rebuilt_rows"`
	// Missing are the keys of rows the log gives and the live table lacks; Extra those the live table holds and the
	// log does not give; Changed those whose columns differ. Keys read "col=value, col=value".
	Missing []string `json:"missing"`
	Extra   []string `json:"extra"`
	Changed []string `json:"changed"`
}

// Differences counts the differing rows of every table.
func (r Report) Differences() int {
	n := 0
	for _, t := range r.Tables {
		n += len(t.Missing) + len(t.Extra) + len(t.Changed)
	}
	return n
}

// Clean reports whether the live rows equal the rebuilt ones.
func (r Report) Clean() bool { return r.Differences() == 0 }

// AtVersion returns p at version v: a copy of p whose embedded Meta (every projection embeds one, see Meta) says v,
// so its Apply writes to the tables of v. It fails for a projection without an embedded Meta.
func AtVersion(p Projection, v int) (Projection, error) {
	rv := reflect.ValueOf(p)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s: not a pointer to a struct embedding projections.Meta", ErrInvalidProjection, p.Name())
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	f := cp.Elem().FieldByName("Meta")
	if !f.IsValid() || f.Type() != reflect.TypeOf(Meta{}) || !f.CanSet() {
		return nil, fmt.Errorf("%w: %s: no embedded projections.Meta", ErrInvalidProjection, p.Name())
	}
	m := f.Interface().(Meta)
	f.Set(reflect.ValueOf(m.At(v)))
	out, ok := cp.Interface().(Projection)
	if !ok || out.Version() != v {
		return nil, fmt.Errorf("%w: %s: its version does not come from its Meta", ErrInvalidProjection, p.Name())
	}
	return out, nil
}

// Verify checks p's live version against a rebuild from the log (see the comment above) and records the outcome.
// The live version must be p's version (this binary's). An error means no verdict; a Report that is not Clean is
// a verdict (the differing keys are in it).
func Verify(ctx context.Context, db *sqldb.DB, source Source, p Projection, opts VerifyOptions) (Report, error) {
	if err := validate(p); err != nil {
		return Report{}, err
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	if err := migrateRuntime(ctx, db); err != nil {
		return Report{}, err
	}
	lease, err := db.TryAcquireLease(ctx, "projection.verify."+p.Name())
	if errors.Is(err, sqldb.ErrLeaseHeld) {
		return Report{}, fmt.Errorf("%w: %s", ErrVerifying, p.Name())
	}
	if err != nil {
		return Report{}, fmt.Errorf("projections: verify %s: %w", p.Name(), err)
	}
	defer func() { _ = lease.Release() }()

	rep := Report{Projection: p.Name(), Version: p.Version()}
	live, err := snapshotLive(ctx, db, p)
	if err != nil {
		return rep, err
	}
	rep.Position = live.position

	scratch, err := AtVersion(p, ScratchVersion(p.Version()))
	if err != nil {
		return rep, err
	}
	drop := func(ctx context.Context) error {
		return db.InTx(ctx, func(tx *sqldb.Tx) error { return dropVersion(ctx, tx, scratch.Name(), scratch.Version()) })
	}
	if err := drop(ctx); err != nil { // left over by a verification that was killed
		return rep, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := drop(dctx); err != nil {
			opts.Logger.Warn("projections: verify: cannot drop the scratch tables", "projection", p.Name(), "error", err.Error())
		}
	}()
	if err := migrateVersion(ctx, db, scratch); err != nil {
		return rep, err
	}
	if rep.Events, err = applyUntil(ctx, db, source, scratch, live.position, opts.MaxBatch, opts.Progress); err != nil {
		return rep, fmt.Errorf("projections: verify %s: rebuild: %w", p.Name(), err)
	}
	rebuilt, err := readVersion(ctx, db.Reader(), db.Dialect(), scratch.Name(), scratch.Version())
	if err != nil {
		return rep, err
	}
	rep.Tables = compareTables(p.Name(), live, rebuilt)
	for _, t := range rep.Tables {
		rep.Rows += t.LiveRows
	}
	rep.Took = time.Since(start)
	if err := recordVerification(ctx, db, rep, opts.Now()); err != nil {
		return rep, err
	}
	return rep, nil
}

// versionRows are the rows of a version's tables, by table suffix ("" for the main table, "_addresses"…).
type versionRows struct {
	position uint64
	tables   map[string]tableRows
}

type tableRows struct {
	key  []string
	rows map[string][32]byte // key → digest of the whole row
}

// snapshotLive reads the live version's checkpoint and every row of its tables in one read-only snapshot.
func snapshotLive(ctx context.Context, db *sqldb.DB, p Projection) (versionRows, error) {
	var opts *sql.TxOptions
	if db.Dialect() == sqldb.Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := db.Reader().BeginTxx(ctx, opts)
	if err != nil {
		return versionRows{}, fmt.Errorf("projections: verify %s: begin: %w", p.Name(), err)
	}
	defer func() { _ = tx.Rollback() }()
	// The first read starts the snapshot (SQLite's WAL read transaction; PostgreSQL's repeatable read).
	cp, found, err := getCheckpoint(ctx, tx, p.Name(), p.Version())
	if err != nil {
		return versionRows{}, err
	}
	if !found || cp.State != StateLive {
		lv, has, err := liveVersion(ctx, tx, p.Name())
		if err != nil {
			return versionRows{}, err
		}
		if !has {
			return versionRows{}, fmt.Errorf("projections: verify %s: no live version (dossier serve or migrate sets it up)", p.Name())
		}
		return versionRows{}, fmt.Errorf("projections: verify %s: the live version is %d, this binary's is %d: verify with the binary that runs it", p.Name(), lv, p.Version())
	}
	out, err := readVersion(ctx, tx, db.Dialect(), p.Name(), p.Version())
	if err != nil {
		return versionRows{}, err
	}
	out.position = cp.Position
	return out, nil
}

// readVersion reads every row of a version's tables through q (a snapshot transaction for the live version).
func readVersion(ctx context.Context, q sqlx.QueryerContext, dialect sqldb.Dialect, name string, version int) (versionRows, error) {
	tables, err := listTables(ctx, q, dialect, name, version)
	if err != nil {
		return versionRows{}, err
	}
	out := versionRows{tables: map[string]tableRows{}}
	prefix := Prefix(name, version)
	for _, t := range tables {
		key, err := primaryKey(ctx, q, dialect, t)
		if err != nil {
			return versionRows{}, err
		}
		rows, err := digestRows(ctx, q, t, key)
		if err != nil {
			return versionRows{}, err
		}
		out.tables[t[len(prefix):]] = tableRows{key: key, rows: rows}
	}
	return out, nil
}

// listTables lists the tables of a projection version: the one named Prefix(name, version) and those starting
// with it and '_', sorted.
func listTables(ctx context.Context, q sqlx.QueryerContext, dialect sqldb.Dialect, name string, version int) ([]string, error) {
	query := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if dialect == sqldb.Postgres {
		query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	var all []string
	if err := sqlx.SelectContext(ctx, q, &all, query); err != nil {
		return nil, fmt.Errorf("projections: list tables: %w", err)
	}
	prefix := Prefix(name, version)
	var out []string
	for _, t := range all {
		if t == prefix || strings.HasPrefix(t, prefix+"_") {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// primaryKey returns the columns of a table's primary key, in key order (none: the table has no primary key).
func primaryKey(ctx context.Context, q sqlx.QueryerContext, dialect sqldb.Dialect, table string) ([]string, error) {
	var cols []string
	var err error
	if dialect == sqldb.Postgres {
		err = sqlx.SelectContext(ctx, q, &cols, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, table)
	} else {
		err = sqlx.SelectContext(ctx, q, &cols, "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", table)
	}
	if err != nil {
		return nil, fmt.Errorf("projections: primary key of %s: %w", table, err)
	}
	return cols, nil
}

// digestRows reads every row of table and returns its digest by key. A row's digest hashes its columns by name
// (sorted) and canonical value; its key renders the key columns' values. Without a primary key, a row is keyed by
// its digest (a change then shows as one row missing and one extra).
func digestRows(ctx context.Context, q sqlx.QueryerContext, table string, key []string) (map[string][32]byte, error) {
	rows, err := q.QueryxContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("projections: read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(cols[a], cols[b]) })
	keyIdx := make([]int, len(key))
	for i, k := range key {
		keyIdx[i] = slices.Index(cols, k)
	}
	out := map[string][32]byte{}
	var buf []byte
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return nil, fmt.Errorf("projections: read %s: %w", table, err)
		}
		buf = buf[:0]
		for _, i := range order {
			buf = strconv.AppendQuote(buf, cols[i])
			buf = append(buf, '=')
			buf = appendCanonical(buf, vals[i])
			buf = append(buf, ';')
		}
		sum := sha256.Sum256(buf)
		var k string
		if len(key) == 0 {
			k = fmt.Sprintf("row %x", sum[:8])
			for n := 2; ; n++ { // identical rows in a table without a key
				if _, dup := out[k]; !dup {
					break
				}
				k = fmt.Sprintf("row %x #%d", sum[:8], n)
			}
		} else {
			parts := make([]string, len(key))
			for j, i := range keyIdx {
				if i < 0 {
					return nil, fmt.Errorf("projections: %s: key column %s not read", table, key[j])
				}
				parts[j] = key[j] + "=" + string(appendCanonical(nil, vals[i]))
			}
			k = strings.Join(parts, ", ")
		}
		out[k] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: read %s: %w", table, err)
	}
	return out, nil
}

// appendCanonical appends one value in a form that does not depend on how the driver returned it.
func appendCanonical(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "NULL"...)
	case []byte:
		return append(buf, x...)
	case string:
		return append(buf, x...)
	case time.Time:
		return x.UTC().AppendFormat(buf, time.RFC3339Nano)
	case bool:
		return strconv.AppendBool(buf, x)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case float64:
		return strconv.AppendFloat(buf, x, 'g', -1, 64)
	default:
		return fmt.Append(buf, x)
	}
}

// compareTables compares the live rows with the rebuilt ones, table by table (by suffix).
func compareTables(name string, live, rebuilt versionRows) []TableDiff {
	suffixes := map[string]bool{}
	for s := range live.tables {
		suffixes[s] = true
	}
	for s := range rebuilt.tables {
		suffixes[s] = true
	}
	var out []TableDiff
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for s := range suffixes {
			if !yield(s) {
				return
			}
		}
	}) {
		l, r := live.tables[s], rebuilt.tables[s]
		d := TableDiff{Table: name + s, Key: l.key, LiveRows: len(l.rows), RebuiltRows: len(r.rows)}
		if d.Key == nil {
			d.Key = r.key
		}
		for k, sum := range r.rows {
			ls, ok := l.rows[k]
			switch {
			case !ok:
				d.Missing = append(d.Missing, k)
			case ls != sum:
				d.Changed = append(d.Changed, k)
			}
		}
		for k := range l.rows {
			if _, ok := r.rows[k]; !ok {
				d.Extra = append(d.Extra, k)
			}
		}
		slices.Sort(d.Missing)
		slices.Sort(d.Extra)
		slices.Sort(d.Changed)
		out = append(out, d)
	}
	return out
}

// errReached stops the source once the target is passed.
var errReached = errors.New("projections: target reached")

// applyUntil applies every event of the log up to position target (inclusive) to p's tables, in batches, and
// returns how many it applied.
func applyUntil(ctx context.Context, db *sqldb.DB, source Source, p Projection, target uint64, maxBatch int,
	progress func(position, target uint64)) (int64, error) {
	return applyRange(ctx, db, source, p, 0, target, maxBatch, progress)
}

// applyRange applies the events of the log after position after (0: from the start) up to position target
// (inclusive) to p's tables, in batches, and returns how many it applied.
func applyRange(ctx context.Context, db *sqldb.DB, source Source, p Projection, after, target uint64, maxBatch int,
	progress func(position, target uint64)) (int64, error) {
	if target == 0 || target <= after {
		return 0, nil
	}
	var applied int64
	batch := make([]event.Envelope, 0, maxBatch)
	records := make([]event.Record, 0, maxBatch)
	_, raw := p.(RecordApplier)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return applyTo(ctx, tx, p, batch, records) }); err != nil {
			return fmt.Errorf("%w: batch of positions %d..%d: %w", ErrApply, batch[0].Position, batch[len(batch)-1].Position, err)
		}
		applied += int64(len(batch))
		if progress != nil {
			progress(batch[len(batch)-1].Position, target)
		}
		batch, records = batch[:0], records[:0]
		return nil
	}
	last := after
	err := source.Run(ctx, after, func(ctx context.Context, d event.Delivery) error {
		switch {
		case d.CaughtUp:
			return errReached
		case d.Record.Position > target:
			return errReached
		case d.Err != nil && !raw:
			return fmt.Errorf("%w: position %d (stream %s, revision %d, type %q): %w",
				ErrUndecodable, d.Record.Position, d.Record.Stream, d.Record.Revision, d.Record.Type, d.Err)
		}
		batch = append(batch, d.Envelope)
		records = append(records, d.Record)
		last = d.Record.Position
		if len(batch) >= maxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		if last == target {
			return errReached
		}
		return nil
	})
	if err != nil && !errors.Is(err, errReached) {
		return applied, err
	}
	if err := flush(); err != nil {
		return applied, err
	}
	if last < target {
		return applied, fmt.Errorf("the log ends at %d, before the checkpoint %d", last, target)
	}
	return applied, nil
}

// recordVerification keeps the last verification of a projection, for the metrics.
func recordVerification(ctx context.Context, db *sqldb.DB, r Report, at time.Time) error {
	clean := 0
	if r.Clean() {
		clean = 1
	}
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM projection_verifications WHERE name = ?"), r.Projection); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO projection_verifications
			(name, version, verified_at, position, clean, rows_compared, differences) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			r.Projection, r.Version, at.UTC(), int64(r.Position), clean, r.Rows, r.Differences())
		return err
	})
	if err != nil {
		return fmt.Errorf("projections: record the verification of %s: %w", r.Projection, err)
	}
	return nil
}

// Verification is the last recorded verification of a projection.
type Verification struct {
	Name        string    `db:"name"`
	Version     int       `db:"version"`
	VerifiedAt  time.Time `db:"verified_at"`
	Position    int64     `db:"position"`
	Clean       int       `db:"clean"`
	Rows        int64     `db:"rows_compared"`
	Differences int64     `db:"differences"`
}

// ReadVerifications returns the last verification of every projection verified so far, by name.
func ReadVerifications(ctx context.Context, q sqlx.QueryerContext) ([]Verification, error) {
	var out []Verification
	if err := sqlx.SelectContext(ctx, q, &out, "SELECT name, version, verified_at, position, clean, rows_compared, differences FROM projection_verifications ORDER BY name"); err != nil {
		return nil, fmt.Errorf("projections: read verifications: %w", err)
	}
	return out, nil
}
