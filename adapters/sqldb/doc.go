// Package sqldb opens the read-model database and gives projections the few helpers they need so that the same SQL
// runs on SQLite (the embedded default, through modernc.org/sqlite) and on PostgreSQL (production, through
// github.com/lib/pq).
//
// # Connections
//
// [Open] returns a [DB]: an embedded *sqlx.DB plus its [Dialect].
//
// On SQLite the embedded pool is the single writer: it holds exactly one connection, so two goroutines never write at
// the same time and the process never sees SQLITE_BUSY from itself; transactions begin IMMEDIATE, so a second process
// on the same file (a CLI run beside the server) waits up to busy_timeout instead of failing on a lock upgrade. The
// file runs in WAL mode with foreign keys on and synchronous=NORMAL: a power cut may lose the last commits but never
// corrupts the file, and read models are rebuilt from the event store anyway (their checkpoint lives in the same
// transaction as their rows, so a lost commit is replayed). Because the writer has one connection, code running
// inside [DB.InTx] must use the transaction it is given, never the DB: a query on the DB would wait for the
// connection the transaction holds, forever.
//
// [DB.Reader] is a separate read-only pool (several connections, query_only) for HTTP reads, so that a reader never
// waits behind a projection's batch; on PostgreSQL it is the DB itself.
//
// # Portable SQL
//
// Write queries with '?' placeholders and pass them through Rebind (from sqlx, on DB and Tx); PostgreSQL gets $1, $2…
// Upserts use INSERT … ON CONFLICT (key) DO UPDATE SET col = excluded.col [WHERE guard], which both SQLite (3.24+)
// and PostgreSQL (9.5+) accept unchanged; [Upsert] builds it, including the revision guard that turns a replayed event
// into a no-op. Column types that behave the same on both: BIGINT, INTEGER, TEXT, BOOLEAN, DOUBLE PRECISION,
// BYTEA (SQLite stores the bytes as a blob) and TIMESTAMP holding UTC times (PostgreSQL drops the offset of a
// TIMESTAMP WITHOUT TIME ZONE, so always write t.UTC()). Where the dialects truly differ (BIGSERIAL, partial index
// syntax, JSON operators) a projection's migrations may split into sqlite/ and postgres/ subdirectories: see
// [DB.Migrate].
//
// # Migrations
//
// Each owner (a projection, the projection runtime, the reactions) embeds its own goose migrations and calls
// [DB.Migrate] with its name; the applied versions are kept in a version table of its own (schema_version_<owner>),
// so owners evolve independently and a projection version can be rebuilt beside the previous one.
//
// # Leases
//
// [DB.TryAcquireLease] and [DB.AcquireLease] grant "only one holder runs X at a time". On PostgreSQL a lease is a
// session advisory lock (pg_try_advisory_lock) held on a dedicated connection: when the holder's process dies, the
// server ends its session and the lock is free at once, so a waiting replica takes over at its next attempt. The
// holder checks its connection every second and closes [Lease.Done] when it is lost. On SQLite, where the database is
// a local file, a lease is an exclusive flock on a file beside the database: it excludes other handles in this
// process and other processes on the same machine (a CLI beside the server), and the kernel releases it when the
// process dies.
package sqldb
