package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

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
	// CloseTimeout is how long Close waits for handlers in flight (default 15s).
	CloseTimeout time.Duration
	// Now is the clock of checkpoint and poison times; nil means time.Now.
	Now func() time.Time
}

// Validate reports every problem at once.
func (c RouterConfig) Validate() error {
	var errs []error
	if c.Feed == nil {
		errs = append(errs, errors.New("messaging: router needs a Feed"))
	}
	if c.DB == nil {
		errs = append(errs, errors.New("messaging: router needs a DB"))
	}
	if c.Retry.MaxRetries < 0 {
		errs = append(errs, errors.New("messaging: Retry.MaxRetries must not be negative"))
	}
	return errors.Join(errs...)
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
type Router struct {
	cfg    RouterConfig
	logger *slog.Logger
	wm     *message.Router

	mu    sync.Mutex
	names []string
}

// HandlerOption configures one handler.
type HandlerOption func(*SubscriberConfig)

// SkipHistory makes a new handler (one without a checkpoint) start at the head of the log, ignoring the events
// committed before its first start. See SubscriberConfig.SkipHistory.
func SkipHistory() HandlerOption {
	return func(c *SubscriberConfig) { c.SkipHistory = true }
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
	return &Router{cfg: cfg, logger: cfg.Logger, wm: wm}, nil
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
	if slices.Contains(r.names, name) {
		return fmt.Errorf("messaging: handler %q added twice", name)
	}
	scfg := SubscriberConfig{
		Handler:    name,
		Feed:       r.cfg.Feed,
		DB:         r.cfg.DB,
		Logger:     r.cfg.Logger,
		Backoff:    r.cfg.Backoff,
		MaxBackoff: r.cfg.MaxBackoff,
		LeaseRetry: r.cfg.LeaseRetry,
		Now:        r.cfg.Now,
	}
	for _, opt := range opts {
		opt(&scfg)
	}
	sub, err := NewSubscriber(scfg)
	if err != nil {
		return err
	}
	var fn message.HandlerFunc = func(msg *message.Message) ([]*message.Message, error) { return nil, h(msg) }
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
	fn = r.poison(name)(fn)
	fn = middleware.CorrelationID(fn)
	r.wm.AddConsumerHandler(name, AllTopic, sub, func(msg *message.Message) error {
		_, err := fn(msg)
		return err
	})
	r.names = append(r.names, name)
	return nil
}

// Handlers returns the names of the handlers added.
func (r *Router) Handlers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.names)
}

// Run starts every handler and blocks until the router is closed or ctx ends (which closes it). It returns an
// error if a handler cannot subscribe.
func (r *Router) Run(ctx context.Context) error {
	if err := r.wm.Run(ctx); err != nil {
		return fmt.Errorf("messaging: router: %w", err)
	}
	return nil
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
				return out, nil
			}
			if ctx.Err() != nil {
				return nil, safeError{err} // stopping: not acknowledged, comes again at the next start
			}
			if failure.KindOf(err) == failure.Unavailable {
				r.logger.Warn("reactions: dependency unavailable; the event will be delivered again",
					append(eventAttrs(handler, msg), "attempts", *attempts, "error", Describe(err))...)
				return nil, safeError{err}
			}
			p := poisonOf(handler, msg, err, *attempts, r.cfg.Now())
			if perr := recordPoison(ctx, r.cfg.DB, p); perr != nil {
				r.logger.Error("reactions: poison event not recorded; the event will be delivered again",
					append(eventAttrs(handler, msg), "error", Describe(err), "record_error", perr)...)
				return nil, safeError{err}
			}
			r.logger.Error("reactions: handler gave up on an event (poison); going on with the next one",
				append(eventAttrs(handler, msg), "attempts", *attempts, "kind", p.Kind, "code", p.Code, "error", p.Error)...)
			return nil, nil
		}
	}
}

// eventAttrs are the log attributes of a message: identifiers only.
func eventAttrs(handler string, msg *message.Message) []any {
	return []any{
		"handler", handler,
		"stream", msg.Metadata.Get(MetaStream),
		"revision", msg.Metadata.Get(MetaRevision),
		"position", msg.Metadata.Get(MetaPosition),
		"event_type", msg.Metadata.Get(MetaEventType),
		"event_id", msg.Metadata.Get(MetaEventID),
		"correlation_id", msg.Metadata.Get(MetaCorrelationID),
		"delivery", msg.Metadata.Get(MetaDelivery),
	}
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
