package sqldb

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
)

// StatementCacheSize is how many prepared statements each connection of a DB keeps (least recently used first out).
const StatementCacheSize = 256

// The statement cache. database/sql over modernc's SQLite and lib/pq prepares every query again: on SQLite the
// parse and plan were 12 % of the server's CPU under the mixed load (BENCHMARKS.md, "Load"), and lib/pq sends each
// query with arguments as Parse/Describe, waits, then Bind/Execute (two round trips). The cache sits below
// database/sql, in the driver connection, so every caller gets it without a change: sqlx's Rebind has already run
// (the text is the dialect's), and a transaction is one connection, so its statements are cached as the
// connection's. A statement is prepared once per connection and SQL text; the next queries with the same text
// only bind and run it (one round trip on PostgreSQL).
//
// What is not cached: explicit Prepare (the caller owns that statement), COPY, and on PostgreSQL a statement
// without arguments (lib/pq sends it as one simple query already, and a script of several statements cannot be
// prepared there). A cached statement whose rows are still open (a second query of the same text inside one
// transaction, before the first rows are closed) is not used twice: that query runs unprepared. SQLite re-prepares
// a statement by itself when the schema changed; PostgreSQL refuses a cached plan whose result columns changed
// (SQLSTATE 0A000): the statement is then dropped from the cache and prepared again on the next use.

// StatementCacheStats counts the statement cache's work over every connection of a DB.
type StatementCacheStats struct {
	Hits     int64 // queries that ran a statement already prepared
	Prepares int64 // statements prepared for the cache
	Bypassed int64 // queries that ran unprepared (not cacheable, or the cached statement was busy)
}

type stmtCounters struct{ hits, prepares, bypassed atomic.Int64 }

func (c *stmtCounters) stats() StatementCacheStats {
	return StatementCacheStats{Hits: c.hits.Load(), Prepares: c.prepares.Load(), Bypassed: c.bypassed.Load()}
}

// cachingConnector opens connections that keep their prepared statements.
type cachingConnector struct {
	base     driver.Connector
	postgres bool
	size     int
	counters *stmtCounters
	writes   *writeStats // the writer's metrics (writestats.go); nil: not observed (the SQLite reader pool)
}

func newCachingConnector(base driver.Connector, dialect Dialect, counters *stmtCounters, writes *writeStats) *cachingConnector {
	return &cachingConnector{base: base, postgres: dialect == Postgres, size: StatementCacheSize, counters: counters, writes: writes}
}

func (c *cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc := &cachingConn{Conn: conn, owner: c, lru: list.New(), byText: make(map[string]*list.Element)}
	if c.writes != nil {
		cc.obs = &writeObs{stats: c.writes}
	}
	return cc, nil
}

func (c *cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// cachingConn is a driver connection with its statement cache. database/sql uses a connection from one goroutine
// at a time, so the cache needs no lock.
type cachingConn struct {
	driver.Conn
	owner  *cachingConnector
	lru    *list.List // of *cachedStmt, most recently used first
	byText map[string]*list.Element
	inTx   bool      // a transaction is open on the connection
	obs    *writeObs // the write in progress (nil: not observed)
}

type cachedStmt struct {
	text    string
	stmt    driver.Stmt
	busy    bool // its rows are open
	evicted bool // out of the cache: close it when its rows close
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
	_ driver.NamedValueChecker  = (*cachingConn)(nil)
)

func (c *cachingConn) cacheable(query string, args []driver.NamedValue) bool {
	if c.owner.postgres && len(args) == 0 {
		return false
	}
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) < 4 || !strings.EqualFold(q[:4], "COPY")
}

