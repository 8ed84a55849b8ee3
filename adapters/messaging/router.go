package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// RetryPolicy bounds the retries of a failing handler call within one delivery (watermill's Retry middleware):
// exponential back-off from InitialInterval, multiplied by Multiplier up to MaxInterval, at most MaxRetries retries
// and at most MaxElapsedTime in all. The zero value means the defaults: 4 retries, 100ms ×2 up to 5s, 1 minute.
type RetryPolicy struct {
	MaxRetries      int
	InitialInterval time.Duration
	MaxInterval     time.Duration
	Multiplier      float64
	MaxElapsedTime  time.Duration
}

func (p *RetryPolicy) setDefaults() {
	if p.MaxRetries <= 0 {
		p.MaxRetries = 4
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = 100 * time.Millisecond
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 5 * time.Second
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.MaxElapsedTime <= 0 {
		p.MaxElapsedTime = time.Minute
	}
}

// RouterConfig configures a Router. Feed and DB are required.
type RouterConfig struct {
	// Feed is the global log every handler follows, normally a *kurrentdb.Source.
	Feed Feed
	// DB holds checkpoints, processed-event keys and poison events (see Migrate), and the handlers' leases.
	DB *sqldb.DB
	// Logger receives the router's logs (no personal data: errors are logged through Describe); nil discards them.
	Logger *slog.Logger
	// Retry bounds the retries of a failing handler call.
	Retry RetryPolicy
	// Backoff, MaxBackoff and LeaseRetry configure every handler's Subscriber (see SubscriberConfig).
	Backoff    time.Duration
	MaxBackoff time.Duration
	LeaseRetry time.Duration
	// CheckpointInterval, when positive, is how often every handler's checkpoint is stored: one flusher stores them
	// all in one statement per interval (see SubscriberConfig and checkpointFlusher). 0: DefaultCheckpointInterval;
	// negative: each handler stores at every Ack.
	CheckpointInterval time.Duration
	// CloseTimeout is how long Close waits for handlers in flight (default 15s).
	CloseTimeout time.Duration
	// Now is the clock of checkpoint, poison, replay and retention times; nil means time.Now.
	Now func() time.Time

	// Registry, if set, receives the reactions' metrics (see Router): per handler its checkpoint, its lag, its
	// handled events by outcome, its poison events and replays. Labels are handler names only.
	Registry prometheus.Registerer
	// Events reads a poison event back from the event store when an operator asks for its replay (normally
	// StoreEvents). Without it, replay requests wait.
	Events EventReader
	// ReplayInterval is how often the replica running a handler looks for replays operators asked for (default 2s).
	ReplayInterval time.Duration
	// ProcessedRetention is how long processed-event keys are kept once the handler's checkpoint is past their
	// event (default 30 days; negative: never pruned). See Prune.
	ProcessedRetention time.Duration
	// PruneInterval is how often the replica running a handler prunes its processed-event keys (default 1h).
	PruneInterval time.Duration
	// InFlightWindow is how long the claim of an external effect (OnceExternal) holds off another holder of the
	// handler: it must exceed the time to run the effect and record it through a database restart, plus the clock
	// skew between replicas. A holder that crashed between an effect and its record delays that event's repeat by
	// this much (default DefaultInFlightWindow).
	InFlightWindow time.Duration
	// ShareInterval is how often the router compares the handlers it runs with its fair share and hands the surplus
	// over to other replicas (default 10s; see Router.share).
	ShareInterval time.Duration
}

// DefaultProcessedRetention is the default RouterConfig.ProcessedRetention: past it, a key no delivery can need is
// dropped; within it, operators can still see that an effect was done (Processed).
const DefaultProcessedRetention = 30 * 24 * time.Hour

// Validate reports every problem at once.
func (c RouterConfig) Validate() error {
	return depcheck.New("messaging: router").Require("Feed", c.Feed).Require("DB", c.DB).
		Problem(c.Retry.MaxRetries < 0, "Retry.MaxRetries must not be negative").Err()
}

func (c *RouterConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Retry.setDefaults()
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 15 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReplayInterval <= 0 {
		c.ReplayInterval = 2 * time.Second
	}
	if c.ProcessedRetention == 0 {
		c.ProcessedRetention = DefaultProcessedRetention
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = time.Hour
	}
	if c.InFlightWindow <= 0 {
		c.InFlightWindow = DefaultInFlightWindow
	}
	if c.ShareInterval <= 0 {
		c.ShareInterval = 10 * time.Second
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
}

// Router runs the reactions: a watermill router in which each handler has its own Subscriber over the global log
// (its own checkpoint, its own lease) and the same middleware chain, outermost first:
//
//  1. CorrelationID (watermill): messages a handler returns keep the correlation id of the event (reactions usually
//     issue commands instead: see CommandMetadata).
//  2. Poison: when the handler has given up on an event, records it in reaction_poison, logs it, and acknowledges
//     the message so that the handler goes on with the next event. Two failures are not poison: an Unavailable
//     error (a dependency is down: the event is Nacked and delivered again with back-off, blocking the handler
//     until the dependency is back, rather than poisoning every event of the outage) and any failure while the
//     router is stopping (the event comes again at the next start).
//  3. Retry (watermill): bounded exponential back-off (RetryPolicy), except for errors of kind Invalid or Rule and
//     for panics, which cannot succeed by trying again and go straight to poison. There is deliberately no Timeout
//     middleware inside Retry: it would set one deadline for all attempts, so every retry after the first timeout
//     would fail at once. A handler that needs a deadline per attempt sets it on the context it is given.
//  4. Recoverer (watermill): a panic becomes an error (and, through Describe, a poison row naming where it came
//     from).
//
// A handler handles one event at a time: a delivery, or a poison replay an operator asked for (RequestReplay),
// which the replica holding the handler's lease runs between deliveries, through the same Retry and Recoverer.
// That replica also prunes the handler's processed-event keys every PruneInterval (Prune).
//
// With RouterConfig.Registry, the router exports, labelled by handler name only:
//
//	dossier_reaction_position                 checkpoint: commit position of the last event acknowledged
//	dossier_reaction_lag_seconds              age of the oldest event delivered and not yet acknowledged (0 when
//	                                          the handler has handled all it received)
//	dossier_reaction_active                   1 while this replica holds the handler's lease
//	dossier_reaction_caught_up                1 once the active handler has reached the head of the log
//	dossier_reaction_handled_total{outcome}   handler calls: ok, retried (failed, tried again), poisoned
//	dossier_reaction_poison_events            rows in reaction_poison
//	dossier_reaction_replays_total{outcome}   poison replays run by this replica: ok, failed
//	dossier_reaction_processed_pruned_total   processed-event keys pruned by this replica
type Router struct {
	cfg     RouterConfig
	logger  *slog.Logger
	wm      *message.Router
	metrics *metrics

	// flusher stores every handler's checkpoint in one transaction per CheckpointInterval (nil when it is not
	// positive: each handler stores at every Ack).
	flusher *checkpointFlusher

	mu       sync.Mutex
	handlers []*handler
}

// handler is one handler as the router runs it.
type handler struct {
	name string
	sub  *Subscriber
	// skipHistory: the handler starts at the head of the log on its first start (SkipHistory), so Started waits
	// for its first checkpoint.
	skipHistory bool
	// started: Started has seen the handler's checkpoint (a checkpoint, once stored, is never removed).
	started atomic.Bool
	// call runs one delivery's attempts (Retry over Recoverer) and returns the last error: what a delivery and a
	// replay share, before their own verdicts.
	call message.HandlerFunc
	// busy serialises a handler's deliveries and replays: a handler sees one event at a time.
	busy sync.Mutex
	// lastPrune is when the handler's keys were last pruned by this replica (read and written by maintain only).
	lastPrune time.Time
}

// HandlerOption configures one handler.
type HandlerOption func(*SubscriberConfig)

// SkipHistory makes a new handler (one without a checkpoint) start at the head of the log, ignoring the events
// committed before its first start. See SubscriberConfig.SkipHistory.
func SkipHistory() HandlerOption {
	return func(c *SubscriberConfig) { c.SkipHistory = true }
}

// Handles gives the handler only the events of the given types (as stored: the type names of the events' packages,
// e.g. servicerequest.TypeAcknowledged); the others are acknowledged as they come by, without a message. Most
// handlers act on one or two types of the tens the log carries: building, delivering and acknowledging a message
// for each of the others was about half of what the reactions cost the server (BENCHMARKS.md, "Writer traffic
// (session 8)"). The handler keeps its own check of the type: Handles is what spares it the others' messages.
func Handles(types ...string) HandlerOption {
	return func(c *SubscriberConfig) { c.Types = append([]string(nil), types...) }
}

// NewRouter returns a router with no handlers yet.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	// watermill's own Info logs (handler added, started, ...) are routine: keep them at Debug.
	wlog := watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	wm, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wlog)
	if err != nil {
		return nil, fmt.Errorf("messaging: new router: %w", err)
	}
	r := &Router{cfg: cfg, logger: cfg.Logger, wm: wm}
	if cfg.CheckpointInterval > 0 {
		r.flusher = newCheckpointFlusher(cfg.DB, cfg.CheckpointInterval, cfg.Logger)
	}
	r.metrics = newMetrics(r)
	if cfg.Registry != nil {
		if err := r.metrics.register(cfg.Registry); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// AddHandler adds the handler name, fed by its own Subscriber. Call it before Run.
//
// name is the consumer's identity: its checkpoint, processed-event keys, poison rows and lease are keyed by it.
// Renaming a handler after it was deployed makes a new consumer that handles every past event again. Never rename
// one; to retire a handler, stop adding it (its rows stay, harmless). Names are lower-case letters, digits, '.', '_'
// and '-', starting with a letter.
func (r *Router) AddHandler(name string, h message.NoPublishHandlerFunc, opts ...HandlerOption) error {
	if err := checkName(name); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.handlers, func(h *handler) bool { return h.name == name }) {
		return fmt.Errorf("messaging: handler %q added twice", name)
	}
	hd := &handler{name: name}
	scfg := SubscriberConfig{
		Handler:    name,
		Feed:       r.cfg.Feed,
		DB:         r.cfg.DB,
		Logger:     r.cfg.Logger,
		Backoff:    r.cfg.Backoff,
		MaxBackoff: r.cfg.MaxBackoff,
		LeaseRetry: r.cfg.LeaseRetry,
		Now:        r.cfg.Now,

		CheckpointInterval: r.cfg.CheckpointInterval,
	}
	for _, opt := range opts {
		opt(&scfg)
	}
	scfg.whileLeased = func(ctx context.Context) { r.maintain(ctx, hd) }
	scfg.flusher = r.flusher
	if r.metrics != nil {
		delay := r.metrics.delay.WithLabelValues(name)
		scfg.onAck = func(d time.Duration) { delay.Observe(max(0, d.Seconds())) }
	}
	sub, err := NewSubscriber(scfg)
	if err != nil {
		return err
	}
	hd.sub = sub
	hd.skipHistory = scfg.SkipHistory
	var fn message.HandlerFunc = func(msg *message.Message) ([]*message.Message, error) {
		msg.SetContext(withInFlightWindow(msg.Context(), r.cfg.InFlightWindow))
		return nil, h(msg)
	}
	retry := middleware.Retry{
		MaxRetries:          r.cfg.Retry.MaxRetries,
		InitialInterval:     r.cfg.Retry.InitialInterval,
		MaxInterval:         r.cfg.Retry.MaxInterval,
		Multiplier:          r.cfg.Retry.Multiplier,
		MaxElapsedTime:      r.cfg.Retry.MaxElapsedTime,
		RandomizationFactor: 0.2,
		ShouldRetry:         func(p middleware.RetryParams) bool { return Retryable(p.Err) },
		ResetContextOnRetry: true,
		// No Logger: watermill would log the raw error text; attempts are logged through Describe below.
	}
	// Innermost first, so that the chain reads outermost first: CorrelationID, poison, Retry, attempts, Recoverer.
	fn = middleware.Recoverer(fn)
	fn = r.attempts(name)(fn)
	fn = retry.Middleware(fn)
	hd.call = fn
	fn = r.poison(name)(fn)
	fn = middleware.CorrelationID(fn)
	r.wm.AddConsumerHandler(name, AllTopic, sub, func(msg *message.Message) error {
		hd.busy.Lock()
		defer hd.busy.Unlock()
		_, err := fn(msg)
		return err
	})
	r.handlers = append(r.handlers, hd)
	r.metrics.add(name)
	return nil
}

// Handlers returns the names of the handlers added.
func (r *Router) Handlers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(r.handlers))
	for i, h := range r.handlers {
		names[i] = h.name
	}
	return names
}

