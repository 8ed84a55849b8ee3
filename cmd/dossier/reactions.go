package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// ReactionsCmd groups the operator commands about reactions. They read the read-model database only, so they
// run beside a serving process without touching the event store.
type ReactionsCmd struct {
	Poison ReactionsPoisonCmd `cmd:"" help:"List the events reactions gave up on (poison events), newest first."`
	Status ReactionsStatusCmd `cmd:"" help:"Show each reaction handler's checkpoint (the position of the last event it acknowledged)."`
}

// open opens the database and checks that the reactions' tables exist, without creating them.
func openReactionsDB(ctx context.Context, f DBConfig, logger *slog.Logger) (*sqldb.DB, error) {
	dialect, dsn := f.target()
	if dialect == sqldb.SQLite {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("read-model database %s: %w", dsn, err)
		}
	}
	db, err := f.open(ctx, logger)
	if err != nil {
		return nil, err
	}
	st, err := db.MigrationStatus(ctx, messaging.Owner, messaging.Migrations())
	if err != nil {
		db.Close()
		return nil, err
	}
	if st.Current == 0 {
		db.Close()
		return nil, fmt.Errorf("no reactions tables in this database yet (dossier serve or dossier migrate creates them)")
	}
	return db, nil
}

// ReactionsPoisonCmd lists poison events.
type ReactionsPoisonCmd struct {
	DBConfig `embed:""`
	Handler  string `help:"Only this handler's poison events."`
	Limit    int    `default:"100" help:"At most this many rows."`
}

// Run prints the poison events as a table.
func (c *ReactionsPoisonCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := openReactionsDB(ctx, c.DBConfig, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := messaging.List(ctx, db, messaging.ListOptions{Handler: c.Handler, Limit: c.Limit})
	if err != nil {
		return err
	}
	return printPoison(os.Stdout, list)
}

func printPoison(w io.Writer, list []messaging.Poison) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no poison events")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAILED AT\tHANDLER\tPOSITION\tSTREAM\tTYPE\tEVENT ID\tCORRELATION ID\tATTEMPTS\tCODE\tERROR")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.FailedAt.Format(time.RFC3339), p.Handler, p.Position,
			p.Stream, p.EventType, p.EventID, p.CorrelationID, p.Attempts, p.Code, p.Error)
	}
	return tw.Flush()
}

// ReactionsStatusCmd lists checkpoints.
type ReactionsStatusCmd struct {
	DBConfig `embed:""`
}

// Run prints each handler's checkpoint.
func (c *ReactionsStatusCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := openReactionsDB(ctx, c.DBConfig, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	cps, err := messaging.Checkpoints(ctx, db)
	if err != nil {
		return err
	}
	if len(cps) == 0 {
		fmt.Println("no reaction has run yet")
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLER\tPOSITION\tUPDATED AT")
	for _, cp := range cps {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", cp.Handler, cp.Position, cp.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
