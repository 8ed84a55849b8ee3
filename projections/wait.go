package projections

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnknownProjection is returned by WaitForProjection for a name the runner does not run.
var ErrUnknownProjection = errors.New("projections: unknown projection")

// WaitFor returns once every projection's live version has applied the global log up to position at least: then
// every read model reflects the command whose commit position that is. A projection sees every event of the log
// (those it has no interest in too), so its checkpoint passes every position, and reaching or passing it is enough.
// Position 0 returns at once.
//
// WaitFor returns ctx's error (wrapped) when ctx ends first, and an error wrapping ErrStopped when a projection has
// stopped on an error or the runner has ended. It wakes on each commit of this process and, for projections another
// replica runs, on the follower's reads of the checkpoint table (every Options.FollowInterval while someone waits):
// it never polls by itself.
//
// It is the adapters/httpapi Consistency port.
//
// Given names, it waits for those projections only: a read that queries two read models need not wait for the
// fifteen others (on SQLite they all share one writer, and the slowest batch in the queue would set the wait).
func (r *Runner) WaitFor(ctx context.Context, position uint64, names ...string) error {
	if len(names) == 0 {
		return r.wait(ctx, position, r.workers)
	}
	ws := make([]*worker, 0, len(names))
	for _, n := range names {
		w, ok := r.byName[n]
		if !ok {
			return fmt.Errorf("%w: %q", ErrUnknownProjection, n)
		}
		ws = append(ws, w)
	}
	return r.wait(ctx, position, ws)
}

// WaitForProjection is WaitFor for the named projection only.
func (r *Runner) WaitForProjection(ctx context.Context, name string, position uint64) error {
	return r.WaitFor(ctx, position, name)
}

// waiter is a WaitFor in progress: woken (wake) when its wait is over, not at every change.
type waiter struct {
	position uint64
	ws       []*worker
	wake     chan struct{} // buffered: a wake-up is never lost
}

// waitOverLocked reports whether wt can return: its projections have reached its position, or one has stopped, or
// the runner has ended. r.mu must be held. notifyLocked calls it for every waiter at every change, so that a change
// wakes only the waiters it concerns (hundreds of waiting reads, sixteen projections each committing: waking every
// waiter at every commit cost more CPU than the waits).
func (r *Runner) waitOverLocked(wt *waiter) bool {
	if r.started && !r.running {
		return true
	}
	for _, w := range wt.ws {
		if w.err != nil {
			return true
		}
		if w.livePosition < wt.position {
			return false
		}
	}
	return true
}

func (r *Runner) wait(ctx context.Context, position uint64, ws []*worker) error {
	if position == 0 {
		return nil
	}
	var wt *waiter
	defer func() {
		if wt != nil {
			r.mu.Lock()
			delete(r.waitSet, wt)
			r.waiters--
			r.mu.Unlock()
		}
	}()
	for {
		r.mu.Lock()
		if r.started && !r.running {
			err := r.runErr
			r.mu.Unlock()
			return fmt.Errorf("%w: %w", ErrStopped, err)
		}
		reached := true
		for _, w := range ws {
			if w.err != nil {
				r.mu.Unlock()
				return fmt.Errorf("%w: %s: %w", ErrStopped, w.name, w.err)
			}
			if w.livePosition < position {
				reached = false
			}
		}
		if reached {
			r.mu.Unlock()
			return nil
		}
		first := wt == nil
		if first {
			wt = &waiter{position: position, ws: ws, wake: make(chan struct{}, 1)}
			r.waitSet[wt] = struct{}{}
			r.waiters++
		}
		r.mu.Unlock()
		if first {
			select { // let the follower speed up if this waiter needs it
			case r.wake <- struct{}{}:
			default:
			}
		}
		select {
		case <-wt.wake:
		case <-ctx.Done():
			return fmt.Errorf("projections: wait for position %d: %w", position, ctx.Err())
		}
	}
}
