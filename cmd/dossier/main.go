// Command dossier is Dossier's one binary: the API server, the embedded event-store node and the operator
// commands. Only this package reads the environment.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI lists the subcommands; each lives in its own file.
type CLI struct {
	Serve       ServeCmd       `cmd:"" default:"withargs" help:"Run Dossier: HTTP API, projections, reactions (and the embedded event store unless a KurrentDB URL is set)."`
	Node        NodeCmd        `cmd:"" help:"Run the embedded KurrentDB-protocol event-store node alone."`
	Migrate     MigrateCmd     `cmd:"" help:"Create or upgrade the read-model tables (projections and reactions)."`
	Projections ProjectionsCmd `cmd:"" help:"Projection status (positions, lag) and rebuilds."`
	Reactions   ReactionsCmd   `cmd:"" help:"Inspect and repair reactions: checkpoints, poison events, replays, key retention."`
	Admin       AdminCmd       `cmd:"" help:"Operator commands (bootstrap, imports)."`
	Bench       BenchCmd       `cmd:"" help:"Measure and print a table of figures (see BENCHMARKS.md)."`
	Audit       AuditCmd       `cmd:"" help:"The auditor's toolkit: histories, signed tree heads, offline checks, what-if replays."`
}

func main() {
	if err := loadSecretFiles(); err != nil {
		fmt.Fprintln(os.Stderr, "dossier: configuration:", err)
		os.Exit(2)
	}
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("dossier"),
		kong.Description("Dossier: event-sourced case management for the fund's member space."),
		kong.UsageOnError(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(logger); err != nil {
		fmt.Fprintln(os.Stderr, "dossier:", err)
		os.Exit(1)
	}
}
