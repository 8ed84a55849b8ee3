package main

import (
	"context"
	"errors"
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
//
// Replays and pruning go through the database too: `replay` asks for the replay and the replica of `dossier serve`
// that runs the handler (the one holding its lease) replays the event, with the handler's own dependencies and
// under the same idempotency keys; `prune` deletes processed-event keys that no delivery or replay can need.
type ReactionsCmd struct {
	Poison ReactionsPoisonCmd `cmd:"" help:"List the events reactions gave up on (poison events), newest first."`
	Replay ReactionsReplayCmd `cmd:"" help:"Replay poison events: the running dossier serve hands each to its handler again; removed from the poison list on success, kept with the new error otherwise."`
	Prune  ReactionsPruneCmd  `cmd:"" help:"Delete processed-event keys older than a retention that no delivery or replay can need (dossier serve also does it hourly)."`
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
	if st.Pending() {
		db.Close()
		return nil, fmt.Errorf("the reactions tables are at version %d, this binary needs %d: run dossier migrate (or start the new dossier serve) first",
			st.Current, st.Latest)
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
	fmt.Fprintln(tw, "FAILED AT\tHANDLER\tPOSITION\tSTREAM\tTYPE\tEVENT ID\tCORRELATION ID\tATTEMPTS\tCODE\tERROR\tREPLAYS\tREPLAY")
	for _, p := range list {
		replay := "-"
		if !p.ReplayRequestedAt.IsZero() {
			replay = "requested " + p.ReplayRequestedAt.Format(time.RFC3339) + " by " + p.ReplayRequestedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", p.FailedAt.Format(time.RFC3339), p.Handler, p.Position,
			p.Stream, p.EventType, p.EventID, p.CorrelationID, p.Attempts, p.Code, p.Error, p.Replays, replay)
	}
	return tw.Flush()
}

// ReactionsReplayCmd asks for poison events to be replayed and waits for the outcome.
type ReactionsReplayCmd struct {
	DBConfig `embed:""`
	EventIDs []string      `arg:"" optional:"" name:"event-id" help:"Ids of the poison events to replay (EVENT ID in dossier reactions poison)."`
	All      bool          `help:"Replay every poison event (of --handler, if given)."`
	Handler  string        `help:"Only this handler's poison events."`
	By       string        `help:"Who asks, logged with the replay: an operator id or ticket reference (letters, digits, . _ : / # -), never a name or an email. Default: uid:<your numeric user id>."`
	Wait     time.Duration `default:"60s" help:"How long to wait for the outcome; 0 asks and returns at once."`
}

// requester is who an operator command records as asking: --by, or uid:<the caller's numeric user id>.
func requester(by string) string {
	if by == "" {
		return fmt.Sprintf("uid:%d", os.Getuid())
	}
	return by
}

// pollReplays is how often replay waits look at the outcome.
const pollReplays = 200 * time.Millisecond

// Run asks for the replays and reports their outcome.
func (c *ReactionsReplayCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := openReactionsDB(ctx, c.DBConfig, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	return c.run(ctx, db, os.Stdout, logger, time.Now)
}

func (c *ReactionsReplayCmd) run(ctx context.Context, db *sqldb.DB, w io.Writer, logger *slog.Logger, now func() time.Time) error {
	if c.All == (len(c.EventIDs) > 0) {
		return errors.New("name the poison events to replay (their event ids) or give --all, not both")
	}
	by := requester(c.By)
	marked, err := messaging.RequestReplay(ctx, db, messaging.ReplayRequest{Handler: c.Handler, EventIDs: c.EventIDs,
		All: c.All, By: by, At: now()})
	if errors.Is(err, messaging.ErrNoPoisonEvent) {
		return errors.New("no poison event matches (see dossier reactions poison)")
	}
	if err != nil {
		return err
	}
	for _, p := range marked {
		logger.Info("reactions: poison replay requested", "handler", p.Handler, "event_id", p.EventID, "stream", p.Stream,
			"position", p.Position, "event_type", p.EventType, "requested_by", p.ReplayRequestedBy,
			"requested_at", p.ReplayRequestedAt.Format(time.RFC3339))
	}
	if c.Wait <= 0 {
		_, err := fmt.Fprintf(w, "%d replay(s) requested by %s: dossier serve replays them (dossier reactions poison shows what remains)\n",
			len(marked), by)
		return err
	}

	outcomes := make([]messaging.ReplayOutcome, len(marked))
	rows := make([]messaging.Poison, len(marked))
	deadline := time.Now().Add(c.Wait)
	for {
		done := true
		for i, p := range marked {
			if outcomes[i] != messaging.ReplayPending {
				continue
			}
			if outcomes[i], rows[i], err = messaging.ReplayStatus(ctx, db, p); err != nil {
				return err
			}
			done = done && outcomes[i] != messaging.ReplayPending
		}
		if done || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollReplays):
		}
	}

	var failed, pending int
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLER\tEVENT ID\tPOSITION\tRESULT\tCODE\tERROR")
	for i, p := range marked {
		result, code, desc := "replayed: removed from the poison list", "", ""
		switch outcomes[i] {
		case messaging.ReplayFailed:
			failed++
			result, code, desc = "failed again: kept", rows[i].Code, rows[i].Error
		case messaging.ReplayPending:
			pending++
			result = "not replayed yet"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Handler, p.EventID, p.Position, result, code, desc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("%d of %d replay(s) failed again", failed, len(marked)))
	}
	if pending > 0 {
		errs = append(errs, fmt.Errorf("%d replay(s) not served within %s: is dossier serve running the handler? "+
			"The requests stay and are served when it does", pending, c.Wait))
	}
	return errors.Join(errs...)
}

// ReactionsPruneCmd deletes processed-event keys no delivery or replay can need.
type ReactionsPruneCmd struct {
	DBConfig  `embed:""`
	OlderThan time.Duration `default:"720h" help:"Retention: keys recorded longer ago than this go, if their event is at or behind the handler's checkpoint and not a poison event."`
	Handler   string        `help:"Only this handler's keys."`
	DryRun    bool          `help:"Count the keys that would go; delete none."`
	// InFlightWindow is serve's --reactions-in-flight-window: an orphan claim goes once older than it and the retention.
	InFlightWindow time.Duration `name:"in-flight-window" default:"2m" help:"The servers' --reactions-in-flight-window: claims of external effects older than it and than --older-than go (and those whose key is recorded)."`
}

// Run prunes and prints what went, per handler.
func (c *ReactionsPruneCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := openReactionsDB(ctx, c.DBConfig, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	return c.run(ctx, db, os.Stdout, logger, time.Now())
}

func (c *ReactionsPruneCmd) run(ctx context.Context, db *sqldb.DB, w io.Writer, logger *slog.Logger, now time.Time) error {
	if c.OlderThan <= 0 {
		return errors.New("--older-than must be positive")
	}
	res, err := messaging.Prune(ctx, db, messaging.PruneOptions{Handler: c.Handler, OlderThan: c.OlderThan, Now: now, DryRun: c.DryRun,
		InFlightWindow: c.InFlightWindow})
	if err != nil {
		return err
	}
	if len(res) == 0 {
		_, err := fmt.Fprintln(w, "no reaction has a checkpoint yet: nothing to prune")
		return err
	}
	verb := "PRUNED"
	if c.DryRun {
		verb = "WOULD PRUNE"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "HANDLER\tCHECKPOINT\t%s\tORPHAN CLAIMS\n", verb)
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", r.Handler, r.Checkpoint, r.Pruned, r.Claims)
		if !c.DryRun && r.Pruned > 0 {
			logger.Info("reactions: processed-event keys pruned", "handler", r.Handler, "pruned", r.Pruned,
				"older_than", c.OlderThan.String(), "checkpoint", r.Checkpoint)
		}
		if !c.DryRun && r.Claims > 0 {
			logger.Info("reactions: orphan claims of external effects pruned", "handler", r.Handler, "claims", r.Claims)
		}
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
	holders, err := db.LeaseHolders(ctx, "reaction.")
	if err != nil {
		return err
	}
	if err := printReactions(os.Stdout, cps, holders); err != nil {
		return err
	}
	claims, err := messaging.Claims(ctx, db)
	if err != nil {
		return err
	}
	return printClaims(os.Stdout, claims, time.Now())
}

// printClaims writes the external effects in flight (messaging.OnceExternal's claims): handler, event, the process
// that claimed it, and for how long. An old claim is an effect that failed, or a holder that crashed (the next
// holder runs it again once the in-flight window has passed); `reactions prune` and serve remove orphans. No
// personal data: the event's id and process names only.
func printClaims(w io.Writer, claims []messaging.Claim, now time.Time) error {
	if len(claims) == 0 {
		_, err := fmt.Fprintln(w, "\nno external effect in flight")
		return err
	}
	fmt.Fprintf(w, "\n%d external effect(s) in flight:\n", len(claims))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLER\tEVENT\tCLAIMED BY\tFOR")
	for _, c := range claims {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Handler, c.EventID, c.Holder, now.Sub(c.Since).Round(time.Second))
	}
	return tw.Flush()
}

// printReactions writes the status table: per handler its checkpoint, when it moved, how long after its event the
// last event was acknowledged (for a mail handler, the mail lag), and which replica runs it.
func printReactions(w io.Writer, cps []messaging.CheckpointRow, holders map[string]sqldb.LeaseHolder) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLER\tPOSITION\tUPDATED AT\tLAST EVENT HANDLED AFTER\tHELD BY")
	for _, cp := range cps {
		after := "—"
		if !cp.LastRecordedAt.IsZero() {
			after = cp.UpdatedAt.Sub(cp.LastRecordedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", cp.Handler, cp.Position, cp.UpdatedAt.Format(time.RFC3339), after,
			holderOf(holders, "reaction."+cp.Handler))
	}
	return tw.Flush()
}
