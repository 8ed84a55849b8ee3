package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentnode/nodebench"
	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
)

// BenchCmd groups the benchmarks; each subcommand prints its own table.
type BenchCmd struct {
	Eventstore  BenchEventstoreCmd  `cmd:"" help:"Durable appends, $all reads and subscriptions of the embedded node, beside the raw fdatasync rate of the same disk and PostgreSQL (one INSERT+COMMIT per event)."`
	Projections BenchProjectionsCmd `cmd:"" help:"Projection rebuild throughput into SQLite and PostgreSQL, beside a raw bulk insert, and read-your-writes latency."`
	HTTP        BenchHTTPCmd        `cmd:"" name:"http" help:"Member and caseworker journeys against the real HTTP API (a serve started for the run, or --target on loopback), beside GET /healthz in the same run."`
	Soak        BenchSoakCmd        `cmd:"" help:"The mixed load for a long while (30 min), sampling the server's memory, goroutines, open files, database and events sizes; a verdict per series."`
}

// Run is called by kong after the selected benchmark's own Run; there is nothing left to do at this level.
func (c *BenchCmd) Run(ctx context.Context, logger *slog.Logger) error { return nil }

// BenchEventstoreCmd measures the embedded event store through the official client.
type BenchEventstoreCmd struct {
	Duration    time.Duration `default:"5s" help:"Length of each timed measurement in a round."`
	Rounds      int           `default:"5" help:"Number of rounds; the table shows the median of each figure."`
	ReadEvents  int           `default:"100000" name:"read-events" help:"Events in the pre-filled store the read and catch-up figures use."`
	Writers     int           `default:"10" help:"Concurrent writers (and PostgreSQL clients) of the multi-writer figures."`
	Dir         string        `type:"path" help:"Parent directory of the data under test (default: the system temp dir)."`
	PostgresURL string        `name:"postgres-url" help:"PostgreSQL server for the baseline (fsync and synchronous_commit must be on); default: a throwaway server started for the run."`
	NoPostgres  bool          `name:"no-postgres" help:"Leave out the PostgreSQL baseline."`
	JSON        bool          `name:"json" help:"Print the full report (every round) as JSON instead of the table."`
}

// Run measures and prints the table (or JSON) on stdout; progress goes to the log on stderr.
func (c *BenchEventstoreCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg := nodebench.Config{
		Dir: c.Dir, Rounds: c.Rounds, Duration: c.Duration, ReadEvents: c.ReadEvents, Writers: c.Writers,
		Logger: logger,
	}
	var (
		stop func()
		err  error
	)
	cfg.PostgresURL, cfg.PostgresNote, stop, err = benchPostgres(ctx, logger, c.NoPostgres, c.PostgresURL,
		"bench: starting a throwaway PostgreSQL for the baseline",
		"throwaway server started by pgtemp, data in the system temp dir")
	if err != nil {
		return err
	}
	defer stop()
	rep, err := nodebench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return printBenchReport(rep, c.JSON)
}

// benchPostgres picks the PostgreSQL server of a benchmark and the note the report gives about it: none with
// --no-postgres, the one of --postgres-url, or else a throwaway server started now (logged with startMsg, described
// by startedNote), which stop stops. Without server binaries on this machine there is none, and the note says so.
func benchPostgres(ctx context.Context, logger *slog.Logger, noPostgres bool, url, startMsg, startedNote string) (
	dsn, note string, stop func(), err error) {
	stop = func() {}
	switch {
	case noPostgres:
		return "", "left out (--no-postgres)", stop, nil
	case url != "":
		return url, "server given by --postgres-url", stop, nil
	}
	logger.Info(startMsg)
	pg, err := pgtemp.Start(ctx, pgtemp.Options{Logger: logger})
	switch {
	case errors.Is(err, pgtemp.ErrNoBinaries):
		note = "not measured: no PostgreSQL server binaries on this machine (give --postgres-url)"
		logger.Warn("bench: " + note)
		return "", note, stop, nil
	case err != nil:
		return "", "", stop, fmt.Errorf("bench: start PostgreSQL: %w", err)
	}
	return pg.DSN(), startedNote, func() { _ = pg.Stop() }, nil
}

// printBenchReport prints a benchmark's report on stdout: its table, or with --json the full report as JSON.
func printBenchReport(rep interface{ WriteText(w io.Writer) error }, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(os.Stdout)
}
