package projections

import (
	"errors"
	"fmt"
	"time"
)

// Status is what a runner knows of one projection.
type Status struct {
	Name    string
	Version int  // the version this code runs
	Role    Role // what this replica does with it
	State   State
	// Position is the checkpoint of Version: applied by this replica when Role is active, read from the database
	// otherwise.
	Position uint64
	// LiveVersion is the version readers see (0: none yet) and LivePosition its checkpoint: what WaitFor waits on.
	LiveVersion  int
	LivePosition uint64
	// CaughtUp is true once the active session has reached the head of the log.
	CaughtUp bool
	// Lag is how far behind the log the projection is in time: zero when it has applied everything it received,
	// else the age of the oldest event received but not yet committed, or while catching up the age of the last
	// event applied. Only known on the active replica.
	Lag time.Duration
	// Applied counts the events this replica applied.
	Applied int64
	// Err is why the projection stopped (nil while it runs).
	Err error
	// Retrying is why this replica cannot ask for the projection's lease right now (the database is out of reach);
	// it tries again with back-off.
	Retrying error
}

// Status reports every projection of the runner, in the order they were given.
func (r *Runner) Status() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	out := make([]Status, 0, len(r.workers))
	for _, w := range r.workers {
		out = append(out, Status{
			Name: w.name, Version: w.version, Role: w.role, State: w.state, Position: w.position,
			LiveVersion: w.liveVersion, LivePosition: w.livePosition, CaughtUp: w.caughtUp,
			Lag: w.lagLocked(now), Applied: w.applied, Err: w.err, Retrying: w.retrying,
		})
	}
	return out
}

// lagLocked computes the lag at now. r.mu must be held.
func (w *worker) lagLocked(now time.Time) time.Duration {
	switch {
	case w.role != RoleActive:
		return 0
	case !w.pendingSince.IsZero():
		return max(0, now.Sub(w.pendingSince))
	case !w.caughtUp && !w.lastRecorded.IsZero():
		return max(0, now.Sub(w.lastRecorded))
	}
	return 0
}

// Ready reports whether the read models can serve: nil when the runner runs, no projection has stopped, and every
// projection has been ready on this replica since the runner started — caught up with the log here, or followed
// while another replica held it (its lease taken) — and its checkpoints can be read. At start-up, a projection this
// replica is about to take over (its lease free) or still catching up is not ready yet. Once ready, a lease moving
// (a takeover when the holder dies, a hand-over for a fair share) does not make it unready: the read model stays
// where the previous holder left it, and read-your-writes waits are bounded by WaitFor's caller. A database this
// replica cannot take leases from (a restart) makes it unready. Otherwise the error says what is wrong, for every
// projection at once (for /readyz).
func (r *Runner) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return errors.New("projections: runner not started")
	}
	if !r.running {
		return fmt.Errorf("%w: %w", ErrStopped, r.runErr)
	}
	var errs []error
	for _, w := range r.workers {
		switch {
		case w.err != nil:
			errs = append(errs, fmt.Errorf("%s: stopped: %w", w.name, w.err))
		case w.retrying != nil:
			errs = append(errs, fmt.Errorf("%s: waiting for the database: %w", w.name, w.retrying))
		case w.role == RoleStarting:
			errs = append(errs, fmt.Errorf("%s: starting", w.name))
		case w.role == RoleActive && !w.caughtUp && !w.served:
			errs = append(errs, fmt.Errorf("%s: catching up (position %d)", w.name, w.position))
		case w.role == RoleStandby && !w.heldElsewhere && !w.served:
			errs = append(errs, fmt.Errorf("%s: taking over", w.name))
		case w.role == RoleStandby && r.pollErr != nil:
			errs = append(errs, fmt.Errorf("%s: cannot follow the checkpoint: %w", w.name, r.pollErr))
		case w.role == RoleStandby && w.liveVersion == 0:
			errs = append(errs, fmt.Errorf("%s: no live version yet", w.name))
		}
	}
	return errors.Join(errs...)
}
