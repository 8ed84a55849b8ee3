package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Writer traffic. On SQLite every write of the process goes through one connection (the writer): projection
// batches, reaction checkpoints and effects, sessions, lease holders. The writer's connections observe, per write
// transaction (or statement outside one), what it wrote, how long its caller waited for the connection and how long
// it held it, so that operators and benchmarks can tell who queues on whom (BENCHMARKS.md, "Writer traffic (session
// 8)"). On PostgreSQL the same is measured on the pool's connections (the wait is then for any connection).
//
// The kind of a write is read from the tables it wrote (no caller has to say it, no personal data: table names are
// fixed in the code): see writeKind. Metrics (Registry: DB.RegisterMetrics):
//
//	dossier_sqldb_writes_total{kind,outcome}   write transactions (and statements outside one) by kind: commit,
//	                                           rollback (a statement outside a transaction: commit or rollback by
//	                                           its error)
//	dossier_sqldb_writer_hold_seconds{kind}     how long each held the connection (from BEGIN to COMMIT or ROLLBACK)
//	dossier_sqldb_writer_wait_seconds{kind}     how long its caller waited for the connection (InTx, InLazyTx and
//	                                           DB.ExecContext; other paths count 0)
//	dossier_sqldb_writer_waits_total            database/sql's count of waits for a connection (every path)
//	dossier_sqldb_writer_wait_seconds_total     and their total time

// The kinds of write (the label kind); a write to none of the tables below is labelled with the first table it
// wrote, and a transaction that wrote nothing with kindNone.
const (
	kindProjection         = "projection"          // a projection batch (rows and projection_checkpoints)
	kindReactionEffect     = "reaction_effect"     // a reaction's keyed effect (reaction_processed, reaction_in_flight)
	kindReactionPoison     = "reaction_poison"     // a poison row or replay
	kindReactionCheckpoint = "reaction_checkpoint" // a reaction's checkpoint alone
	kindSession            = "session"             // a session created, touched or ended
	kindLease              = "lease"               // who holds which lease
	kindNone               = "none"                // a transaction on the writer that wrote nothing
)

// kindRank orders the kinds a transaction may combine: the first found names it.
var kindRank = []struct{ table, kind string }{
	{"projection_checkpoints", kindProjection},
	{"reaction_processed", kindReactionEffect},
	{"reaction_in_flight", kindReactionEffect},
	{"reaction_poison", kindReactionPoison},
	{"reaction_checkpoint", kindReactionCheckpoint},
	{"session", kindSession},
	{"sqldb_lease_holder", kindLease},
}

// writeKind names a write by the tables it wrote (in order).
func writeKind(tables []string) string {
	if len(tables) == 0 {
		return kindNone
	}
	for _, r := range kindRank {
		for _, t := range tables {
			if t == r.table {
				return r.kind
			}
		}
	}
	return tables[0]
}

// writtenTable returns the table a statement writes ("" for one that writes none: SELECT, PRAGMA, BEGIN …).
func writtenTable(query string) string {
	q := strings.TrimLeft(query, " \t\r\n(")
	var rest string
	switch {
	case hasPrefixFold(q, "INSERT INTO "):
		rest = q[len("INSERT INTO "):]
	case hasPrefixFold(q, "INSERT OR REPLACE INTO "):
		rest = q[len("INSERT OR REPLACE INTO "):]
	case hasPrefixFold(q, "INSERT OR IGNORE INTO "):
		rest = q[len("INSERT OR IGNORE INTO "):]
	case hasPrefixFold(q, "UPDATE "):
		rest = q[len("UPDATE "):]
	case hasPrefixFold(q, "DELETE FROM "):
		rest = q[len("DELETE FROM "):]
	case hasPrefixFold(q, "CREATE "), hasPrefixFold(q, "DROP "), hasPrefixFold(q, "ALTER "):
		return "schema"
	default:
		return ""
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	end := strings.IndexAny(rest, " \t\r\n(")
	if end < 0 {
		end = len(rest)
	}
	return strings.ToLower(rest[:end])
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// writeStats are a DB's writer metrics.
type writeStats struct {
	writes *prometheus.CounterVec
	hold   *prometheus.HistogramVec
	wait   *prometheus.HistogramVec

	mu     sync.Mutex
	tables map[string]string // statement text → table it writes (a bounded set: the program's statements)
}

// writerBuckets go from 50 µs (a checkpoint upsert) to about 1.2 s (a rebuild's batch, a queue behind one).
var writerBuckets = prometheus.ExponentialBuckets(0.00005, 2.5, 12)

func newWriteStats() *writeStats {
	return &writeStats{
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dossier_sqldb_writes_total",
			Help: "Write transactions (and statements outside one) on the read-model database's writer, by kind (the tables written) and outcome."},
			[]string{"kind", "outcome"}),
		hold: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dossier_sqldb_writer_hold_seconds",
			Help: "How long each write transaction held the writer's connection, by kind.", Buckets: writerBuckets},
			[]string{"kind"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dossier_sqldb_writer_wait_seconds",
			Help: "How long each write transaction's caller waited for the writer's connection, by kind.", Buckets: writerBuckets},
			[]string{"kind"}),
		tables: make(map[string]string),
	}
}

