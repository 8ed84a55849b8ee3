package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// AllTopic is the one topic a Subscriber serves: the whole global log.
const AllTopic = "$all"

// Feed is an ordered catch-up feed of the global log, as *kurrentdb.Source provides: Run delivers, one at a time and
// in commit order, every non-system event committed strictly after position after (0: from the beginning), with a
// CaughtUp delivery when it reaches the head; it returns when ctx ends or handle fails.
type Feed interface {
	Run(ctx context.Context, after uint64, handle func(ctx context.Context, d event.Delivery) error) error
}

// Errors of Subscribe.
var (
	ErrClosed            = errors.New("messaging: subscriber closed")
	ErrAlreadySubscribed = errors.New("messaging: subscriber already has a subscription (one handler, one subscription)")
	ErrUnknownTopic      = errors.New("messaging: unknown topic (only " + AllTopic + " is served)")
)

// SubscriberConfig configures a Subscriber. Handler, Feed and DB are required.
type SubscriberConfig struct {
	// Handler names the one handler this subscriber feeds. It is the consumer's identity: the key of its durable
	// checkpoint and the name of its lease. Renaming a handler after it was deployed makes a new consumer that
	// starts again from the beginning of the log (or from its head with SkipHistory): never rename one.
	Handler string
	// Feed is the global log, normally a *kurrentdb.Source.
	Feed Feed
	// DB holds the checkpoint (reaction_checkpoint, see Migrate) and the lease.
	DB *sqldb.DB
	// Logger receives the subscriber's logs; nil discards them.
	Logger *slog.Logger
	// SkipHistory makes a handler that has no checkpoint yet start at the head of the log: events committed before
	// its first start are never delivered to it. Use it for a reaction added to a running system whose past events
	// must not trigger it (mail to every member ever registered). It has no effect once a checkpoint exists.
	SkipHistory bool
	// Types, when not empty, are the only event types (as stored) the handler is given: the others are acknowledged
	// as they come by, without a message, a delivery or a call of the handler (set by the Handles option). Empty:
	// every event. A type left out is never handled: list exactly those the handler acts on.
	Types []string
	// Backoff is the first wait before redelivering a Nacked message, and before subscribing again after the feed
	// or the checkpoint store failed; each further failure doubles it, up to MaxBackoff. Defaults: 200ms and 30s.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// LeaseRetry is how often a subscriber waiting for the lease tries again (default 1s): only one subscriber of a
	// given handler runs at a time, across every process sharing the database.
	LeaseRetry time.Duration
	// Now is the clock of checkpoint times; nil means time.Now.
	Now func() time.Time
	// CheckpointInterval, when positive, is how often the position of the last acknowledged event is stored as the
	// handler's checkpoint: at most one write per interval instead of one per event. The
	// position is also stored when the feed reaches its head and when the subscription ends. An event acknowledged
	// but not yet checkpointed when the process dies is delivered again: the repeats a crash causes are bounded by
	// the interval, and keyed effects (Once, OnceExternal) find their key. 0: DefaultCheckpointInterval (250 ms).
	// Negative: stored at every Ack, before the next message.
	CheckpointInterval time.Duration

	// whileLeased, set by the Router, runs beside the subscription for as long as it holds the handler's lease (its
	// context ends when the lease is lost or the subscription stops): the handler's poison replays and pruning run
	// there, so that only the replica running the handler does them.
	whileLeased func(ctx context.Context)
	// onAck, set by the Router, is told how long after its event was recorded each event was acknowledged.
	onAck func(delay time.Duration)
	// flusher, set by the Router when CheckpointInterval is positive, stores this handler's checkpoint with every other
	// handler's of the Router, in one transaction per interval (see checkpointFlusher).
	flusher *checkpointFlusher
	// crashOnStop, set by tests only (export_test.go), makes a round end without storing what was acknowledged since
	// the last store: what a process killed between an Ack and the next store leaves behind.
	crashOnStop bool
}

