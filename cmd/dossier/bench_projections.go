package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projbench"
)

// BenchProjectionsCmd measures the projection runtime (wired as `dossier bench projections`): rebuild throughput of
// the streamactivity projection from a pre-filled embedded node into SQLite and PostgreSQL, beside a raw bulk insert
// of the same rows, and read-your-writes latency at moderate load; and the same rebuild from a second embedded node
// holding the same events with their personal field sealed through a real key store (issue 10), beside it.
type BenchProjectionsCmd struct {
	Events      int           `default:"100000" help:"Events in the pre-filled event store."`
	Streams     int           `default:"10000" help:"Streams the events are spread over (interleaved)."`
	Writers     int           `default:"16" help:"Concurrent appenders while filling."`
	Rounds      int           `default:"3" help:"Rebuild and raw-insert rounds; the table shows medians."`
	Dir         string        `type:"path" help:"Parent directory of the event-store data and SQLite files (default: the system temp dir)."`
	InMemory    bool          `name:"in-memory" help:"Keep the event store in memory instead of on disk."`
	PostgresURL string        `name:"postgres-url" help:"PostgreSQL server (a role that may create databases); default: a throwaway server started for the run."`
	NoPostgres  bool          `name:"no-postgres" help:"Leave PostgreSQL out."`
	RYWClients  int           `name:"ryw-clients" default:"4" help:"Concurrent clients of the read-your-writes measurement."`
	RYWPause    time.Duration `name:"ryw-pause" default:"20ms" help:"Pause of each read-your-writes client between commands."`
	RYWDuration time.Duration `name:"ryw-duration" default:"5s" help:"Length of the read-your-writes measurement, per dialect."`
	JSON        bool          `name:"json" help:"Print the full report as JSON instead of the table."`
}

// Run measures and prints the table (or JSON) on stdout; progress goes to the log on stderr.
func (c *BenchProjectionsCmd) Run(ctx context.Context, logger *slog.Logger) error {
	client, closeClear, err := c.startNode(ctx, logger, "projbench-events-*")
	if err != nil {
		return err
	}
	defer closeClear()
	sealedClient, closeSealed, err := c.startNode(ctx, logger, "projbench-sealed-events-*")
	if err != nil {
		return err
	}
	defer closeSealed()
	registry, err := event.NewRegistry(projbench.Definitions())
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	codec := kurrentdb.NewCodec(registry)
	store := kurrentdb.NewStore(client, codec)

	cfg := projbench.Config{
		Source: kurrentdb.NewSource(client, codec),
		Append: benchAppend(store),
		Fill:   projbench.FillOptions{Events: c.Events, Streams: c.Streams, Writers: c.Writers},
		Rounds: c.Rounds, Dir: c.Dir, Logger: logger,
		RYW: projbench.RYWOptions{Clients: c.RYWClients, Pause: c.RYWPause, Duration: c.RYWDuration},
		// The binary's codec as eventRegistry builds it, over the second node.
		Sealed: func(sealer event.Sealer) (projbench.Append, projections.Source) {
			codec := kurrentdb.NewCodec(registry.WithSealer(sealer))
			return benchAppend(kurrentdb.NewStore(sealedClient, codec)), kurrentdb.NewSource(sealedClient, codec)
		},
	}
	var stop func()
	cfg.PostgresURL, cfg.PostgresNote, stop, err = benchPostgres(ctx, logger, c.NoPostgres, c.PostgresURL,
		"bench: starting a throwaway PostgreSQL",
		"throwaway server started by pgtemp (default settings, fsync on), data in the system temp dir")
	if err != nil {
		return err
	}
	defer stop()
	rep, err := projbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return printBenchReport(rep, c.JSON)
}

// startNode starts an embedded node (on disk under a new directory named after pattern, or in memory) and connects
// to it; closeFn closes both and removes the directory.
func (c *BenchProjectionsCmd) startNode(ctx context.Context, logger *slog.Logger, pattern string) (
	client *kurrentdb.Client, closeFn func(), err error) {
	nodeOpts := kurrentnode.Options{InMemory: c.InMemory}
	cleanup := []func(){}
	closeFn = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	if !c.InMemory {
		dir, err := os.MkdirTemp(c.Dir, pattern)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: %w", err)
		}
		cleanup = append(cleanup, func() { _ = os.RemoveAll(dir) })
		nodeOpts.Dir = dir
	}
	node, err := kurrentnode.Start(nodeOpts)
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("bench: start the event-store node: %w", err)
	}
	cleanup = append(cleanup, func() { _ = node.Close() })
	client, err = kurrentdb.Connect(ctx, node.ConnectionString(), kurrentdb.WithLogger(logger))
	if err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	cleanup = append(cleanup, func() { _ = client.Close() })
	return client, closeFn, nil
}

// benchAppend appends through store at any expected revision.
func benchAppend(store *kurrentdb.Store) projbench.Append {
	return func(ctx context.Context, s event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
		return store.Append(ctx, s, esdb.Any{}, m, evs...)
	}
}
