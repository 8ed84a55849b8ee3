package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Role is what this replica does with a projection.
type Role string

// The roles.
const (
	// RoleStarting: Run has not reached the projection yet.
	RoleStarting Role = "starting"
	// RoleStandby: another replica (or process) holds the projection's lease; this one follows its checkpoint.
	RoleStandby Role = "standby"
	// RoleActive: this replica holds the lease and applies events.
	RoleActive Role = "active"
	// RoleStopped: the projection stopped on an error (see Status.Err), or Run has ended.
	RoleStopped Role = "stopped"
)

// maxRetryDelay bounds the back-off after transient failures; maxLeaseRetryDelay the back-off while the lease cannot
// be asked for (the database is out of reach), short so that a restarted database is used again within seconds.
const (
	maxRetryDelay      = 30 * time.Second
	maxLeaseRetryDelay = 5 * time.Second
)

// worker runs one projection in a Runner. Its fields below the line are guarded by r.mu.
type worker struct {
	r       *Runner
	p       Projection
	name    string
	version int
	logger  *slog.Logger

	role          Role
	state         State  // this version's state, as last known
	position      uint64 // this version's checkpoint, as last known
	liveVersion   int    // the version readers see (0: none yet)
	livePosition  uint64 // its checkpoint
	caughtUp      bool   // reached the head of the log in the current session
	heldElsewhere bool   // standing by because another holder has the lease (not merely before the first attempt)
	applied       int64  // events applied by this process
	transactions  int64  // write transactions committed by this process
	lastRecorded  time.Time
	pendingSince  time.Time // recorded-at of the oldest event received but not committed yet
	err           error     // why the projection stopped
	retrying      error     // why the lease cannot be asked for right now (retried)
	// served is set once the projection has counted as ready on this replica (caught up here, or followed while
	// another replica held it): from then on a lease moving (a takeover, a hand-over) does not make it unready.
	served bool
	// stopSession ends the running session (nil when none runs); handOver says it was ended for a fair share.
	stopSession context.CancelFunc
	handOver    bool

	// Owned by the session's goroutine (no lock): the stored checkpoint, which may lag behind position when
	// batches wrote nothing (see Options.CheckpointInterval).
	stored         uint64    // position of the stored checkpoint (saveCheckpoint's fence)
	unstored       int       // events applied since
	unstoredAt     time.Time // recorded-at of the last of them
	unstoredRecord bool      // position is ahead of stored
}

// session options.
type sessionOptions struct {
	untilCaughtUp bool             // return once the head of the log is reached (rebuilds)
	forceSwitch   bool             // switch in when caught up whoever runs the live version (rebuilds)
	onCommit      func(p Progress) // after each committed batch
	started       time.Time        // for Progress.Elapsed
	progress      *Progress        // accumulates what the session applied
}

// Progress is what a rebuild has done so far.
type Progress struct {
	Position uint64        // checkpoint reached
	Events   int64         // events applied since the rebuild started
	Elapsed  time.Duration // since the rebuild started
}

// permanent reports whether err must stop the projection for good (until an operator intervenes).
func permanent(err error) bool {
	return errors.Is(err, ErrUndecodable) || errors.Is(err, ErrApply) || errors.Is(err, ErrInvalidProjection)
}

func leaseName(name string, version int) string { return "projection." + Prefix(name, version) }

