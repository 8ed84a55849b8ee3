package messaging

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// LegacyKeyMargin is how much later than a key without a position the handler's checkpoint must have been stored
// for Prune to take the key's event as acknowledged: more than any clock skew between replicas.
const LegacyKeyMargin = time.Hour

// pruneBatch bounds one DELETE, so that pruning a large backlog never holds the writer (SQLite) for long.
const pruneBatch = 5000

// PruneOptions select the processed-event keys Prune removes.
type PruneOptions struct {
	// Handler restricts pruning to one handler ("" for every handler that has a checkpoint).
	Handler string
	// OlderThan is the retention: only keys recorded before Now-OlderThan go. It must be positive.
	OlderThan time.Duration
	// Now is the clock of the retention; zero means time.Now().
	Now time.Time
	// DryRun counts the keys that would go, and removes none.
	DryRun bool
	// InFlightWindow is the in-flight window of the handlers' external effects (RouterConfig.InFlightWindow; zero:
	// DefaultInFlightWindow). A claim (reaction_in_flight) goes when its key is recorded, or when it is older than
	// the retention and than this window: an expired claim holds nobody off any more, so removing it changes
	// nothing but the table's size.
	InFlightWindow time.Duration
}

// PruneResult is what Prune did for one handler.
type PruneResult struct {
	Handler    string
	Checkpoint uint64 // the handler's checkpoint when pruned
	Pruned     int64  // keys removed (or that would be, with DryRun)
	Claims     int64  // orphan claims of external effects removed (or that would be, with DryRun)
}

