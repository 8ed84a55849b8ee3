package sqldb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/jmoiron/sqlx"
)

// OpenScratch opens a private, in-memory SQLite database for throwaway work (the audit's "as of" views replay
// events into one and drop it): one connection, which the database lives as long as, serving writes and reads
// alike (Reader returns the same pool), with the same time format as a file database, so the projections' code and
// queries read it as they read the live one. Nothing touches the disk; Close discards everything. Its leases are lock files in a temporary directory of its own.
func OpenScratch(ctx context.Context) (*DB, error) {
	params := url.Values{}
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "journal_mode(OFF)") // throwaway: no rollback journal to keep
	params.Set("_time_format", "sqlite")
	stmts := new(stmtCounters)
	pool, err := openPool(SQLite, "file::memory:?"+params.Encode(), stmts, nil)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open scratch SQLite: %w", err)
	}
	// One connection, never recycled: each connection to ":memory:" is a database of its own.
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqldb: open scratch SQLite: %w", err)
	}
	// Leases (the migrations take one) are lock files in a directory of its own, removed by Close.
	dir, err := os.MkdirTemp("", "dossier-scratch-*")
	if err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqldb: open scratch SQLite: %w", err)
	}
	db := sqlx.NewDb(pool, SQLite.sqlxDriverName())
	return &DB{
		DB: db, dialect: SQLite, reader: db, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		leases: make(map[*Lease]struct{}), holder: "scratch", leaseDir: dir, scratch: true, stmts: stmts,
	}, nil
}