// run takes the lease, runs sessions until ctx ends or a permanent error, and goes back to standby whenever the
// lease is lost.
func (w *worker) run(ctx context.Context) error {
	delay, leaseDelay := w.r.opts.RetryDelay, w.r.opts.RetryDelay
	for {
		w.setRole(RoleStandby)
		// Try once first: only a lease held by someone else makes this replica a follower that may count as ready
		// (Runner.Ready); a worker that is about to take the lease is not ready yet, and would flip to "catching up"
		// a moment after saying it was.
		lease, err := w.r.db.TryAcquireLease(ctx, leaseName(w.name, w.version))
		if errors.Is(err, sqldb.ErrLeaseHeld) {
			w.setRetrying(nil) // the database answers: another replica holds the lease
			w.setHeldElsewhere(true)
			lease, err = w.r.db.AcquireLease(ctx, leaseName(w.name, w.version), w.r.opts.LeaseRetry)
		}
		w.setHeldElsewhere(false)
		if err != nil {
			if ctx.Err() != nil {
				w.setRole(RoleStopped)
				return nil
			}
			err = fmt.Errorf("projections: %s: take lease: %w", Prefix(w.name, w.version), err)
			if errors.Is(err, sqldb.ErrClosed) {
				w.fail(err) // this process closed its database: it is shutting down
				return err
			}
			// The database is out of reach (a PostgreSQL restart, a network cut): never a reason to stop. Try
			// again with back-off; Ready reports it meanwhile.
			w.setRetrying(err)
			w.logger.Warn("projections: cannot take the lease; trying again", "in", leaseDelay, "error", err.Error())
			select {
			case <-ctx.Done():
				w.setRole(RoleStopped)
				return nil
			case <-time.After(leaseDelay):
			}
			leaseDelay = min(2*leaseDelay, maxLeaseRetryDelay)
			continue
		}
		w.setRetrying(nil)
		leaseDelay = w.r.opts.RetryDelay
		w.logger.Info("projections: took over the projection")
		start := time.Now()
		err = w.session(ctx, lease, sessionOptions{})
		_ = lease.Release()
		w.r.mu.Lock()
		handedOver := w.handOver
		w.handOver = false
		w.r.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			w.setRole(RoleStopped)
			return nil
		case handedOver && !permanent(err):
			// Stay away long enough for a replica standing by to take the lease (it tries every LeaseRetry).
			w.logger.Info("projections: handed the projection over for a fair share")
			w.setRole(RoleStandby)
			select {
			case <-ctx.Done():
				w.setRole(RoleStopped)
				return nil
			case <-time.After(3 * w.r.opts.LeaseRetry):
			}
			continue
		case permanent(err):
			w.fail(err)
			return err
		case errors.Is(err, ErrFenced) || errors.Is(err, sqldb.ErrLeaseLost):
			w.logger.Warn("projections: lost the projection to another replica; standing by", "error", err.Error())
			continue
		}
		if time.Since(start) > maxRetryDelay {
			delay = w.r.opts.RetryDelay // it ran well for a while: this is a new incident
		}
		w.logger.Warn("projections: projection interrupted; resuming from its checkpoint", "in", delay, "error", errString(err))
		w.setRole(RoleStandby)
		select {
		case <-ctx.Done():
			w.setRole(RoleStopped)
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

func errString(err error) string {
	if err == nil {
		return "source ended"
	}
	return err.Error()
}

// fail records a permanent error: logged, kept for Status, Ready and WaitFor, and written to the checkpoint row.
func (w *worker) fail(err error) {
	w.logger.Error("projections: projection stopped; fix the cause, then restart (or rebuild)", "error", err.Error())
	w.r.mu.Lock()
	w.role, w.err = RoleStopped, err
	w.pendingSince = time.Time{}
	w.r.notifyLocked()
	w.r.mu.Unlock()
	if errors.Is(err, sqldb.ErrClosed) {
		return // the database went first (a shutdown out of order): there is nowhere to record it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := saveError(ctx, w.r.db, w.name, w.version, err.Error()); serr != nil {
		w.logger.Warn("projections: cannot record the error in the checkpoint table", "error", serr.Error())
	}
}

func (w *worker) setRole(role Role) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	if w.role != role {
		w.role = role
		if role != RoleActive {
			w.caughtUp = false
			w.pendingSince = time.Time{}
		}
		w.r.notifyLocked()
	}
}

func (w *worker) setHeldElsewhere(held bool) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	if w.heldElsewhere != held {
		w.heldElsewhere = held
		w.noteServedLocked()
		w.r.notifyLocked()
	}
}

func (w *worker) setRetrying(err error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	if (w.retrying == nil) != (err == nil) {
		w.r.notifyLocked()
	}
	w.retrying = err
}

// noteServedLocked sets served when the projection is ready on this replica now. r.mu must be held.
func (w *worker) noteServedLocked() {
	switch {
	case w.err != nil:
	case w.role == RoleActive && w.caughtUp:
		w.served = true
	case w.role == RoleStandby && w.heldElsewhere && w.liveVersion != 0 && w.r.pollErr == nil:
		w.served = true
	}
}

// observe takes in what the checkpoint table says (live: the live version's row, own: this version's row; either
// may be zero). It reports whether anything a waiter cares about changed. r.mu must be held.
func (w *worker) observe(live, own Checkpoint) bool {
	if own.Version != 0 {
		if w.role != RoleActive {
			w.position = own.Position
		}
		w.state = own.State
	}
	switch {
	case live.Version == 0:
		return false
	case live.Version != w.liveVersion:
		w.liveVersion, w.livePosition = live.Version, live.Position
		return true
	case live.Position > w.livePosition:
		w.livePosition = live.Position
		return true
	}
	return false
}

