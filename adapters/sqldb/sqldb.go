package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The dialects a DB can speak.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLitePath is where the embedded read-model database lives unless configured otherwise.
const DefaultSQLitePath = "./var/dossier.db"

// ErrUnknownDialect is returned for a dialect other than SQLite and Postgres.
var ErrUnknownDialect = errors.New("sqldb: unknown dialect")

// ParseDialect maps "sqlite" or "postgres" (also "postgresql") to its Dialect.
func ParseDialect(s string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sqlite":
		return SQLite, nil
	case "postgres", "postgresql":
		return Postgres, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownDialect, s)
}

// sqlxDriverName is the driver name given to sqlx, which derives its bind style from it: sqlx knows "sqlite3" (for
// '?') but not modernc's "sqlite", and registering it would be global state.
func (d Dialect) sqlxDriverName() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite3"
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
	// MaxOpenConns bounds the PostgreSQL pool (default 16) or the SQLite reader pool (default 4). The SQLite writer
	// always has exactly one connection.
	MaxOpenConns int
	// BusyTimeout is how long SQLite waits for a lock held by another process (default 5s).
	BusyTimeout time.Duration
	// Holder names this process in the record of who holds which lease (LeaseHolders): a replica id. Empty:
	// DefaultHolder (host name and process id).
	Holder string
}

// DB is a read-model database: the embedded *sqlx.DB (the single writer on SQLite) plus its dialect.
type DB struct {
	*sqlx.DB
	dialect Dialect
	reader  *sqlx.DB
	logger  *slog.Logger

	// PostgreSQL: a pool without idle connections, each lease holding one of them for as long as it lives.
	leasePool *sql.DB
	// SQLite: the directory holding the lease lock files.
	leaseDir string
	// scratch: a database of OpenScratch, whose lease directory Close removes.
	scratch bool

	holder string // see Options.Holder

	stmts  *stmtCounters // the statement cache's counters, over both pools (stmtcache.go)
	writes *writeStats   // the writer's metrics (writestats.go); nil on a scratch database

	mu          sync.Mutex
	leases      map[*Lease]struct{}
	closed      bool
	holderTable bool // sqldb_lease_holder exists
}

// Open connects to a read-model database and checks that it answers. For SQLite, dsn is a file path (its directory
// is created if missing); for Postgres, a connection URL or key=value string understood by lib/pq.
func Open(ctx context.Context, dialect Dialect, dsn string, opts Options) (*DB, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var (
		db  *DB
		err error
	)
	switch dialect {
	case SQLite:
		db, err = openSQLite(ctx, dsn, opts, logger)
	case Postgres:
		db, err = openPostgres(ctx, dsn, opts, logger)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownDialect, dialect)
	}
	if err != nil {
		return nil, err
	}
	db.holder = opts.Holder
	if db.holder == "" {
		db.holder = DefaultHolder()
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string, opts Options, logger *slog.Logger) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("sqldb: empty PostgreSQL connection string")
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 16
	}
	stmts, writes := new(stmtCounters), newWriteStats()
	pool, err := openPool(Postgres, dsn, stmts, writes)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(maxOpen)
	pool.SetMaxIdleConns(maxOpen)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqldb: connect postgres: %w", err)
	}
	leasePool, err := sql.Open("postgres", dsn)
	if err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("sqldb: open postgres lease pool: %w", err)
	}
	// A lease's lock lives as long as its session: a connection going back to an idle pool would keep it.
	leasePool.SetMaxIdleConns(0)
	db := sqlx.NewDb(pool, Postgres.sqlxDriverName())
	return &DB{
		DB:        db,
		dialect:   Postgres,
		reader:    db,
		logger:    logger,
		leasePool: leasePool,
		leases:    make(map[*Lease]struct{}),
		stmts:     stmts,
		writes:    writes,
	}, nil
}

func openSQLite(ctx context.Context, path string, opts Options, logger *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqldb: empty SQLite path")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqldb: SQLite needs a plain file path, got %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqldb: create SQLite directory: %w", err)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")
	common.Set("_time_format", "sqlite")

	writerParams := url.Values{}
	for k, v := range common {
		writerParams[k] = append([]string(nil), v...)
	}
	writerParams.Add("_pragma", "journal_mode(WAL)")
	writerParams.Add("_pragma", "synchronous(NORMAL)")
	writerParams.Set("_txlock", "immediate")

	stmts, writes := new(stmtCounters), newWriteStats()
	writer, err := openPool(SQLite, path+"?"+writerParams.Encode(), stmts, writes)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open SQLite: %w", err)
	}
	// One connection, kept for the life of the process: SQLite admits one writer at a time, and queueing writers in
	// the pool is cheaper and more predictable than letting them collide on the file lock.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqldb: open SQLite %s: %w", filepath.Base(path), err)
	}

	readerParams := common
	readerParams.Set("_query_only", "1")
	readerPool, err := openPool(SQLite, path+"?"+readerParams.Encode(), stmts, nil)
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqldb: open SQLite reader: %w", err)
	}
	maxReaders := opts.MaxOpenConns
	if maxReaders <= 0 {
		maxReaders = 4
	}
	readerPool.SetMaxOpenConns(maxReaders)
	readerPool.SetMaxIdleConns(maxReaders)
	if err := readerPool.PingContext(ctx); err != nil {
		_ = readerPool.Close()
		_ = writer.Close()
		return nil, fmt.Errorf("sqldb: open SQLite reader: %w", err)
	}
	return &DB{
		DB:       sqlx.NewDb(writer, SQLite.sqlxDriverName()),
		dialect:  SQLite,
		reader:   sqlx.NewDb(readerPool, SQLite.sqlxDriverName()),
		logger:   logger,
		leaseDir: path + ".leases",
		leases:   make(map[*Lease]struct{}),
		stmts:    stmts,
		writes:   writes,
	}, nil
}

// openPool opens a pool of dialect's driver whose connections keep their prepared statements (stmtcache.go),
// counted in stmts, and whose writes are observed in writes (unless nil: writestats.go).
func openPool(dialect Dialect, dsn string, stmts *stmtCounters, writes *writeStats) (*sql.DB, error) {
	var (
		base driver.Connector
		err  error
	)
	if dialect == Postgres {
		base, err = pq.NewConnector(dsn)
	} else {
		base, err = sqlite.NewConnector(dsn)
	}
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(newCachingConnector(base, dialect, stmts, writes)), nil
}

// StatementCacheStats tells how the statement cache of the DB's connections has been used so far.
func (db *DB) StatementCacheStats() StatementCacheStats {
	if db.stmts == nil {
		return StatementCacheStats{}
	}
	return db.stmts.stats()
}

// Dialect tells which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Reader returns the pool for read-only queries: on SQLite a separate read-only pool, so that reads never queue
// behind the single writer (WAL lets them see the last committed state); on PostgreSQL the DB's own pool. A write
// through it fails on SQLite.
func (db *DB) Reader() *sqlx.DB { return db.reader }

// Close releases every lease still held, then closes the pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	leases := make([]*Lease, 0, len(db.leases))
	for l := range db.leases {
		leases = append(leases, l)
	}
	db.mu.Unlock()

	var errs []error
	for _, l := range leases {
		l.end(ErrLeaseReleased)
	}
	if db.reader != db.DB {
		errs = append(errs, db.reader.Close())
	}
	if db.leasePool != nil {
		errs = append(errs, db.leasePool.Close())
	}
	errs = append(errs, db.DB.Close())
	if db.scratch {
		errs = append(errs, os.RemoveAll(db.leaseDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqldb: close: %w", err)
	}
	return nil
}
