package messaging

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Leased is a periodic job run by one process at a time among every process sharing the database (replicas on
// PostgreSQL, a CLI beside the server on SQLite): the schedulers of adapters/casework and adapters/privacy.
type Leased struct {
	// Lease names the lease (sqldb.DB.AcquireLease); it is also the "component" of the logs.
	Lease string
	// DB holds the lease.
	DB *sqldb.DB
	// Interval is the time between two ticks (the first is as soon as the lease is held); LeaseRetry how often a
	// process waiting for the lease tries again.
	Interval, LeaseRetry time.Duration
	// Tick does the work once. Its context ends when Run's does or when the lease is lost (another process may
	// already act): it must stop then. It keeps nothing in memory between ticks that a successor would need.
	Tick func(ctx context.Context)
	// Logger receives the lease's comings and goings; nil discards them.
	Logger *slog.Logger
}

// Run waits for the lease, then ticks every Interval while it holds it; a lost lease (PostgreSQL's connection
// broke) cancels the tick in flight and sends it back to waiting. It returns when ctx ends.
func (l Leased) Run(ctx context.Context) {
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", l.Lease)
	for {
		lease, err := l.DB.AcquireLease(ctx, l.Lease, l.LeaseRetry)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn(l.Lease+": lease not acquired; trying again", "error", Describe(err))
			if !Sleep(ctx, l.LeaseRetry) {
				return
			}
			continue
		}
		log.Info(l.Lease + ": started")
		l.hold(ctx, lease)
		if err := lease.Err(); errors.Is(err, sqldb.ErrLeaseLost) {
			log.Warn(l.Lease + ": lease lost; waiting for it again")
		}
		_ = lease.Release()
		if ctx.Err() != nil {
			return
		}
	}
}

// hold ticks while the lease is held and ctx lasts.
func (l Leased) hold(parent context.Context, lease *sqldb.Lease) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	go func() {
		select {
		case <-lease.Done():
			cancel() // another process may already act: stop the work in flight
		case <-ctx.Done():
		}
	}()
	ticker := time.NewTicker(l.Interval)
	defer ticker.Stop()
	for {
		l.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Sleep waits d, or less if ctx ends first; it reports whether the whole d went by.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