// Started reports whether every handler added with SkipHistory has fixed its starting point (stored a checkpoint):
// until one has, an event appended now could fall before its start and be missed (a code or an acknowledgement never
// mailed). Handlers that start from the beginning of the log miss nothing and are not waited for. The error names the
// handlers not started yet, so that an operator knows which reaction is behind. It is the "reactions" readiness check.
//
// It reads every checkpoint in one query, and none once every such handler has been seen started (a checkpoint is
// never removed): a readiness probe with a short deadline on a busy database (after a PostgreSQL restart, under
// load) used to make one query per handler and fail on its deadline for as long as the pool stayed busy, while the
// "database" check says whether the database answers.
func (r *Router) Started(ctx context.Context) error {
	var waiting []*handler
	for _, h := range r.handlerList() {
		if h.skipHistory && !h.started.Load() {
			waiting = append(waiting, h)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	cps, err := Checkpoints(ctx, r.cfg.DB)
	if err != nil {
		return err
	}
	var behind []string
	for _, h := range waiting {
		if slices.ContainsFunc(cps, func(cp CheckpointRow) bool { return cp.Handler == h.name }) {
			h.started.Store(true)
		} else {
			behind = append(behind, h.name)
		}
	}
	if len(behind) > 0 {
		return fmt.Errorf("reactions not started at the head of the log yet: %s", strings.Join(behind, ", "))
	}
	return nil
}

// handlerList returns the handlers added.
func (r *Router) handlerList() []*handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.handlers)
}