// session runs the projection while the lease is held: it subscribes after the checkpoint and commits batches until
// ctx ends, the lease is lost, the source fails, or (untilCaughtUp) the head of the log is reached.
func (w *worker) session(ctx context.Context, lease *sqldb.Lease, so sessionOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !so.untilCaughtUp {
		w.r.mu.Lock()
		w.stopSession, w.handOver = cancel, false
		w.r.mu.Unlock()
		defer func() {
			w.r.mu.Lock()
			w.stopSession = nil
			w.r.mu.Unlock()
		}()
	}
	go func() {
		select {
		case <-lease.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	cp, found, err := getCheckpoint(ctx, w.r.db, w.name, w.version)
	if err == nil && !found {
		// Dropped by a newer version's switch while this replica stood by: recreate it, to be built again.
		if err = setupVersion(ctx, w.r.db, w.p); err == nil {
			cp, found, err = getCheckpoint(ctx, w.r.db, w.name, w.version)
		}
	}
	if err != nil {
		return w.sessionEnd(lease, err)
	}
	if !found {
		return fmt.Errorf("projections: %s: no checkpoint row after setup", Prefix(w.name, w.version))
	}
	live, hasLive, err := liveVersion(ctx, w.r.db, w.name)
	if err != nil {
		return w.sessionEnd(lease, err)
	}
	w.stored, w.unstored, w.unstoredRecord = cp.Position, 0, false
	w.r.mu.Lock()
	w.role, w.state, w.position, w.caughtUp = RoleActive, cp.State, cp.Position, false
	if hasLive && live != w.liveVersion {
		w.liveVersion, w.livePosition = live, 0
	}
	if live == w.version {
		w.livePosition = max(w.livePosition, cp.Position)
	}
	w.r.generation++
	w.r.notifyLocked()
	w.r.mu.Unlock()
	w.logger.Info("projections: subscribing", "after", cp.Position, "state", string(cp.State))

	deliveries := make(chan event.Delivery, 2*w.r.opts.MaxBatch)
	sourceDone := make(chan error, 1)
	go func() {
		sourceDone <- w.r.source.Run(ctx, cp.Position, func(ctx context.Context, d event.Delivery) error {
			select {
			case deliveries <- d:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	sourceFinished := false
	err = w.consume(ctx, deliveries, sourceDone, &sourceFinished, cp.Position, so)
	cancel()
	if !sourceFinished {
		<-sourceDone
	}
	return w.sessionEnd(lease, err)
}

// sessionEnd explains an interrupted session by the loss of its lease when that is what happened.
func (w *worker) sessionEnd(lease *sqldb.Lease, err error) error {
	if lerr := lease.Err(); lerr != nil && errors.Is(lerr, sqldb.ErrLeaseLost) && !permanent(err) {
		return fmt.Errorf("projections: %s: %w", Prefix(w.name, w.version), lerr)
	}
	return err
}

// consume gathers deliveries into batches and commits them. A batch grows up to MaxBatch events; while catching up
// it waits up to MaxDelay for them, once live it takes what has already arrived, so a lone event commits at once and
// a burst shares one commit.
func (w *worker) consume(ctx context.Context, deliveries <-chan event.Delivery, sourceDone <-chan error, sourceFinished *bool, pos uint64, so sessionOptions) error {
	opts := w.r.opts
	switchTick := time.NewTicker(opts.SwitchCheck)
	defer switchTick.Stop()
	storeTick := time.NewTicker(max(opts.CheckpointInterval, time.Second)) // negative: every batch stores
	defer storeTick.Stop()
	defer w.storeOnStop(ctx)
	batch := make([]event.Envelope, 0, opts.MaxBatch)
	records := make([]event.Record, 0, opts.MaxBatch)
	_, raw := w.p.(RecordApplier)
	var rebuild *online // an online rebuild asked by an operator (online.go)
	defer func() {
		if rebuild != nil {
			rebuild.cancel()
		}
	}()
	for {
		var d event.Delivery
		select {
		case <-rebuild.ready():
			if err := w.finishRebuild(ctx, &rebuild, pos); err != nil {
				return err
			}
			continue
		case d = <-deliveries:
		case err := <-sourceDone:
			*sourceFinished = true
			if err == nil {
				err = errors.New("ended without an error")
			}
			return fmt.Errorf("projections: %s: source: %w", Prefix(w.name, w.version), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-storeTick.C:
			if err := w.storeCheckpoint(ctx, pos); err != nil {
				return err
			}
			continue
		case <-switchTick.C:
			if err := w.maybeSwitch(ctx, so.forceSwitch); err != nil {
				return err
			}
			if !so.untilCaughtUp {
				if err := w.serveRebuild(ctx, &rebuild, pos); err != nil {
					return err
				}
			}
			continue
		}

		batch, records = batch[:0], records[:0]
		var last event.Record
		var undecodable error
		caughtUp := false
		add := func(d event.Delivery) bool {
			switch {
			case d.CaughtUp:
				caughtUp = true
				return false
			case d.Err != nil && !raw:
				undecodable = fmt.Errorf("%w: %s at position %d (stream %s, revision %d, type %q): %w",
					ErrUndecodable, Prefix(w.name, w.version), d.Record.Position, d.Record.Stream, d.Record.Revision,
					d.Record.Type, d.Err)
				return false
			}
			if len(batch) == 0 {
				w.markPending(d.Record.RecordedAt)
			}
			batch = append(batch, d.Envelope)
			records = append(records, d.Record)
			last = d.Record
			return len(batch) < opts.MaxBatch
		}
		more := add(d)
		if more && d.Live {
		drain:
			for more {
				select {
				case d = <-deliveries:
					more = add(d)
				default:
					break drain
				}
			}
		} else if more {
			timer := time.NewTimer(opts.MaxDelay)
		gather:
			for more {
				select {
				case d = <-deliveries:
					more = add(d)
				case <-timer.C:
					break gather
				case <-ctx.Done():
					timer.Stop()
					return ctx.Err()
				}
			}
			timer.Stop()
		}
		if len(batch) > 0 {
			if err := w.commit(ctx, batch, records, last); err != nil {
				return err
			}
			pos = last.Position
			if so.progress != nil {
				so.progress.Position = pos
				so.progress.Events += int64(len(batch))
				so.progress.Elapsed = time.Since(so.started)
				if so.onCommit != nil {
					so.onCommit(*so.progress)
				}
			}
		}
		if undecodable != nil {
			return undecodable
		}
		if caughtUp {
			w.r.mu.Lock()
			first := !w.caughtUp
			w.caughtUp = true
			w.noteServedLocked()
			w.r.notifyLocked()
			w.r.mu.Unlock()
			if first {
				w.logger.Info("projections: caught up", "position", pos)
			}
			if err := w.maybeSwitch(ctx, so.forceSwitch); err != nil {
				return err
			}
			if so.untilCaughtUp {
				return nil
			}
		}
	}
}

func (w *worker) markPending(recordedAt time.Time) {
	w.r.mu.Lock()
	w.pendingSince = recordedAt
	w.r.mu.Unlock()
}

// commit applies a batch and moves the checkpoint from the stored position to the batch's last position in one
// transaction. The transaction begins at Apply's first statement: a batch the projection skips entirely commits
// nothing, moves the position in memory only, and leaves the checkpoint to the next batch that writes or to
// storeCheckpoint. A RecordApplier gets the records instead of the envelopes.
func (w *worker) commit(ctx context.Context, batch []event.Envelope, records []event.Record, last event.Record) error {
	start := time.Now()
	began, err := w.r.db.InLazyTx(ctx, w.beginBatch, func(tx *sqldb.Tx) error {
		if err := applyTo(ctx, tx, w.p, batch, records); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if perr := w.ping(ctx); perr != nil {
				// Not the projection's fault: the database is out of reach. Resume once it is back.
				return fmt.Errorf("projections: %s: database unreachable: %w", Prefix(w.name, w.version), errors.Join(err, perr))
			}
			return fmt.Errorf("%w: %s, batch of positions %d..%d: %w", ErrApply, Prefix(w.name, w.version),
				records[0].Position, last.Position, err)
		}
		if w.r.afterApply != nil {
			if err := w.r.afterApply(); err != nil {
				return err
			}
		}
		if !tx.Began() && w.r.opts.CheckpointInterval > 0 {
			return nil // nothing written: nothing to commit
		}
		return saveCheckpoint(ctx, tx, w.name, w.version, w.stored, last.Position, w.unstored+len(batch), last.RecordedAt)
	})
	if err != nil {
		return err
	}
	if began {
		w.stored, w.unstored, w.unstoredRecord = last.Position, 0, false
	} else {
		w.unstored += len(batch)
		w.unstoredAt, w.unstoredRecord = last.RecordedAt, true
	}
	w.r.metrics.observeBatch(w, len(batch), time.Since(start))
	w.r.mu.Lock()
	if began {
		w.transactions++
	}
	w.position = last.Position
	w.applied += int64(len(batch))
	w.lastRecorded = last.RecordedAt
	w.pendingSince = time.Time{}
	if w.liveVersion == w.version {
		w.livePosition = last.Position
	}
	w.r.notifyLocked()
	w.r.mu.Unlock()
	return nil
}

// beginBatch runs first in a batch's transaction, once it begins.
func (w *worker) beginBatch(ctx context.Context, tx *sqldb.Tx) error {
	if tx.Dialect() != sqldb.Postgres {
		return nil
	}
	// A read model is rebuilt from the log and its checkpoint commits with its rows: a crash that loses the last
	// commits loses both, and they are applied again. Not waiting for the WAL flush is therefore safe, and it is
	// most of a small batch's commit time (as synchronous=NORMAL is on SQLite).
	if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
		return fmt.Errorf("projections: %s: %w", Prefix(w.name, w.version), err)
	}
	return nil
}

// storeCheckpoint stores position pos, reached by batches that wrote nothing, as the checkpoint (fenced by the
// stored one, as commit does). It does nothing when the stored checkpoint is already there.
func (w *worker) storeCheckpoint(ctx context.Context, pos uint64) error {
	if !w.unstoredRecord || pos <= w.stored {
		return nil
	}
	err := w.r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := w.beginBatch(ctx, tx); err != nil {
			return err
		}
		return saveCheckpoint(ctx, tx, w.name, w.version, w.stored, pos, w.unstored, w.unstoredAt)
	})
	if err != nil {
		return err
	}
	w.stored, w.unstored, w.unstoredRecord = pos, 0, false
	w.r.mu.Lock()
	w.transactions++
	w.r.mu.Unlock()
	return nil
}

// storeOnStop stores the position reached when a session ends, so that the next one (here or on another replica)
// does not read the skipped events again. A session that lost its lease is fenced off by the stored position.
func (w *worker) storeOnStop(ctx context.Context) {
	if !w.unstoredRecord {
		return
	}
	w.r.mu.Lock()
	pos := w.position
	w.r.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.storeCheckpoint(sctx, pos); err != nil && !errors.Is(err, sqldb.ErrClosed) {
		w.logger.Warn("projections: position not stored while stopping; skipped events will be read again",
			"position", pos, "error", err.Error())
	}
}

// ping checks, on a connection of its own, that the database answers.
func (w *worker) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return w.r.db.Reader().PingContext(ctx)
}

// maybeSwitch makes this version live once it has caught up, if it is not already: at once when it is newer than
// the live version (a deploy) or when nobody runs the live version any more (a rollback, or a version left behind);
// force switches regardless (a rebuild asked by an operator).
func (w *worker) maybeSwitch(ctx context.Context, force bool) error {
	w.r.mu.Lock()
	caughtUp, isLive := w.caughtUp, w.state == StateLive
	w.r.mu.Unlock()
	if !caughtUp || isLive {
		return nil
	}
	live, hasLive, err := liveVersion(ctx, w.r.db, w.name)
	if err != nil {
		return err
	}
	if hasLive && live == w.version {
		w.r.mu.Lock()
		w.state, w.liveVersion, w.livePosition = StateLive, w.version, w.position
		w.r.notifyLocked()
		w.r.mu.Unlock()
		return nil
	}
	if hasLive && !force && live > w.version {
		// The live version is newer: switch back only if no replica runs it.
		other, err := w.r.db.TryAcquireLease(ctx, leaseName(w.name, live))
		if errors.Is(err, sqldb.ErrLeaseHeld) {
			return nil
		}
		if err != nil {
			return err
		}
		_ = other.Release()
		w.logger.Warn("projections: the live version is newer but nobody runs it; switching back to this one",
			"live_version", live)
	}
	if err := w.r.db.InTx(ctx, func(tx *sqldb.Tx) error { return switchIn(ctx, tx, w.name, w.version) }); err != nil {
		return fmt.Errorf("projections: %s: switch in: %w", Prefix(w.name, w.version), err)
	}
	w.logger.Info("projections: version switched in: readers now see it", "previous_version", live)
	w.r.mu.Lock()
	w.state, w.liveVersion, w.livePosition = StateLive, w.version, w.position
	w.r.generation++
	w.r.notifyLocked()
	w.r.mu.Unlock()
	return nil
}
