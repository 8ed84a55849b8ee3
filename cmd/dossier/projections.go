package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
)

// ProjectionsCmd groups the operator commands about projections (wired as `dossier projections`).
type ProjectionsCmd struct {
	Status  ProjectionsStatusCmd  `cmd:"" help:"Show each projection version: state, checkpoint, events applied, lag, last error."`
	Rebuild ProjectionsRebuildCmd `cmd:"" help:"Rebuild projections from the start of the event log, with a progress bar, then make them live. Stop the server first: a projection run by a server is refused."`
	Verify  ProjectionsVerifyCmd  `cmd:"" help:"Rebuild a projection into scratch tables up to its live checkpoint and compare every row with the live ones; list the differing keys, exit 1 on a difference. Runs beside a server."`
}

// ProjectionsStatusCmd prints the checkpoint table. It reads the read-model database only, so it runs beside a
// serving process; given a KurrentDB URL it also shows how far behind the head of the log each version is.
type ProjectionsStatusCmd struct {
	DBConfig     `embed:""`
	KeyConfig    `embed:""`
	KurrentDBURL string `name:"kurrentdb-url" env:"DOSSIER_KURRENTDB_URL" help:"KurrentDB connection string, to show the distance to the head of the log (the embedded node cannot be reached while a server runs it). Secret."`
}