// maintain runs beside a handler's subscription while it holds the handler's lease, until ctx ends: it serves the
// replays operators asked for and prunes the handler's processed-event keys when due.
func (r *Router) maintain(ctx context.Context, h *handler) {
	t := time.NewTicker(r.cfg.ReplayInterval)
	defer t.Stop()
	for {
		r.serveReplays(ctx, h)
		if r.cfg.ProcessedRetention > 0 && r.cfg.Now().Sub(h.lastPrune) >= r.cfg.PruneInterval {
			r.prune(ctx, h)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune removes the handler's processed-event keys that no delivery or replay can need any more.
func (r *Router) prune(ctx context.Context, h *handler) {
	res, err := Prune(ctx, r.cfg.DB, PruneOptions{Handler: h.name, OlderThan: r.cfg.ProcessedRetention, Now: r.cfg.Now(),
		InFlightWindow: r.cfg.InFlightWindow})
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("reactions: processed-event keys not pruned; trying again later", "handler", h.name, "error", Describe(err))
		}
		return
	}
	h.lastPrune = r.cfg.Now()
	for _, p := range res {
		r.metrics.pruned.WithLabelValues(h.name).Add(float64(p.Pruned))
		if p.Pruned > 0 {
			r.logger.Info("reactions: processed-event keys pruned", "handler", h.name, "pruned", p.Pruned,
				"older_than", r.cfg.ProcessedRetention.String(), "checkpoint", p.Checkpoint)
		}
		if p.Claims > 0 {
			r.logger.Info("reactions: orphan claims of external effects pruned", "handler", h.name, "claims", p.Claims)
		}
	}
}

// Run starts every handler and blocks until the router is closed or ctx ends (which closes it). It returns an
// error if a handler cannot subscribe.
func (r *Router) Run(ctx context.Context) error {
	shareCtx, stopShare := context.WithCancel(ctx)
	defer stopShare()
	go r.share(shareCtx)
	if r.flusher != nil {
		go r.flusher.run(shareCtx)
	}
	if err := r.wm.Run(ctx); err != nil {
		return fmt.Errorf("messaging: router: %w", err)
	}
	return nil
}

// share hands handlers over when this replica runs more than its fair share: ceil(handlers / live replicas), the
// replicas counted by their presence leases (sqldb.DB.Join, taken by the projections runner, or here if no one in
// this process holds it). It checks every ShareInterval.
func (r *Router) share(ctx context.Context) {
	var presence *sqldb.Lease
	defer func() {
		if presence != nil {
			_ = presence.Release()
		}
	}()
	tick := time.NewTicker(r.cfg.ShareInterval)
	defer tick.Stop()
	for {
		if presence == nil || presence.Err() != nil {
			if l, err := r.cfg.DB.Join(ctx); err == nil { // ErrLeaseHeld: the runner of this process holds it
				if presence != nil {
					_ = presence.Release()
				}
				presence = l
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := r.cfg.DB.LiveReplicas(ctx)
		if err != nil || n <= 1 {
			continue
		}
		handlers := r.handlerList()
		fair := (len(handlers) + n - 1) / n
		var active []*handler
		for _, h := range handlers {
			if st := h.sub.status(); st.active && st.caughtUp {
				active = append(active, h)
			}
		}
		surplus := 0
		for _, h := range active[:max(0, len(active)-fair)] {
			if h.sub.HandOver() {
				surplus++
			}
		}
		if surplus > 0 {
			r.logger.Info("reactions: handing handlers over for a fair share", "replicas", n, "running", len(active),
				"fair_share", fair, "handed_over", surplus)
		}
	}
}

// Running is closed once every handler is subscribed.
func (r *Router) Running() <-chan struct{} { return r.wm.Running() }

// Close stops the handlers, waiting up to CloseTimeout for the messages in flight. A message whose handler has not
// finished is not acknowledged: it comes again at the next start.
func (r *Router) Close() error {
	if err := r.wm.Close(); err != nil {
		return fmt.Errorf("messaging: close router: %w", err)
	}
	return nil
}

// Retryable reports whether trying a failed handler call again may help: not for errors of kind Invalid or Rule
// (the input or a business rule refuses it as it is) nor for panics (a bug).
func Retryable(err error) bool {
	if errors.As(err, new(middleware.RecoveredPanicError)) {
		return false
	}
	switch failure.KindOf(err) {
	case failure.Invalid, failure.Rule:
		return false
	}
	return true
}

type attemptsKey struct{}

// attempts counts the calls of one delivery (for the poison row) and logs each failed one.
func (r *Router) attempts(handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			n, _ := msg.Context().Value(attemptsKey{}).(*int)
			if n != nil {
				*n++
			}
			out, err := h(msg)
			if err != nil && msg.Context().Err() == nil {
				attempt := 0
				if n != nil {
					attempt = *n
				}
				r.logger.Warn("reactions: handler failed", append(eventAttrs(handler, msg),
					"attempt", attempt, "retryable", Retryable(err), "error", Describe(err))...)
			}
			return out, err
		}
	}
}

// poison records the events the handler gave up on and lets it go on; see Router.
func (r *Router) poison(handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			attempts := new(int)
			ctx := context.WithValue(msg.Context(), attemptsKey{}, attempts)
			msg.SetContext(ctx)
			out, err := h(msg)
			if err == nil {
				r.metrics.handled(handler, *attempts-1, outcomeOK)
				return out, nil
			}
			if ctx.Err() != nil {
				r.metrics.handled(handler, *attempts-1, "")
				return nil, safeError{err} // stopping: not acknowledged, comes again at the next start
			}
			if failure.KindOf(err) == failure.Unavailable {
				r.metrics.handled(handler, *attempts, "")
				r.logger.Warn("reactions: dependency unavailable; the event will be delivered again",
					append(eventAttrs(handler, msg), "attempts", *attempts, "error", Describe(err))...)
				return nil, safeError{err}
			}
			p := poisonOf(handler, msg, err, *attempts, r.cfg.Now())
			if perr := recordPoison(ctx, r.cfg.DB, p); perr != nil {
				r.metrics.handled(handler, *attempts, "")
				r.logger.Error("reactions: poison event not recorded; the event will be delivered again",
					append(eventAttrs(handler, msg), "error", Describe(err), "record_error", perr)...)
				return nil, safeError{err}
			}
			r.metrics.handled(handler, *attempts-1, outcomePoisoned)
			r.logger.Error("reactions: handler gave up on an event (poison); going on with the next one",
				append(eventAttrs(handler, msg), "attempts", *attempts, "kind", p.Kind, "code", p.Code, "error", p.Error)...)
			return nil, nil
		}
	}
}