// Prune removes the processed-event keys (reaction_processed) that neither a delivery nor a replay can need any
// more, and that are older than the retention. A key (handler, event) goes when all of these hold:
//
//   - it was recorded before Now-OlderThan;
//   - the handler's checkpoint is at or past the event: the subscription never delivers it again (it resumes
//     strictly after the checkpoint, which only moves forward). A key recorded without a position (before
//     positions were recorded, or by a call outside a delivery) counts as behind the checkpoint when the
//     checkpoint was stored more than LegacyKeyMargin after the key: keys are recorded while their event is in
//     flight, and a later checkpoint is that event's acknowledgement or a later one's;
//   - the event is not in the handler's poison list: a replay hands it to the handler again, and Once and
//     OnceExternal must then find the key of whatever effect the failed attempts did.
//
// It also removes the handler's orphan claims of external effects (reaction_in_flight, see OnceExternal): a claim
// whose key is recorded, or one older than both the retention and the in-flight window (an effect that failed and
// whose claim could not be dropped, then was never tried again: its event went to the poison list, say). Such a
// claim holds nobody off (the key is found first; an expired claim is taken over), so removing it is harmless.
//
// A handler without a checkpoint keeps every key. The Router runs Prune for each handler it runs, under the
// handler's lease, every RouterConfig.PruneInterval; `dossier reactions prune` runs it on demand.
func Prune(ctx context.Context, db *sqldb.DB, opts PruneOptions) ([]PruneResult, error) {
	if opts.OlderThan <= 0 {
		return nil, fmt.Errorf("messaging: prune: the retention must be positive, got %s", opts.OlderThan)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	cutoff := now.Add(-opts.OlderThan).UTC()
	window := opts.InFlightWindow
	if window <= 0 {
		window = DefaultInFlightWindow
	}
	claimCutoff := now.Add(-max(opts.OlderThan, window)).UTC()
	cps, err := Checkpoints(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []PruneResult
	for _, cp := range cps {
		if opts.Handler != "" && cp.Handler != opts.Handler {
			continue
		}
		legacyCutoff := cp.UpdatedAt.Add(-LegacyKeyMargin).UTC()
		if cutoff.Before(legacyCutoff) {
			legacyCutoff = cutoff
		}
		n, err := pruneHandler(ctx, db, cp.Handler, int64(cp.Position), cutoff, legacyCutoff, opts.DryRun)
		if err != nil {
			return out, err
		}
		claims, err := pruneClaims(ctx, db, cp.Handler, claimCutoff, opts.DryRun)
		if err != nil {
			return out, err
		}
		out = append(out, PruneResult{Handler: cp.Handler, Checkpoint: cp.Position, Pruned: n, Claims: claims})
	}
	return out, nil
}

// orphanClaims selects a handler's claims that Prune removes; arguments: handler, cutoff.
const orphanClaims = `FROM reaction_in_flight f
	WHERE f.handler = ?
	  AND (f.since < ?
	    OR EXISTS (SELECT 1 FROM reaction_processed p WHERE p.handler = f.handler AND p.event_id = f.event_id))`

func pruneClaims(ctx context.Context, db *sqldb.DB, handler string, cutoff time.Time, dryRun bool) (int64, error) {
	if dryRun {
		var n int64
		r := db.Reader()
		if err := r.QueryRowxContext(ctx, r.Rebind("SELECT COUNT(*) "+orphanClaims), handler, cutoff).Scan(&n); err != nil {
			return 0, fmt.Errorf("messaging: prune the claims of %s: %w", handler, err)
		}
		return n, nil
	}
	res, err := db.ExecContext(ctx, db.Rebind("DELETE FROM reaction_in_flight WHERE handler = ? AND event_id IN (SELECT f.event_id "+
		orphanClaims+")"), handler, handler, cutoff)
	if err != nil {
		return 0, fmt.Errorf("messaging: prune the claims of %s: %w", handler, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("messaging: prune the claims of %s: %w", handler, err)
	}
	return n, nil
}

// Claim is a live claim of an external effect (a row of reaction_in_flight, see OnceExternal): which process runs
// (or ran, and crashed or failed) the effect of handler for the event EventID, since when.
type Claim struct {
	Handler string
	EventID string
	Holder  string
	Since   time.Time
}

// Claims lists the claims of external effects, oldest first.
func Claims(ctx context.Context, db *sqldb.DB) ([]Claim, error) {
	var out []Claim
	r := db.Reader()
	rows, err := r.QueryxContext(ctx, `SELECT handler, event_id, holder, since FROM reaction_in_flight ORDER BY since, handler, event_id`)
	if err != nil {
		return nil, fmt.Errorf("messaging: list claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Claim
		if err := rows.Scan(&c.Handler, &c.EventID, &c.Holder, &c.Since); err != nil {
			return nil, fmt.Errorf("messaging: list claims: %w", err)
		}
		c.Since = c.Since.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messaging: list claims: %w", err)
	}
	return out, nil
}

// prunable selects a handler's keys that Prune removes; arguments: handler, checkpoint, cutoff, legacy cutoff.
const prunable = `FROM reaction_processed p
	WHERE p.handler = ?
	  AND ((p.position IS NOT NULL AND p.position <= ? AND p.processed_at < ?)
	    OR (p.position IS NULL AND p.processed_at < ?))
	  AND NOT EXISTS (SELECT 1 FROM reaction_poison x WHERE x.handler = p.handler AND x.event_id = p.event_id)`

func pruneHandler(ctx context.Context, db *sqldb.DB, handler string, checkpoint int64, cutoff, legacyCutoff time.Time, dryRun bool) (int64, error) {
	args := []any{handler, checkpoint, cutoff, legacyCutoff}
	if dryRun {
		var n int64
		r := db.Reader()
		if err := r.QueryRowxContext(ctx, r.Rebind("SELECT COUNT(*) "+prunable), args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("messaging: prune %s: %w", handler, err)
		}
		return n, nil
	}
	q := db.Rebind("DELETE FROM reaction_processed WHERE handler = ? AND event_id IN (SELECT p.event_id " + prunable +
		" LIMIT ?)")
	var total int64
	for {
		res, err := db.ExecContext(ctx, q, append(append([]any{handler}, args...), pruneBatch)...)
		if err != nil {
			return total, fmt.Errorf("messaging: prune %s: %w", handler, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("messaging: prune %s: %w", handler, err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// ProcessedCount returns how many processed-event keys handler has ("" for all handlers).
func ProcessedCount(ctx context.Context, db *sqldb.DB, handler string) (int64, error) {
	q, args := "SELECT COUNT(*) FROM reaction_processed", []any{}
	if handler != "" {
		q, args = q+" WHERE handler = ?", append(args, handler)
	}
	var n sql.NullInt64
	r := db.Reader()
	if err := r.QueryRowxContext(ctx, r.Rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("messaging: count processed keys: %w", err)
	}
	return n.Int64, nil
}