// Run prints the table.
func (c *ProjectionsStatusCmd) Run(ctx context.Context, logger *slog.Logger) error {
	dialect, dsn := c.target()
	if dialect == sqldb.SQLite {
		if _, err := os.Stat(dsn); err != nil {
			return fmt.Errorf("read-model database %s: %w", dsn, err)
		}
	}
	db, err := c.open(ctx, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	cps, err := projections.ReadCheckpoints(ctx, db.Reader())
	if err != nil {
		return fmt.Errorf("%w (dossier serve or dossier migrate creates the projections' tables)", err)
	}
	var head *uint64
	if c.KurrentDBURL != "" {
		client, err := kurrentdb.Connect(ctx, c.KurrentDBURL, kurrentdb.WithLogger(logger))
		if err != nil {
			return fmt.Errorf("connect to the event store: %w", err)
		}
		defer client.Close()
		h, err := headPosition(ctx, client)
		if err != nil {
			return err
		}
		head = &h
	}
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	holders, err := db.LeaseHolders(ctx, "projection.")
	if err != nil {
		return err
	}
	return printProjections(os.Stdout, cps, readModels(keys), head, holders, time.Now())
}

// holderOf describes who holds a lease: the replica holding it now, or who held it last.
func holderOf(holders map[string]sqldb.LeaseHolder, lease string) string {
	h, ok := holders[lease]
	switch {
	case !ok:
		return "—"
	case h.Held:
		return h.Holder
	}
	return "none (last: " + h.Holder + ")"
}

// printProjections writes the status table: one line per version in the database, and a line for every version
// this binary runs that the database does not know yet.
func printProjections(w io.Writer, cps []projections.Checkpoint, code []projections.Projection, head *uint64,
	holders map[string]sqldb.LeaseHolder, now time.Time) error {
	codeVersion := map[string]int{}
	for _, p := range code {
		codeVersion[p.Name()] = p.Version()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECTION\tVERSION\tSTATE\tPOSITION\tBEHIND HEAD\tEVENTS\tLAST EVENT RECORDED\tUPDATED\tHELD BY\tNOTE")
	seen := map[string]bool{}
	for _, cp := range cps {
		behind := "?"
		if head != nil {
			behind = fmt.Sprint(*head - min(*head, cp.Position))
		}
		last := "—"
		if cp.LastRecordedAt.Valid {
			last = fmt.Sprintf("%s (%s ago)", cp.LastRecordedAt.Time.UTC().Format(time.RFC3339),
				now.Sub(cp.LastRecordedAt.Time).Round(time.Second))
		}
		var notes []string
		switch v, ok := codeVersion[cp.Name]; {
		case !ok:
			notes = append(notes, "not in this binary")
		case v == cp.Version:
			seen[cp.Name+"/"+fmt.Sprint(v)] = true
			notes = append(notes, "this binary's version")
		}
		if cp.LastError != "" {
			notes = append(notes, "STOPPED: "+oneLine(cp.LastError))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", cp.Name, cp.Version, cp.State, cp.Position, behind,
			cp.Events, last, cp.UpdatedAt.UTC().Format(time.RFC3339), holderOf(holders, "projection."+projections.Prefix(cp.Name, cp.Version)),
			strings.Join(notes, "; "))
	}
	for _, p := range code {
		if !seen[p.Name()+"/"+fmt.Sprint(p.Version())] {
			fmt.Fprintf(tw, "%s\t%d\t—\t—\t—\t—\t—\t—\t—\tthis binary's version; not set up yet (serve or migrate does it)\n",
				p.Name(), p.Version())
		}
	}
	return tw.Flush()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// headPosition returns the commit position of the last event of the log (0 when it is empty).
func headPosition(ctx context.Context, client *kurrentdb.Client) (uint64, error) {
	head, err := client.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the head of the log: %w", err)
	}
	return head, nil
}

// ProjectionsRebuildCmd rebuilds projections from scratch (see projections.Rebuild).
type ProjectionsRebuildCmd struct {
	Config `embed:""`
	Names  []string `arg:"" optional:"" name:"projection" help:"Projections to rebuild (default: every projection of this binary)."`
}

// Run rebuilds the named projections one after the other, each with a progress bar and an ETA on stderr.
func (c *ProjectionsRebuildCmd) Run(ctx context.Context, logger *slog.Logger) error {
	logger = withLevel(logger, c.LogLevel)
	todo, st, source, err := openProjections(ctx, &c.Config, c.Names, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, p := range todo {
		head, err := headPosition(ctx, st.Events)
		if err != nil {
			return err
		}
		if err := rebuildOne(ctx, st.DB, source, p, head, logger); err != nil {
			return err
		}
	}
	return nil
}

// openProjections opens the stores of cfg and a source over its event store for the projections named (every
// projection of this binary when none is): the setup of the commands that rebuild or verify them. The caller closes
// the stores.
func openProjections(ctx context.Context, cfg *Config, names []string, logger *slog.Logger) ([]projections.Projection, *stores, *kurrentdb.Source, error) {
	keys, err := cfg.keyedHasher()
	if err != nil {
		return nil, nil, nil, err
	}
	todo, err := selectProjections(readModels(keys), names)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStores(ctx, cfg, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	registry, err := eventRegistry(st.Keys)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return todo, st, kurrentdb.NewSource(st.Events, kurrentdb.NewCodec(registry)), nil
}

func selectProjections(all []projections.Projection, names []string) ([]projections.Projection, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []projections.Projection
	var unknown []string
	for _, n := range names {
		i := slices.IndexFunc(all, func(p projections.Projection) bool { return p.Name() == n })
		if i < 0 {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, all[i])
	}
	if len(unknown) > 0 {
		known := make([]string, len(all))
		for i, p := range all {
			known[i] = p.Name()
		}
		return nil, fmt.Errorf("unknown projection %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// rebuildOne rebuilds p with a progress bar over log positions: positions grow with the bytes of the log, so the
// percentage and the ETA track the work left.
func rebuildOne(ctx context.Context, db *sqldb.DB, source projections.Source, p projections.Projection, head uint64, logger *slog.Logger) error {
	label := fmt.Sprintf("%s v%d", p.Name(), p.Version())
	bar := progressbar.NewOptions64(int64(max(head, 1)),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
	logger.Info("projections: rebuilding", "projection", p.Name(), "version", p.Version(), "head", head)
	res, err := projections.Rebuild(ctx, db, source, p, projections.RebuildOptions{
		Logger: logger,
		Progress: func(pr projections.Progress) {
			if pr.Position > uint64(bar.GetMax64()) {
				bar.ChangeMax64(int64(pr.Position)) // the log grew during the rebuild
			}
			bar.Describe(fmt.Sprintf("%s: %d events", label, pr.Events))
			_ = bar.Set64(int64(pr.Position))
		},
	})
	if err != nil {
		_ = bar.Exit()
		fmt.Fprintln(os.Stderr)
		if errors.Is(err, projections.ErrRunning) {
			return fmt.Errorf("%w: stop the server (or the replicas running it) before rebuilding, or deploy a new version of the projection, which the servers rebuild beside the live one", err)
		}
		return err
	}
	_ = bar.Set64(bar.GetMax64())
	_ = bar.Finish()
	fmt.Fprintln(os.Stderr)
	rate := 0.0
	if res.Elapsed > 0 {
		rate = float64(res.Events) / res.Elapsed.Seconds()
	}
	fmt.Printf("%s rebuilt: %d events in %s (%.0f events/s), now live at position %d\n",
		label, res.Events, res.Elapsed.Round(time.Millisecond), rate, res.Position)
	return nil
}