// eventAttrs are the log attributes of a message: identifiers only.
func eventAttrs(handler string, msg *message.Message) []any {
	attrs := []any{
		"handler", handler,
		"stream", msg.Metadata.Get(MetaStream),
		"revision", msg.Metadata.Get(MetaRevision),
		"position", msg.Metadata.Get(MetaPosition),
		"event_type", msg.Metadata.Get(MetaEventType),
		"event_id", msg.Metadata.Get(MetaEventID),
		"correlation_id", msg.Metadata.Get(MetaCorrelationID),
	}
	if msg.Metadata.Get(MetaReplay) != "" {
		return append(attrs, "replay", true)
	}
	return append(attrs, "delivery", msg.Metadata.Get(MetaDelivery))
}

// safeError is what the router sees (and logs) of a handler's error: its Describe text, while errors.Is and
// errors.As still reach the original.
type safeError struct{ err error }

func (e safeError) Error() string { return "reaction failed: " + Describe(e.err) }
func (e safeError) Unwrap() error { return e.err }

// EventHandler handles one decoded event; ctx is the message's context.
type EventHandler func(ctx context.Context, env event.Envelope) error

// Handle adapts an EventHandler to watermill: it decodes the message with Envelope (an undecodable event is an
// Invalid error, hence poison) and calls fn.
func Handle(fn EventHandler) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		env, err := Envelope(msg)
		if err != nil {
			return err
		}
		return fn(msg.Context(), env)
	}
}