func (c *SubscriberConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.LeaseRetry <= 0 {
		c.LeaseRetry = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
}

// DefaultCheckpointInterval is the default SubscriberConfig.CheckpointInterval (and RouterConfig's): the
// acknowledged positions are stored every 250 ms (a Router's handlers all in one statement), not at every Ack.
//
// Session 8 measured why storing at every Ack had looked faster (BENCHMARKS.md, "Writer traffic (session 8)"): it
// throttled the reactions. Under the goal's HTTP mix the 21 handlers each waited for the single SQLite writer after
// every event (46,000–51,000 checkpoint transactions a minute, 23–26 ms of wait each), fell 16–18 s behind the log
// on average (mails as late) and did most of their work after the measured window; the projections' batches waited
// 59–66 ms for the writer, against 14–23 ms with the interval. With the interval the reactions keep up (a fraction
// of a second behind), the writer sees about a fifth of the transactions, and the server spends a third less CPU
// per request once the reactions' catching up is counted. Session 7's per-handler tickers added a burst of 21
// transactions every interval; one flusher per Router makes it one.
const DefaultCheckpointInterval = IntervalCheckpoint

// IntervalCheckpoint is the interval measured in sessions 7 and 8 (see DefaultCheckpointInterval).
const IntervalCheckpoint = 250 * time.Millisecond

// Validate reports every problem at once.
func (c SubscriberConfig) Validate() error {
	return new(depcheck.Check).Add(checkName(c.Handler)).Add(depcheck.New("messaging: subscriber").
		Require("Feed", c.Feed).Require("DB", c.DB).Err()).Err()
}

// ackGrace is how long a subscription that is stopping still waits for the message in flight to be acknowledged,
// so that a handler finishing just then gets its checkpoint stored (and is not run again at the next start).
const ackGrace = 2 * time.Second

// Subscriber is a watermill message.Subscriber over the global log for one handler. It delivers one message per
// non-system event, in commit order, the next only after the previous one is acknowledged:
//
//   - Ack moves the handler's checkpoint to the event's position, stored before the next message is sent (or, with
//     a positive CheckpointInterval, at most every interval, when the feed reaches its head and when the
//     subscription ends);
//   - Nack delivers the same event again, after Backoff (doubling up to MaxBackoff while it keeps failing);
//   - a new Subscriber of the same handler (a restart, another replica) resumes strictly after the checkpoint.
//
// The payload is the event's JSON as stored; the metadata describe the event (see the Meta* keys) and the message
// UUID is the event id. Handlers get the decoded event with Envelope. Messages come with a context derived from
// the subscription's, cancelled after Ack or Nack and when the subscription ends.
//
// Delivery is at least once: an event acknowledged just before a crash (with a positive CheckpointInterval, the
// events acknowledged within the interval), whose checkpoint was not yet stored, comes again. Handlers make their
// effects idempotent with Once or OnceExternal.
type Subscriber struct {
	cfg    SubscriberConfig
	logger *slog.Logger

	mu         sync.Mutex
	closed     bool
	subscribed bool
	closing    chan struct{}
	wg         sync.WaitGroup

	stateMu sync.Mutex
	state   subscriberState

	roundMu    sync.Mutex
	stopRound  context.CancelFunc // ends the round in progress (nil when none)
	handedOver bool               // the round was ended by HandOver
}

// HandOver ends the running round, releases the handler's lease and keeps away from it for three LeaseRetry, so
// that another replica waiting for the lease takes it (fair share). It reports whether a round was running.
func (s *Subscriber) HandOver() bool {
	s.roundMu.Lock()
	defer s.roundMu.Unlock()
	if s.stopRound == nil {
		return false
	}
	s.handedOver = true
	s.stopRound()
	return true
}

// subscriberState is what the metrics read of a running subscription.
type subscriberState struct {
	active   bool // holds the handler's lease and follows the feed
	caughtUp bool // has reached the head of the log in the current round
	// pendingSince is when the store recorded the oldest event delivered and not yet acknowledged (zero: none):
	// how far behind the head of the log the handler is, in time.
	pendingSince time.Time
}

func (s *Subscriber) setState(f func(st *subscriberState)) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	f(&s.state)
}

