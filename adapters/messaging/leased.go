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

// DueRows is a Leased job over a table of due rows (the casework deadlines, the privacy retention): each tick, batch
// after batch, it reads the rows due now and acts on each, until a batch is not full. Act records in the table what
// comes next for a row (done, or tried again later); a row it leaves due (Act returns false) ends the tick after its
// batch, at once with StopAtFailure, since the next read would find it again: so a tick ends.
type DueRows[R any] struct {
	// Leased runs the ticks: its Tick is DueRows's own (any other is ignored).
	Leased
	// Batch is how many rows one Read returns at most; 0: DefaultBatch.
	Batch int
	// Now is the clock, read once a batch and passed to Read and Act; nil: time.Now.
	Now func() time.Time
	// Read returns up to limit rows due at now, in the order they are to be acted on.
	Read func(ctx context.Context, now time.Time, limit int) ([]R, error)
	// Act acts on one row and records the outcome; false: the row stays due (Act has logged why to log, the Logger
	// with the lease as "component").
	Act func(ctx context.Context, log *slog.Logger, row R, now time.Time) bool
	// StopAtFailure ends the tick at the first row left due, rather than after its batch.
	StopAtFailure bool
	// What names the rows in the log when Read fails: "<What> cannot be read; trying at the next tick" (What:
	// "casework: due deadlines").
	What string
}

// DefaultBatch is the batch of a DueRows that sets none.
const DefaultBatch = 100

// Run acts on the due rows every Interval while it holds the lease (Leased.Run), until ctx ends.
func (d DueRows[R]) Run(ctx context.Context) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Batch <= 0 {
		d.Batch = DefaultBatch
	}
	l := d.Leased
	l.Tick = d.tick
	l.Run(ctx)
}

// tick acts on every row due now; it returns at the first failure to read, after a batch with a row left due, or
// when ctx ends.
func (d DueRows[R]) tick(ctx context.Context) {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", d.Lease)
	for ctx.Err() == nil {
		now := d.Now()
		rows, err := d.Read(ctx, now, d.Batch)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn(d.What+" cannot be read; trying at the next tick", "error", Describe(err))
			}
			return
		}
		failed := false
		for _, row := range rows {
			if ctx.Err() != nil {
				return
			}
			if !d.Act(ctx, log, row, now) {
				if d.StopAtFailure || ctx.Err() != nil {
					return
				}
				failed = true
			}
		}
		if failed || len(rows) < d.Batch {
			return
		}
	}
}
