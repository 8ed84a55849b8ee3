package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// RebuildOptions tune Rebuild. The zero value is ready to use.
type RebuildOptions struct {
	// Logger receives the rebuild's logs; nil discards them.
	Logger *slog.Logger
	// MaxBatch and MaxDelay are as in Options.
	MaxBatch int
	MaxDelay time.Duration
	// Progress, if set, is called after each committed batch.
	Progress func(Progress)
}

// ErrRunning is returned by Rebuild when another process (a running server) holds the projection's lease.
var ErrRunning = errors.New("projections: projection is running elsewhere")

// Rebuild builds p's version again from the start of the log: it drops the version's tables and checkpoint,
// recreates them, applies the whole log in large batches until it reaches the head, and makes the version live
// (whatever version was live before: this is how an operator rolls a projection back or forward by hand).
//
// It holds the projection's lease throughout and fails at once with ErrRunning if a server runs the projection:
// stop it, or let the server rebuild a new version by deploying one. While a live version is rebuilt, its readers
// see its rows fill up again from nothing.
func Rebuild(ctx context.Context, db *sqldb.DB, source Source, p Projection, opts RebuildOptions) (Progress, error) {
	r, err := NewRunner(db, source, Options{Logger: opts.Logger, MaxBatch: opts.MaxBatch, MaxDelay: opts.MaxDelay}, p)
	if err != nil {
		return Progress{}, err
	}
	if err := migrateRuntime(ctx, db); err != nil {
		return Progress{}, err
	}
	lease, err := db.TryAcquireLease(ctx, leaseName(p.Name(), p.Version()))
	if errors.Is(err, sqldb.ErrLeaseHeld) {
		return Progress{}, fmt.Errorf("%w: %s: %w", ErrRunning, owner(p), err)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("projections: rebuild %s: %w", owner(p), err)
	}
	defer func() { _ = lease.Release() }()
	if _, err := reset(ctx, db, p); err != nil {
		return Progress{}, err
	}
	if err := setupVersion(ctx, db, p); err != nil {
		return Progress{}, err
	}
	w := r.workers[0]
	progress := &Progress{}
	err = w.session(ctx, lease, sessionOptions{
		untilCaughtUp: true, forceSwitch: true,
		onCommit: opts.Progress, started: time.Now(), progress: progress,
	})
	if err != nil {
		if permanent(err) {
			w.fail(err)
		}
		return *progress, fmt.Errorf("projections: rebuild %s: %w", owner(p), err)
	}
	return *progress, nil
}