// get returns the cached statement of query, preparing it if needed; nil when it is busy (run unprepared).
func (c *cachingConn) get(ctx context.Context, query string) (*cachedStmt, error) {
	if el, ok := c.byText[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		c.owner.counters.hits.Add(1)
		return cs, nil
	}
	st, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	c.owner.counters.prepares.Add(1)
	cs := &cachedStmt{text: query, stmt: st}
	c.byText[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.owner.size {
		c.evict(c.lru.Back().Value.(*cachedStmt))
	}
	return cs, nil
}

func (c *cachingConn) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

// evict takes cs out of the cache and closes it, or leaves the closing to its rows when they are open.
func (c *cachingConn) evict(cs *cachedStmt) {
	if el, ok := c.byText[cs.text]; ok && el.Value.(*cachedStmt) == cs {
		c.lru.Remove(el)
		delete(c.byText, cs.text)
	}
	cs.evicted = true
	if !cs.busy {
		_ = cs.stmt.Close()
	}
}

// stale drops a statement PostgreSQL no longer accepts (its plan's result columns changed under it: a view or
// table was replaced) and reports whether the query may run again unprepared: outside a transaction only, since
// the error has aborted a transaction.
func (c *cachingConn) stale(cs *cachedStmt, err error) bool {
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) || coded.SQLState() != "0A000" {
		return false
	}
	c.evict(cs)
	return !c.inTx
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (rows driver.Rows, err error) {
	if c.obs != nil {
		defer c.observe(ctx, query)(&err)
	}
	if c.cacheable(query, args) {
		cs, err := c.get(ctx, query)
		if err != nil {
			return nil, err
		}
		if cs != nil {
			rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
			if err == nil {
				cs.busy = true
				return &cachedRows{Rows: rows, cs: cs}, nil
			}
			if !c.stale(cs, err) {
				return nil, err
			}
		}
	}
	c.owner.counters.bypassed.Add(1)
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (res driver.Result, err error) {
	if c.obs != nil {
		defer c.observe(ctx, query)(&err)
	}
	if c.cacheable(query, args) {
		cs, err := c.get(ctx, query)
		if err != nil {
			return nil, err
		}
		if cs != nil {
			res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
			if err == nil || !c.stale(cs, err) {
				return res, err
			}
		}
	}
	c.owner.counters.bypassed.Add(1)
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

// PrepareContext prepares a statement its caller owns (and closes): not cached.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var (
		tx  driver.Tx
		err error
	)
	if c.obs != nil {
		c.obs.begin(ctx)
	}
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback for a driver without BeginTx (ours both have it)
		tx, err = c.Conn.Begin()
	}
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return cachingTx{Tx: tx, c: c}, nil
}

// cachingTx notes the end of the connection's transaction.
type cachingTx struct {
	driver.Tx
	c *cachingConn
}

func (t cachingTx) Commit() error {
	t.c.inTx = false
	err := t.Tx.Commit()
	if t.c.obs != nil {
		t.c.obs.end(err)
	}
	return err
}

func (t cachingTx) Rollback() error {
	t.c.inTx = false
	err := t.Tx.Rollback()
	if t.c.obs != nil {
		t.c.obs.end(errRolledBack)
	}
	return err
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue converts arguments as the driver's connection does (ErrSkip: database/sql's default conversion).
func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// Close closes the connection, after the cached statements on SQLite (they hold memory of the connection's). A
// PostgreSQL session's prepared statements end with it: closing each would be a round trip, on a connection that
// may be broken already.
func (c *cachingConn) Close() error {
	if !c.owner.postgres {
		for el := c.lru.Front(); el != nil; el = el.Next() {
			_ = el.Value.(*cachedStmt).stmt.Close()
		}
	}
	c.lru.Init()
	clear(c.byText)
	return c.Conn.Close()
}

// cachedRows are the rows of a cached statement: closing them frees the statement for the next query.
type cachedRows struct {
	driver.Rows
	cs     *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.cs.busy = false
		if r.cs.evicted {
			err = errors.Join(err, r.cs.stmt.Close())
		}
	}
	return err
}

// The optional interfaces of driver rows, passed on (with database/sql's answers when the driver has none).

func (r *cachedRows) HasNextResultSet() bool {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *cachedRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// Begin is BeginTx with the default options.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}
