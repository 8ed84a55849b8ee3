package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Options tune a Runner. The zero value is ready to use.
type Options struct {
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the runner's metrics (see the package documentation); nil registers none.
	Registry prometheus.Registerer
	// MaxBatch is the largest number of events committed in one transaction (default 1000).
	MaxBatch int
	// MaxDelay is how long a batch may gather events while the projection catches up (default 200ms). Once it is
	// live, a batch takes what has arrived and commits at once.
	MaxDelay time.Duration
	// LeaseRetry is how often a standby replica tries to take a projection over (default 1s).
	LeaseRetry time.Duration
	// FollowInterval is how often the checkpoints of projections this replica does not run are read while someone
	// waits for them in WaitFor (default 20ms). Without waiters they are read every second, for Status.
	FollowInterval time.Duration
	// RetryDelay is the first pause after a transient failure (database or event store unreachable) before the
	// projection resubscribes; it doubles up to 30s (default 1s).
	RetryDelay time.Duration
	// SwitchCheck is how often a caught-up version that could not switch in (the live version was still run by
	// another replica) tries again (default 10s).
	SwitchCheck time.Duration
	// CheckpointInterval bounds how long the stored checkpoint of a projection may lag behind its position (default
	// 1s). A batch whose events the projection skips (it writes no row) commits nothing: its position counts at once
	// in memory (WaitFor, Status, metrics) and is stored with the next batch that writes, or on its own after this
	// interval, or when the projection stops. Negative: every batch commits its checkpoint (the behaviour before
	// session 7, kept for comparison benchmarks).
	CheckpointInterval time.Duration
	// ShareInterval is how often the runner compares the projections it runs with its fair share (default 10s):
	// with n replicas running (their presence leases, sqldb.DB.Join), a replica running more than
	// ceil(projections/n) hands the surplus over (see Runner).
	ShareInterval time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 200 * time.Millisecond
	}
	if o.LeaseRetry <= 0 {
		o.LeaseRetry = time.Second
	}
	if o.FollowInterval <= 0 {
		o.FollowInterval = 20 * time.Millisecond
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.SwitchCheck <= 0 {
		o.SwitchCheck = 10 * time.Second
	}
	if o.ShareInterval <= 0 {
		o.ShareInterval = 10 * time.Second
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = time.Second
	}
}

// Runner keeps projections in step with the global log: for each projection it takes the projection's lease, then
// applies the events after its checkpoint in batched transactions. Replicas that do not hold a lease stand by,
// follow the checkpoint in the database (for WaitFor and Status) and take over when the holder goes away.
//
// Fair share: each running Runner holds a presence lease (sqldb.DB.Join), so replicas can count each other. Every
// ShareInterval a runner holding more than ceil(projections / replicas) hands the surplus over: it ends those
// sessions, releases their leases and stays away for a few LeaseRetry, so that a replica standing by (one that
// restarted after its projections had moved to the survivor) takes them. Readiness is not affected (a lease moving
// does not make a replica unready), and checkpoints are fenced, so a hand-over loses and repeats nothing.
type Runner struct {
	db     *sqldb.DB
	source Source
	opts   Options
	logger *slog.Logger

	workers []*worker
	byName  map[string]*worker

	mu sync.Mutex
	// waitSet holds the WaitFor calls in progress; notifyLocked wakes those whose wait is over, and only those.
	waitSet map[*waiter]struct{}
	started bool
	running bool
	runErr  error // why Run ended, once it has
	pollErr error // last failure to read the checkpoints of followed projections

	waiters    int
	wake       chan struct{} // pokes the follower when a waiter arrives
	generation uint64        // bumped when this process changes what it knows first-hand (session start, switch)

	metrics *metrics

	// afterApply, when set (tests only), runs inside each batch's transaction between Apply and the checkpoint.
	afterApply func() error
}

// NewRunner returns a runner for the given projections, reading events from source and writing to db. Each
// projection must have a distinct name. The runner's metrics are registered on opts.Registry now.
func NewRunner(db *sqldb.DB, source Source, opts Options, ps ...Projection) (*Runner, error) {
	if db == nil || source == nil {
		return nil, errors.New("projections: NewRunner needs a database and a source")
	}
	opts.setDefaults()
	r := &Runner{
		db: db, source: source, opts: opts, logger: opts.Logger,
		byName:  make(map[string]*worker, len(ps)),
		waitSet: map[*waiter]struct{}{},
		wake:    make(chan struct{}, 1),
	}
	for _, p := range ps {
		if err := validate(p); err != nil {
			return nil, err
		}
		if _, dup := r.byName[p.Name()]; dup {
			return nil, fmt.Errorf("%w: two projections named %q", ErrInvalidProjection, p.Name())
		}
		w := &worker{r: r, p: p, name: p.Name(), version: p.Version(), role: RoleStarting,
			logger: r.logger.With("projection", p.Name(), "version", p.Version())}
		r.workers = append(r.workers, w)
		r.byName[p.Name()] = w
	}
	if opts.Registry != nil {
		if err := r.register(opts.Registry); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run sets the database up (see Setup) and runs every projection until ctx ends (it then returns nil) or until
// one of them stops on an event it cannot decode or apply (it then stops the others and returns that error; Status,
// Ready and WaitFor keep reporting it). Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("projections: Runner.Run called twice")
	}
	r.started, r.running = true, true
	r.mu.Unlock()

	err := r.run(ctx)

	r.mu.Lock()
	r.running = false
	if err != nil {
		r.runErr = err
	} else {
		r.runErr = errRunnerStopped
	}
	r.notifyLocked()
	r.mu.Unlock()
	return err
}

