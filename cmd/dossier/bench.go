package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	switch {
	case c.NoPostgres:
		cfg.PostgresNote = "left out (--no-postgres)"
	case c.PostgresURL != "":
		cfg.PostgresURL = c.PostgresURL
		cfg.PostgresNote = "server given by --postgres-url"
	default:
		logger.Info("bench: starting a throwaway PostgreSQL for the baseline")
		pg, err := pgtemp.Start(ctx, pgtemp.Options{Logger: logger})
		switch {
		case errors.Is(err, pgtemp.ErrNoBinaries):
			cfg.PostgresNote = "not measured: no PostgreSQL server binaries on this machine (give --postgres-url)"
			logger.Warn("bench: " + cfg.PostgresNote)
		case err != nil:
			return fmt.Errorf("bench: start PostgreSQL: %w", err)
		default:
			defer pg.Stop()
			cfg.PostgresURL = pg.DSN()
			cfg.PostgresNote = "throwaway server started by pgtemp, data in the system temp dir"
		}
	}
	rep, err := nodebench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(os.Stdout)
}
