package projbench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// Target hands out fresh, empty read-model databases of one dialect.
type Target struct {
	Dialect sqldb.Dialect
	dir     string  // SQLite: parent directory of the database files
	admin   *sql.DB // PostgreSQL: the server, to create and drop databases
	url     *url.URL
	seq     atomic.Int64
}

// NewSQLiteTarget creates databases as files under dir (the system temp dir if empty).
func NewSQLiteTarget(dir string) (*Target, error) {
	d, err := os.MkdirTemp(dir, "projbench-*")
	if err != nil {
		return nil, fmt.Errorf("projbench: %w", err)
	}
	return &Target{Dialect: sqldb.SQLite, dir: d}, nil
}

// NewPostgresTarget creates databases on the server at serverURL (a postgres:// URL of a role allowed to create
// databases).
func NewPostgresTarget(ctx context.Context, serverURL string) (*Target, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("projbench: the PostgreSQL server must be given as a postgres:// URL")
	}
	admin, err := sql.Open("postgres", serverURL)
	if err != nil {
		return nil, fmt.Errorf("projbench: %w", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("projbench: connect to PostgreSQL: %w", err)
	}
	return &Target{Dialect: sqldb.Postgres, admin: admin, url: u}, nil
}

// Close removes what the target created.
func (t *Target) Close() error {
	if t.admin != nil {
		return t.admin.Close()
	}
	return os.RemoveAll(t.dir)
}

// Open returns a fresh, empty database and the function that closes and removes it.
func (t *Target) Open(ctx context.Context) (*sqldb.DB, func(), error) {
	n := t.seq.Add(1)
	if t.Dialect == sqldb.SQLite {
		dir := filepath.Join(t.dir, fmt.Sprintf("db%d", n))
		db, err := sqldb.Open(ctx, sqldb.SQLite, filepath.Join(dir, "bench.db"), sqldb.Options{})
		if err != nil {
			return nil, nil, err
		}
		return db, func() { _ = db.Close(); _ = os.RemoveAll(dir) }, nil
	}
	name := fmt.Sprintf("projbench_%d_%d", os.Getpid(), n)
	if _, err := t.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, nil, fmt.Errorf("projbench: create database: %w", err)
	}
	u := *t.url
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = t.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	}
	db, err := sqldb.Open(ctx, sqldb.Postgres, u.String(), sqldb.Options{})
	if err != nil {
		drop()
		return nil, nil, err
	}
	return db, func() { _ = db.Close(); drop() }, nil
}

// RebuildRate rebuilds streamactivity from the whole log into db and returns the events applied per second, from
// the call to the switch-in of the caught-up version (migrations, every batch and its commit included).
func RebuildRate(ctx context.Context, db *sqldb.DB, source projections.Source) (Rate, error) {
	start := time.Now()
	p, err := projections.Rebuild(ctx, db, source, streamactivity.New(), projections.RebuildOptions{})
	elapsed := time.Since(start)
	if err != nil {
		return Rate{}, err
	}
	if p.Events == 0 {
		return Rate{}, errNoEvents
	}
	return rate(int(p.Events), elapsed), nil
}

// ReadRate reads the whole log through source, decoding every event as a projection's feed does, and applies
// nothing: the ceiling a rebuild cannot pass.
func ReadRate(ctx context.Context, source projections.Source) (Rate, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	start := time.Now()
	var elapsed time.Duration
	err := source.Run(ctx, 0, func(_ context.Context, d event.Delivery) error {
		switch {
		case d.CaughtUp:
			elapsed = time.Since(start)
			cancel()
		case d.Err != nil:
			return d.Err
		default:
			n++
		}
		return nil
	})
	if elapsed == 0 {
		if err == nil {
			err = errors.New("the source ended before reaching the head of the log")
		}
		return Rate{}, fmt.Errorf("projbench: read the log: %w", err)
	}
	return rate(n, elapsed), nil
}

// rawColumns are streamactivity's columns; the raw table keys rows by (stream, last_revision) so that every event's
// row is a row of its own.
var rawColumns = []string{"stream", "category", "last_revision", "last_event_type", "event_count",
	"first_recorded_at", "last_recorded_at", "last_position"}

const rawTable = `CREATE TABLE rawactivity (
    stream            TEXT      NOT NULL,
    category          TEXT      NOT NULL,
    last_revision     BIGINT    NOT NULL,
    last_event_type   TEXT      NOT NULL,
    event_count       BIGINT    NOT NULL,
    first_recorded_at TIMESTAMP NOT NULL,
    last_recorded_at  TIMESTAMP NOT NULL,
    last_position     BIGINT    NOT NULL,
    PRIMARY KEY (stream, last_revision)
)`

const rawIndex = "CREATE INDEX rawactivity_by_category ON rawactivity (category, last_position)"

// RawRows returns one streamactivity-shaped row per event of a log of events events over streams streams laid out
// as Fill lays it out: the row of each stream as it stands after each of its events.
func RawRows(events, streams int) [][]any {
	names := make([]string, streams)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%08d-0000-4000-8000-%012d", Category, i, i)
	}
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	rows := make([][]any, 0, events)
	for seq := range events {
		round, i := seq/streams, seq%streams
		rows = append(rows, []any{names[i], Category, int64(round), EventType, int64(round + 1),
			t0, t0.Add(time.Duration(seq) * time.Millisecond), int64(seq+1) * 512})
	}
	return rows
}

// RawInsert inserts rows into a fresh table of the same shape as streamactivity's (same columns, same secondary
// index) in one transaction: COPY on PostgreSQL, a prepared multi-row INSERT of up to 1000 rows per execution on
// SQLite. It is the ceiling the rebuild is compared with.
func RawInsert(ctx context.Context, db *sqldb.DB, rows [][]any) (Rate, error) {
	for _, q := range []string{"DROP TABLE IF EXISTS rawactivity", rawTable, rawIndex} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return Rate{}, fmt.Errorf("projbench: raw table: %w", err)
		}
	}
	start := time.Now()
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		if tx.Dialect() == sqldb.Postgres {
			return copyRows(ctx, tx, rows)
		}
		return insertRows(ctx, tx, rows)
	})
	elapsed := time.Since(start)
	if err != nil {
		return Rate{}, fmt.Errorf("projbench: raw insert: %w", err)
	}
	return rate(len(rows), elapsed), nil
}

func copyRows(ctx context.Context, tx *sqldb.Tx, rows [][]any) error {
	stmt, err := tx.PrepareContext(ctx, "COPY rawactivity ("+strings.Join(rawColumns, ", ")+") FROM STDIN")
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			_ = stmt.Close()
			return err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		_ = stmt.Close()
		return err
	}
	return stmt.Close()
}

func insertRows(ctx context.Context, tx *sqldb.Tx, rows [][]any) error {
	const perStmt = 1000
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rawColumns)), ", ") + ")"
	head := "INSERT INTO rawactivity (" + strings.Join(rawColumns, ", ") + ") VALUES "
	prepare := func(n int) (*sql.Stmt, error) {
		return tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", "))
	}
	full, err := prepare(perStmt)
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, perStmt*len(rawColumns))
	for start := 0; start < len(rows); start += perStmt {
		chunk := rows[start:min(start+perStmt, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		stmt := full
		if len(chunk) < perStmt {
			if stmt, err = prepare(len(chunk)); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
