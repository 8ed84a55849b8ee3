package nodebench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	_ "github.com/lib/pq" // the PostgreSQL driver of the baseline
)

// ErrNotDurable is returned when the PostgreSQL server of the baseline does not sync its commits: its
// figures would not be comparable with durable appends.
var ErrNotDurable = errors.New("nodebench: PostgreSQL does not sync commits (fsync and synchronous_commit must be on)")

// PostgresOptions configure Postgres.
type PostgresOptions struct {
	// URL is the connection URL (lib/pq syntax) of a server the benchmark may create a table in.
	URL string
	// Clients is the number of concurrent connections, each doing one INSERT and COMMIT per event.
	Clients int
	// Duration bounds the measurement; Count bounds the number of inserts. At least one must be set.
	Duration time.Duration
	Count    int
	// Warmup runs inserts for this long before measuring.
	Warmup time.Duration
}

// PostgresResult is the outcome of Postgres.
type PostgresResult struct {
	Clients   int           `json:"clients"`
	Inserts   int           `json:"inserts"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
	Latency   Latencies     `json:"latency"`
	// Server describes the server: version and the settings that decide durability.
	Server PostgresServer `json:"server"`
}

// PostgresServer is what the baseline reports about its server.
type PostgresServer struct {
	Version           string `json:"version"`
	Fsync             string `json:"fsync"`
	SynchronousCommit string `json:"synchronous_commit"`
	WalSyncMethod     string `json:"wal_sync_method"`
	CommitDelay       string `json:"commit_delay"`
}

// Postgres is the relational baseline: opts.Clients connections each inserting one event row per
// transaction (an autocommit INSERT, i.e. INSERT+COMMIT in one round trip, the cheapest way to commit one
// row). The table has a bigserial primary key and no other index, which favours PostgreSQL: an event
// store in PostgreSQL would also keep a unique (stream, revision) index. The server must have fsync and
// synchronous_commit on, else ErrNotDurable.
func Postgres(ctx context.Context, opts PostgresOptions) (PostgresResult, error) {
	if opts.Clients < 1 {
		return PostgresResult{}, errors.New("nodebench: Postgres needs at least one client")
	}
	if opts.Duration <= 0 && opts.Count <= 0 {
		return PostgresResult{}, errors.New("nodebench: Postgres needs a duration or a count")
	}
	db, err := sql.Open("postgres", opts.URL)
	if err != nil {
		return PostgresResult{}, fmt.Errorf("nodebench: open PostgreSQL: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(opts.Clients)
	db.SetMaxIdleConns(opts.Clients)
	server, err := postgresServer(ctx, db)
	if err != nil {
		return PostgresResult{}, err
	}
	if server.Fsync != "on" || server.SynchronousCommit != "on" {
		return PostgresResult{}, fmt.Errorf("%w: fsync=%s synchronous_commit=%s", ErrNotDurable, server.Fsync, server.SynchronousCommit)
	}
	table := "nodebench_events_" + fmt.Sprint(time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, `CREATE TABLE `+table+` (
		id bigserial PRIMARY KEY,
		stream_id text NOT NULL,
		revision bigint NOT NULL,
		event_id uuid NOT NULL,
		event_type text NOT NULL,
		data jsonb NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return PostgresResult{}, fmt.Errorf("nodebench: create table: %w", err)
	}
	defer db.ExecContext(context.WithoutCancel(ctx), `DROP TABLE `+table)
	insert := `INSERT INTO ` + table + ` (stream_id, revision, event_id, event_type, data) VALUES ($1, $2, $3, $4, $5)`

	clients := make([]*pgClient, opts.Clients)
	for i := range clients {
		conn, err := db.Conn(ctx)
		if err != nil {
			return PostgresResult{}, fmt.Errorf("nodebench: connect: %w", err)
		}
		defer conn.Close()
		stmt, err := conn.PrepareContext(ctx, insert)
		if err != nil {
			return PostgresResult{}, fmt.Errorf("nodebench: prepare insert: %w", err)
		}
		defer stmt.Close()
		clients[i] = &pgClient{stmt: stmt, stream: streamName("benchwriter")}
	}
	if opts.Warmup > 0 {
		if _, err := runPgClients(ctx, clients, opts.Warmup, 0, false); err != nil {
			return PostgresResult{}, fmt.Errorf("nodebench: warm-up: %w", err)
		}
	}
	res, err := runPgClients(ctx, clients, opts.Duration, opts.Count, true)
	if err != nil {
		return PostgresResult{}, err
	}
	res.Clients, res.Server = opts.Clients, server
	return res, nil
}

// PostgresInfo connects to url and reports the server's version and durability settings.
func PostgresInfo(ctx context.Context, url string) (PostgresServer, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return PostgresServer{}, fmt.Errorf("nodebench: open PostgreSQL: %w", err)
	}
	defer db.Close()
	return postgresServer(ctx, db)
}

func postgresServer(ctx context.Context, db *sql.DB) (PostgresServer, error) {
	var s PostgresServer
	for _, q := range []struct {
		name string
		dst  *string
	}{
		{"server_version", &s.Version}, {"fsync", &s.Fsync}, {"synchronous_commit", &s.SynchronousCommit},
		{"wal_sync_method", &s.WalSyncMethod}, {"commit_delay", &s.CommitDelay},
	} {
		if err := db.QueryRowContext(ctx, "SHOW "+q.name).Scan(q.dst); err != nil {
			return PostgresServer{}, fmt.Errorf("nodebench: PostgreSQL SHOW %s: %w", q.name, err)
		}
	}
	return s, nil
}

type pgClient struct {
	stmt   *sql.Stmt
	stream string
	rev    int64
}

func (c *pgClient) insert(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	_, err := c.stmt.ExecContext(ctx, c.stream, c.rev, uuid.New(), EventType, string(Payload(int(c.rev))))
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("nodebench: insert: %w", err)
	}
	c.rev++
	return d, nil
}

func runPgClients(ctx context.Context, clients []*pgClient, d time.Duration, count int, record bool) (PostgresResult, error) {
	ops := make([]func(context.Context) (time.Duration, error), len(clients))
	for i, c := range clients {
		ops[i] = c.insert
	}
	all, elapsed, err := runLoops(ctx, ops, d, count, record)
	if err != nil {
		return PostgresResult{}, err
	}
	return PostgresResult{Inserts: len(all), Elapsed: elapsed, PerSecond: rate(len(all), elapsed), Latency: summarize(all)}, nil
}