// status returns the subscription's state, for metrics.
func (s *Subscriber) status() subscriberState {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.state
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a subscriber for cfg.Handler.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Subscriber{
		cfg:     cfg,
		logger:  cfg.Logger.With("handler", cfg.Handler),
		closing: make(chan struct{}),
	}, nil
}

// Subscribe starts the subscription to topic, which must be AllTopic, and returns its messages. A Subscriber has at
// most one subscription: one handler, one checkpoint. The channel is closed when ctx ends or Close is called.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != AllTopic {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, topic)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.subscribed {
		return nil, ErrAlreadySubscribed
	}
	s.subscribed = true
	out := make(chan *message.Message)
	ctx, cancel := context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		s.run(ctx, out)
	}()
	return out, nil
}

// Close ends the subscription and waits until its channel is closed. It is safe to call more than once.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// run keeps the subscription going until ctx ends: each round takes the lease, reads the checkpoint and follows the
// feed; when a round fails (the feed, the database, the lease) the next starts after a back-off, from the stored
// checkpoint.
func (s *Subscriber) run(ctx context.Context, out chan<- *message.Message) {
	delay := s.cfg.Backoff
	for {
		progressed, err := s.round(ctx, out)
		if ctx.Err() != nil {
			return
		}
		s.roundMu.Lock()
		handedOver := s.handedOver
		s.handedOver = false
		s.roundMu.Unlock()
		if handedOver {
			s.logger.Info("reactions: handed the handler over for a fair share")
			if !sleep(ctx, 3*s.cfg.LeaseRetry) {
				return
			}
			continue
		}
		if progressed {
			delay = s.cfg.Backoff
		}
		s.logger.Warn("reactions: subscription stopped; starting again from the stored checkpoint", "in", delay, "err", err)
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, s.cfg.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// round follows the feed from the stored checkpoint while it holds the handler's lease.
func (s *Subscriber) round(ctx context.Context, out chan<- *message.Message) (progressed bool, err error) {
	lease, err := s.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer lease.Release()
	ctx, cancel := context.WithCancel(ctx)
	s.roundMu.Lock()
	s.stopRound, s.handedOver = cancel, false
	s.roundMu.Unlock()
	defer func() {
		s.roundMu.Lock()
		s.stopRound = nil
		s.roundMu.Unlock()
	}()
	var leased sync.WaitGroup
	defer func() {
		cancel()
		leased.Wait()
		s.setState(func(st *subscriberState) { *st = subscriberState{} })
	}()
	go func() {
		select {
		case <-lease.Done(): // another replica may take over: stop before it does
			cancel()
		case <-ctx.Done():
		}
	}()
	s.setState(func(st *subscriberState) { *st = subscriberState{active: true} })
	if s.cfg.whileLeased != nil {
		leased.Add(1)
		go func() {
			defer leased.Done()
			s.cfg.whileLeased(ctx)
		}()
	}

	checkpoint, found, err := Checkpoint(ctx, s.cfg.DB, s.cfg.Handler)
	if err != nil {
		return false, err
	}
	acks := &ackedPosition{s: s, stored: checkpoint}
	if s.cfg.flusher != nil && s.cfg.CheckpointInterval > 0 {
		s.cfg.flusher.add(acks)
	}
	flushCtx, stopFlushing := context.WithCancel(ctx)
	var (
		flushing sync.WaitGroup
		flushErr error
	)
	flushing.Add(1)
	go func() {
		defer flushing.Done()
		flushErr = acks.flushEvery(flushCtx, cancel)
	}()
	skipping := s.cfg.SkipHistory && !found
	var skipped uint64
	s.logger.Debug("reactions: subscribing", "after", checkpoint, "skip_history", skipping)
	err = s.cfg.Feed.Run(ctx, checkpoint, func(ctx context.Context, d event.Delivery) error {
		switch {
		case d.CaughtUp:
			s.setState(func(st *subscriberState) { st.caughtUp = true })
			if skipping {
				// The head is reached: make the starting point durable, so that a restart does not skip what
				// comes from now on.
				acks.ack(skipped, s.cfg.Now(), time.Time{})
				if err := acks.store(ctx, true); err != nil {
					return err
				}
				skipping = false
				s.logger.Info("reactions: new handler starts at the head of the log", "after", skipped)
				return nil
			}
			return acks.store(ctx, false) // the feed goes quiet: store what was acknowledged at once
		case skipping:
			skipped = d.Record.Position
			return nil
		}
		progressed = true
		if len(s.cfg.Types) > 0 && !slices.Contains(s.cfg.Types, d.Record.Type) {
			// Not one of the handler's events: passed at once, as the handler would have acknowledged it.
			return acks.acked(ctx, d.Record.Position, s.cfg.Now(), d.Record.RecordedAt)
		}
		return s.deliver(ctx, out, d, acks)
	})
	stopFlushing()
	flushing.Wait()
	if s.cfg.flusher != nil {
		s.cfg.flusher.remove(acks) // from now on only this round stores its position (or, crashing, does not)
	}
	// The round ends (a stop, a lost lease, a failure): store what was acknowledged, even if ctx has ended. A
	// replica that lost its lease may still do so: the store only moves a checkpoint forward.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), ackGrace)
	if s.cfg.crashOnStop {
		scancel()
		return progressed, err
	}
	if serr := acks.store(sctx, false); serr != nil {
		s.logger.Warn("reactions: checkpoint not stored while stopping; the events acknowledged since the last one will come again",
			"err", serr)
	}
	scancel()
	err = errors.Join(err, flushErr)
	if lerr := lease.Err(); lerr != nil && !errors.Is(lerr, sqldb.ErrLeaseReleased) {
		err = errors.Join(err, lerr)
	}
	return progressed, err
}

// acquire takes the handler's lease, waiting while another subscriber (here or in another process) holds it.
func (s *Subscriber) acquire(ctx context.Context) (*sqldb.Lease, error) {
	name := "reaction." + s.cfg.Handler
	lease, err := s.cfg.DB.TryAcquireLease(ctx, name)
	if errors.Is(err, sqldb.ErrLeaseHeld) {
		s.logger.Info("reactions: handler runs elsewhere; waiting for its lease")
		lease, err = s.cfg.DB.AcquireLease(ctx, name, s.cfg.LeaseRetry)
	}
	if err != nil {
		return nil, fmt.Errorf("messaging: lease %s: %w", name, err)
	}
	return lease, nil
}

// deliver sends d as a message until it is acknowledged, then moves the checkpoint (stored later, see ackedPosition).
func (s *Subscriber) deliver(ctx context.Context, out chan<- *message.Message, d event.Delivery, acks *ackedPosition) (err error) {
	recorded := d.Record.RecordedAt
	if recorded.IsZero() {
		recorded = s.cfg.Now()
	}
	s.setState(func(st *subscriberState) { st.pendingSince = recorded })
	defer func() {
		if err == nil {
			s.setState(func(st *subscriberState) { st.pendingSince = time.Time{} })
		}
	}()
	delay := s.cfg.Backoff
	for delivery := 1; ; delivery++ {
		msg := newMessage(d, delivery)
		msgCtx, cancel := context.WithCancel(ctx)
		msg.SetContext(withDelivery(msgCtx, d))
		select {
		case out <- msg:
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		}
		acked, err := s.await(ctx, msg, d.Record.Position, d.Record.RecordedAt, acks)
		cancel()
		if err != nil {
			return err
		}
		if acked {
			now := s.cfg.Now()
			if s.cfg.onAck != nil {
				s.cfg.onAck(now.Sub(recorded))
			}
			return acks.acked(ctx, d.Record.Position, now, d.Record.RecordedAt)
		}
		s.logger.Info("reactions: event not acknowledged; delivering it again",
			"stream", d.Record.Stream, "revision", d.Record.Revision, "position", d.Record.Position,
			"event_type", d.Record.Type, "delivery", delivery, "in", delay)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		delay = min(2*delay, s.cfg.MaxBackoff)
	}
}

// await waits for the handler's verdict on msg. When ctx ends first, it still gives the handler ackGrace to finish:
// an Ack then moves the checkpoint, which the round stores as it ends.
func (s *Subscriber) await(ctx context.Context, msg *message.Message, position uint64, recorded time.Time, acks *ackedPosition) (acked bool, err error) {
	select {
	case <-msg.Acked():
		return true, nil
	case <-msg.Nacked():
		return false, nil
	case <-ctx.Done():
	}
	t := time.NewTimer(ackGrace)
	defer t.Stop()
	select {
	case <-msg.Acked():
		acks.ack(position, s.cfg.Now(), recorded)
	case <-msg.Nacked():
	case <-t.C:
	}
	return false, ctx.Err()
}

// ackedPosition is the checkpoint of a round: the position of the last acknowledged event, stored at most every
// CheckpointInterval (by the Router's checkpointFlusher, with every other handler's, or flushEvery for a Subscriber
// of its own), when the feed reaches its head and when the round ends. Storing once per interval rather than once
// per event keeps the handlers' checkpoints from queueing on the database's writer (on SQLite, one connection shared
// with every projection). Safe because delivery is at least once anyway: what was acknowledged and not yet stored
// comes again after a crash, and keyed effects find their key.
type ackedPosition struct {
	s *Subscriber

	mu       sync.Mutex
	position uint64    // last acknowledged position
	at       time.Time // when it was acknowledged
	recorded time.Time // when the store recorded its event
	stored   uint64    // last position stored (or read at the round's start)

	storeMu sync.Mutex // one store of the round's own at a time
}

func (a *ackedPosition) ack(position uint64, at, recorded time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.position, a.at, a.recorded = position, at, recorded
}

// acked moves the acknowledged position to an event's and, without a checkpoint interval, stores it at once.
func (a *ackedPosition) acked(ctx context.Context, position uint64, at, recorded time.Time) error {
	a.ack(position, at, recorded)
	if a.s.cfg.CheckpointInterval < 0 {
		return a.store(ctx, false)
	}
	return nil
}

// unstored returns the acknowledged position if it is past the stored one.
func (a *ackedPosition) unstored() (flushRow, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return flushRow{a: a, position: a.position, at: a.at, recorded: a.recorded}, a.position > a.stored
}

// markStored notes that position is stored.
func (a *ackedPosition) markStored(position uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stored = max(a.stored, position)
}

// store writes the last acknowledged position if it is past the stored one (always with force: the starting point
// of a handler that skips history, which may be 0). The write only moves the checkpoint forward (checkpointUpsert).
func (a *ackedPosition) store(ctx context.Context, force bool) error {
	a.storeMu.Lock()
	defer a.storeMu.Unlock()
	r, due := a.unstored()
	if !due && !force {
		return nil
	}
	if err := storeCheckpoint(ctx, a.s.cfg.DB, a.s.cfg.Handler, r.position, r.at, r.recorded); err != nil {
		return err
	}
	a.markStored(r.position)
	return nil
}

// flushEvery stores the acknowledged position every CheckpointInterval until ctx ends, for a Subscriber that has no
// Router's flusher. A failed store ends the round (stop), which starts again after a back-off from the stored
// checkpoint.
func (a *ackedPosition) flushEvery(ctx context.Context, stop context.CancelFunc) error {
	if a.s.cfg.CheckpointInterval < 0 || a.s.cfg.flusher != nil {
		return nil // stored at every Ack, or by the Router's flusher
	}
	t := time.NewTicker(a.s.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := a.store(ctx, false); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			stop()
			return err
		}
	}
}
