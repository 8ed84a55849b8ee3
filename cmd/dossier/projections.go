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
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
)

// ProjectionsCmd groups the operator commands about projections (wired as `dossier projections`).
type ProjectionsCmd struct {
	Status  ProjectionsStatusCmd  `cmd:"" help:"Show each projection version: state, checkpoint, events applied, lag, last error."`
	Rebuild ProjectionsRebuildCmd `cmd:"" help:"Rebuild projections from the start of the event log, with a progress bar, then make them live. A projection a server runs is rebuilt by that server beside its live rows, then swapped in (no replica is stopped)."`
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
	rebuilds, err := projections.ReadRebuildRequests(ctx, db.Reader())
	if err != nil {
		return err
	}
	return printProjections(os.Stdout, cps, readModels(keys), head, holders, rebuilds, time.Now())
}

// rebuildNote says where a version's last online rebuild stands ("" when none was asked).
func rebuildNote(r projections.RebuildRequest) string {
	by := " (requested " + r.RequestedAt.UTC().Format(time.RFC3339) + " by " + r.RequestedBy + ")"
	switch r.State {
	case projections.RebuildRequested:
		return "rebuild requested, not started yet" + by
	case projections.RebuildBuilding:
		return fmt.Sprintf("rebuilding beside the live rows: position %d of %d", r.Position, r.Target) + by
	case projections.RebuildFailed:
		return "last rebuild FAILED, live rows unchanged: " + oneLine(r.Error) + by
	}
	return "rebuilt online " + r.FinishedAt.Time.UTC().Format(time.RFC3339) + by
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
	holders map[string]sqldb.LeaseHolder, rebuilds []projections.RebuildRequest, now time.Time) error {
	rebuildOf := map[string]projections.RebuildRequest{}
	for _, r := range rebuilds {
		rebuildOf[projections.Prefix(r.Name, r.Version)] = r
	}
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
		if r, ok := rebuildOf[projections.Prefix(cp.Name, cp.Version)]; ok {
			notes = append(notes, rebuildNote(r))
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
	By     string   `help:"Who asks, recorded with a rebuild a server carries out: an operator id or ticket reference (letters, digits, . _ : / # -), never a name or an email. Default: uid:<your numeric user id>."`
}

// Run rebuilds the named projections one after the other, each with a progress bar and an ETA on stderr.
func (c *ProjectionsRebuildCmd) Run(ctx context.Context, logger *slog.Logger) error {
	logger = withLevel(logger, c.LogLevel)
	by := requester(c.By)
	if err := messaging.CheckRequester(by); err != nil {
		return err
	}
	todo, st, source, err := openProjections(ctx, &c.Config, c.Names, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	var online []projections.Projection // run by a server: it rebuilds them (all asked at once, then followed)
	for _, p := range todo {
		head, err := headPosition(ctx, st.Events)
		if err != nil {
			return err
		}
		err = rebuildOne(ctx, st.DB, source, p, head, logger)
		if errors.Is(err, projections.ErrRunning) {
			online = append(online, p)
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, p := range online {
		req, err := projections.RequestRebuild(ctx, st.DB, p, by, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s v%d runs on a server: it rebuilds it beside the live rows, then swaps them in (requested %s by %s)\n",
			p.Name(), p.Version(), req.RequestedAt.Format(time.RFC3339), req.RequestedBy)
	}
	for _, p := range online {
		if err := followRebuild(ctx, st.DB, p); err != nil {
			return err
		}
	}
	return nil
}

// pollRebuild is how often rebuildOnline reads the request's progress.
const pollRebuild = 500 * time.Millisecond

// followRebuild follows the online rebuild of p asked of the server running it (projections.RequestRebuild) with a
// progress bar until it is done or failed. Interrupting the command stops following, not the rebuild.
func followRebuild(ctx context.Context, db *sqldb.DB, p projections.Projection) error {
	label := fmt.Sprintf("%s v%d", p.Name(), p.Version())
	bar := newPositionBar(label, 1)
	tick := time.NewTicker(pollRebuild)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = bar.Exit()
			return fmt.Errorf("%s: stopped following; the server goes on with the rebuild (dossier projections status shows it): %w", label, ctx.Err())
		case <-tick.C:
		}
		st, _, err := projections.RebuildStatus(ctx, db, p.Name(), p.Version())
		if err != nil {
			return err
		}
		switch st.State {
		case projections.RebuildDone:
			_ = bar.Finish()
			fmt.Fprintln(os.Stderr)
			fmt.Printf("%s rebuilt by the server beside the live rows and swapped in: %d events, live at position %d\n",
				label, st.Events, st.Position)
			return nil
		case projections.RebuildFailed:
			_ = bar.Exit()
			fmt.Fprintln(os.Stderr)
			return fmt.Errorf("%s: the server's rebuild failed, the live rows are unchanged: %s", label, st.Error)
		}
		if st.Target > 0 {
			bar.ChangeMax64(int64(st.Target))
		}
		_ = bar.Set64(int64(st.Position))
	}
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

// newPositionBar is a progress bar over log positions up to head, on stderr.
func newPositionBar(label string, head uint64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(int64(max(head, 1)),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
}

// rebuildOne rebuilds p with a progress bar over log positions: positions grow with the bytes of the log, so the
// percentage and the ETA track the work left.
func rebuildOne(ctx context.Context, db *sqldb.DB, source projections.Source, p projections.Projection, head uint64, logger *slog.Logger) error {
	label := fmt.Sprintf("%s v%d", p.Name(), p.Version())
	bar := newPositionBar(label, head)
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