var errRunnerStopped = errors.New("projections: runner stopped")

func (r *Runner) run(ctx context.Context) error {
	ps := make([]Projection, len(r.workers))
	for i, w := range r.workers {
		ps[i] = w.p
	}
	if err := Setup(ctx, r.db, ps...); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		r.logger.Error("projections: setup failed", "error", err.Error())
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	wg.Go(func() { r.follow(ctx) })
	wg.Go(func() { r.share(ctx) })
	errs := make(chan error, len(r.workers))
	for _, w := range r.workers {
		wg.Go(func() { errs <- w.run(ctx) })
	}
	var first error
	for range r.workers {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	cancel()
	wg.Wait()
	return first
}

// notifyLocked wakes every WaitFor. r.mu must be held.
func (r *Runner) notifyLocked() {
	for wt := range r.waitSet {
		if r.waitOverLocked(wt) {
			select {
			case wt.wake <- struct{}{}:
			default:
			}
		}
	}
}

// follow reads the checkpoint table: every FollowInterval while a WaitFor waits on a projection this replica does
// not run as its live version, every second otherwise (for Status). One reader serves every waiter.
func (r *Runner) follow(ctx context.Context) {
	const slow = time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.wake:
		}
		interval := slow
		if r.needsFollowing() {
			interval = r.opts.FollowInterval
		}
		if wait := interval - time.Since(last); wait > 0 {
			// Woken early by a new waiter: poll at the interval it needs, counted from the last poll.
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(wait)
			continue
		}
		last = time.Now()
		r.poll(ctx)
		if r.needsFollowing() {
			interval = r.opts.FollowInterval
		}
		timer.Reset(interval)
	}
}

// needsFollowing reports whether a waiter waits on a projection whose live checkpoint only the database knows.
func (r *Runner) needsFollowing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiters == 0 {
		return false
	}
	for _, w := range r.workers {
		if !(w.role == RoleActive && w.liveVersion == w.version) {
			return true
		}
	}
	return false
}

func (r *Runner) poll(ctx context.Context) {
	r.mu.Lock()
	gen := r.generation
	r.mu.Unlock()
	cps, err := ReadCheckpoints(ctx, r.db.Reader())
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pollErr = err
	if err != nil {
		r.logger.Warn("projections: cannot read checkpoints", "error", err.Error())
		return
	}
	if r.generation != gen {
		return // this process switched or (re)started a projection meanwhile: the rows read may predate it
	}
	changed := false
	for _, w := range r.workers {
		live, own := Checkpoint{}, Checkpoint{}
		for _, cp := range cps {
			if cp.Name != w.name {
				continue
			}
			if cp.State == StateLive {
				live = cp
			}
			if cp.Version == w.version {
				own = cp
			}
		}
		if w.observe(live, own) {
			changed = true
		}
		w.noteServedLocked()
	}
	if changed {
		r.notifyLocked()
	}
}

func versionLabel(v int) string { return strconv.Itoa(v) }

// share holds this runner's presence lease and hands projections over when it runs more than its fair share.
func (r *Runner) share(ctx context.Context) {
	var presence *sqldb.Lease
	defer func() {
		if presence != nil {
			_ = presence.Release()
		}
	}()
	tick := time.NewTicker(r.opts.ShareInterval)
	defer tick.Stop()
	for {
		if presence == nil || presence.Err() != nil {
			if presence != nil {
				_ = presence.Release()
			}
			var err error
			if presence, err = r.db.Join(ctx); err != nil {
				presence = nil
				if ctx.Err() == nil {
					r.logger.Debug("projections: presence lease not taken; trying again", "error", err.Error())
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := r.db.LiveReplicas(ctx)
		if err != nil || n <= 1 {
			continue
		}
		fair := (len(r.workers) + n - 1) / n
		r.mu.Lock()
		var active []*worker
		for _, w := range r.workers {
			if w.role == RoleActive && w.caughtUp && w.stopSession != nil {
				active = append(active, w)
			}
		}
		surplus := active[:max(0, len(active)-fair)]
		for _, w := range surplus {
			w.handOver = true
			w.stopSession()
		}
		r.mu.Unlock()
		if len(surplus) > 0 {
			r.logger.Info("projections: handing projections over for a fair share", "replicas", n,
				"running", len(active), "fair_share", fair, "handed_over", len(surplus))
		}
	}
}