// table returns the table query writes, parsed once per statement text.
func (s *writeStats) table(query string) string {
	s.mu.Lock()
	t, ok := s.tables[query]
	s.mu.Unlock()
	if ok {
		return t
	}
	t = writtenTable(query)
	s.mu.Lock()
	if len(s.tables) < 4096 { // the program's statements; a bulk insert's texts vary with their row count
		s.tables[query] = t
	}
	s.mu.Unlock()
	return t
}

// observe records one write.
func (s *writeStats) observe(tables []string, wait, hold time.Duration, err error) {
	kind := writeKind(tables)
	outcome := "commit"
	if err != nil {
		outcome = "rollback"
	}
	s.writes.WithLabelValues(kind, outcome).Inc()
	s.hold.WithLabelValues(kind).Observe(hold.Seconds())
	s.wait.WithLabelValues(kind).Observe(max(0, wait).Seconds())
}

// writeObs is what a writer connection notes of the write in progress.
type writeObs struct {
	stats  *writeStats
	begun  time.Time
	wait   time.Duration
	tables []string
}

// noteTable adds the table query writes, if any and not yet noted.
func (w *writeObs) noteTable(query string) {
	t := w.stats.table(query)
	if t == "" {
		return
	}
	for _, seen := range w.tables {
		if seen == t {
			return
		}
	}
	w.tables = append(w.tables, t)
}

// begin starts the observation of a transaction (or statement) on the connection: ctx tells when its caller asked
// for the connection (requestedAt).
func (w *writeObs) begin(ctx context.Context) {
	w.begun = time.Now()
	w.wait = 0
	if at, ok := ctx.Value(requestedKey{}).(time.Time); ok {
		w.wait = w.begun.Sub(at)
	}
	w.tables = w.tables[:0]
}

// end records the write begun.
func (w *writeObs) end(err error) {
	w.stats.observe(w.tables, w.wait, time.Since(w.begun), err)
}

// errRolledBack marks a transaction rolled back, for its outcome label.
var errRolledBack = errors.New("rolled back")

// observe notes a statement of the connection's write: inside a transaction, the table it writes; outside one, a
// write of its own if it writes a table. The returned func ends it with the statement's error.
func (c *cachingConn) observe(ctx context.Context, query string) func(*error) {
	if c.inTx {
		c.obs.noteTable(query)
		return func(*error) {}
	}
	if c.obs.stats.table(query) == "" {
		return func(*error) {}
	}
	c.obs.begin(ctx)
	c.obs.noteTable(query)
	return func(err *error) { c.obs.end(*err) }
}

type requestedKey struct{}

// requested marks ctx with the time its caller asks for a connection of the writer, unless it is marked already.
func (db *DB) requested(ctx context.Context) context.Context {
	if db.writes == nil {
		return ctx
	}
	return context.WithValue(ctx, requestedKey{}, time.Now())
}

// ExecContext runs a statement on the writer (the embedded *sqlx.DB's ExecContext), timing the wait for its
// connection (dossier_sqldb_writer_wait_seconds).
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(db.requested(ctx), query, args...)
}

// RegisterMetrics registers the writer's metrics (see writestats.go) on reg.
func (db *DB) RegisterMetrics(reg prometheus.Registerer) error {
	if db.writes == nil {
		return nil
	}
	stats := db.DB.DB
	cs := []prometheus.Collector{db.writes.writes, db.writes.hold, db.writes.wait,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dossier_sqldb_writer_waits_total",
			Help: "Times a caller waited for a connection of the read-model database's writer (every path)."},
			func() float64 { return float64(stats.Stats().WaitCount) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dossier_sqldb_writer_wait_seconds_total",
			Help: "Total time callers waited for a connection of the read-model database's writer (every path)."},
			func() float64 { return stats.Stats().WaitDuration.Seconds() }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
