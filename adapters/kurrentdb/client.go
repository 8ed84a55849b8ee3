package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Client is Dossier's handle on the official client, made to ride out event-store outages.
//
// The official client (v4.2.0) has two failure modes under an outage longer than its rediscovery (10 attempts,
// about a second): its connection goroutine gives up and stops reading its request channel, so a call that had
// already passed its "closed" check blocks for good on that channel; and closing the client then closes the channel
// under those goroutines (panic: send on closed channel). It also ignores the caller's context while it
// rediscovers. So Client:
//
//   - never lets the official client give up: rediscovery retries without end (MaxDiscoverAttempts is raised), and
//     the one official client lives as long as the Client;
//   - runs every call in a goroutine of its own and returns when the caller's context ends, even if the official
//     client still holds that goroutine (it finishes, with the cancelled context, once the node is back);
//   - after a call failed for want of the event store, marks it unreachable: later calls fail at once with
//     failure.Unavailable (HTTP 503 with Retry-After, readiness not ready) instead of queueing behind the
//     rediscovery, while one prober pings with back-off and clears the mark when the store answers again;
//   - closes the official client only when no call holds it any more (Close waits a while, and leaves it open
//     rather than panic the calls still held by a rediscovery).
//
// Should the official client close itself anyway, it is replaced by a new one and the old one is left alone (never
// closed: goroutines may still be blocked on it).
type Client struct {
	cfg    esdb.Configuration
	logger *slog.Logger

	mu      sync.Mutex
	cur     *esdb.Client
	closed  bool
	down    bool          // the store is unreachable: calls fail at once until the prober clears it
	up      chan struct{} // closed when down is cleared
	downErr error         // the failure that marked the store unreachable
	stop    chan struct{} // closed by Close: ends the prober
	calls   sync.WaitGroup
}

// Option configures Connect.
type Option func(*Client)

// WithLogger sends the adapter's logs (and, at debug level, the official client's) to logger. The default discards
// them.
func WithLogger(logger *slog.Logger) Option {
	return func(c *Client) { c.logger = logger }
}

// endlessDiscovery is the official client's MaxDiscoverAttempts: it must never give up (see Client).
const endlessDiscovery = math.MaxInt32

// Connect parses an esdb:// or esdb+discover:// connection string, creates the official client and checks that the
// event store answers before ctx ends. The connection string may hold credentials: it is never logged.
//
// The first check uses a client of its own with the configured rediscovery, so that an unreachable store fails
// Connect quickly (failure.Unavailable); the Client's own official client then never gives up (see Client).
func Connect(ctx context.Context, connString string, opts ...Option) (*Client, error) {
	cfg, err := esdb.ParseConnectionString(connString)
	if err != nil {
		// The parser's message may quote the connection string, password included.
		return nil, failure.Errorf(failure.Invalid, "kurrentdb: invalid connection string")
	}
	c := &Client{logger: slog.New(slog.DiscardHandler), stop: make(chan struct{}), up: make(chan struct{})}
	for _, opt := range opts {
		opt(c)
	}
	logger := c.logger
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		logger.Debug("esdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
	if err := firstPing(ctx, cfg, c.logger); err != nil {
		return nil, err
	}
	c.cfg = *cfg
	c.cfg.MaxDiscoverAttempts = endlessDiscovery
	if c.cur, err = esdb.NewClient(&c.cfg); err != nil {
		return nil, failure.Errorf(failure.Invalid, "kurrentdb: %w", err)
	}
	return c, nil
}

// firstPing checks that the store answers, with a throwaway official client that gives up after the configured
// rediscovery. Its one call is the one that triggers the discovery, so it is never left blocked; once the call has
// returned nobody else holds the client, and closing it is safe.
func firstPing(ctx context.Context, cfg *esdb.Configuration, logger *slog.Logger) error {
	const op = "kurrentdb.Connect"
	es, err := esdb.NewClient(cfg)
	if err != nil {
		return failure.Errorf(failure.Invalid, "kurrentdb: %w", err)
	}
	probe := &Client{cfg: *cfg, logger: logger, cur: es, stop: make(chan struct{}), up: make(chan struct{})}
	for attempt := 0; ; attempt++ {
		err, abandoned := probe.call(ctx, true, func(es *esdb.Client) error { return ping(ctx, es) })
		if abandoned {
			return classify(op, err) // the throwaway client gives up on its own; left alone
		}
		if err == nil || attempt == retries || !transient(err) || isCode(err, esdb.ErrorCodeConnectionClosed) {
			es.Close()
			return classify(op, err)
		}
		select {
		case <-ctx.Done():
			es.Close()
			return classify(op, ctx.Err())
		case <-time.After(retryPause << attempt):
		}
	}
}

// ESDB returns the official client, for tests and operations this package does not wrap. Prefer Call: a call made
// directly on it ignores its context while the official client rediscovers the node.
func (c *Client) ESDB() *esdb.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Call runs op with the official client under the rules of Client (unreachable store: failure.Unavailable at once;
// returns when ctx ends). op must use ctx for its own calls; its error is returned classified. It is for operations
// this package does not wrap.
func (c *Client) Call(ctx context.Context, name string, op func(ctx context.Context, es *esdb.Client) error) error {
	return c.do(ctx, name, func(es *esdb.Client) error { return op(ctx, es) })
}

// closeWait bounds how long Close waits for calls still holding the official client.
const closeWait = 5 * time.Second

// Close ends the Client: new calls fail, the prober stops, and the official client is closed once no call holds it
// (after closeWait at most; if a call is still held by a rediscovery then, the official client is left open rather
// than closed under it).
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	cur := c.cur
	c.mu.Unlock()
	drained := make(chan struct{})
	go func() { c.calls.Wait(); close(drained) }()
	select {
	case <-drained:
		return cur.Close()
	case <-time.After(closeWait):
		c.logger.Warn("kurrentdb: calls still wait for the event store; leaving the official client open")
		return nil
	}
}

// Unreachable returns the failure that made the Client mark the event store unreachable, nil while it answers.
func (c *Client) Unreachable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return c.downErr
	}
	return nil
}

// Ping reads the last event of $all: nil means the event store answers (for readiness checks).
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, "kurrentdb.Ping", func(es *esdb.Client) error { return ping(ctx, es) })
}

func ping(ctx context.Context, es *esdb.Client) error {
	rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return err
	}
	defer rs.Close()
	if _, err := rs.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Head returns the commit position of the last record of $all (0 when the log is empty): no command has been
// answered with a position beyond it. It is the adapters/httpapi LogHead port.
func (c *Client) Head(ctx context.Context) (uint64, error) {
	var got uint64 // written by the call only when it succeeds; a call abandoned at ctx's end never is read
	err := c.do(ctx, "kurrentdb.Head", func(es *esdb.Client) error {
		rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}, ResolveLinkTos: false}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		re, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			got = 0
			return nil
		case err != nil:
			return err
		}
		got = 0
		if re.Event != nil {
			got = re.Event.Position.Commit
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return got, nil
}

// errClosed is returned once Close has been called.
var errClosed = &failure.Error{Kind: failure.Unavailable, Err: errors.New("kurrentdb: client closed")}

// errUnreachable is the error of calls refused while the store is marked unreachable.
var errUnreachable = errors.New("kurrentdb: the event store is unreachable; retrying in the background")

// acquire returns the official client in use and counts the call (release with c.calls.Done), or fails when the
// Client is closed or, unless probing, when the store is marked unreachable.
func (c *Client) acquire(probing bool) (*esdb.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if c.down && !probing {
		return nil, fmt.Errorf("%w (%w)", errUnreachable, c.downErr)
	}
	c.calls.Add(1)
	return c.cur, nil
}

// call runs op with the official client in a goroutine of its own and returns its error, or ctx's as soon as ctx
// ends (abandoned: true): the official client ignores contexts while it rediscovers the node, and then holds the
// goroutine until the node is back.
func (c *Client) call(ctx context.Context, probing bool, op func(*esdb.Client) error) (err error, abandoned bool) {
	es, err := c.acquire(probing)
	if err != nil {
		return err, false
	}
	done := make(chan error, 1)
	go func() {
		defer c.calls.Done()
		defer func() {
			if p := recover(); p != nil { // never from the official client since it is never closed under a call
				done <- fmt.Errorf("kurrentdb: official client panicked: %v", p)
			}
		}()
		done <- op(es)
	}()
	select {
	case err := <-done:
		if isCode(err, esdb.ErrorCodeConnectionClosed) {
			c.renew(es)
		}
		return err, false
	case <-ctx.Done():
		return ctx.Err(), true
	}
}

// renew replaces dead, if it is still the client in use, with a new official client. dead is not closed: calls may
// still be blocked on it, and closing it would make them panic.
func (c *Client) renew(dead *esdb.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cur != dead {
		return
	}
	next, err := esdb.NewClient(&c.cfg) // fails only on an invalid configuration, which Connect has ruled out
	if err != nil {
		c.logger.Error("kurrentdb: cannot renew the client", "err", err)
		return
	}
	c.cur = next
	c.logger.Warn("kurrentdb: the official client had closed itself; renewed it")
}

// markDown records that the store is unreachable (cause says why) and starts the prober, once.
func (c *Client) markDown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down || c.closed {
		return
	}
	c.down, c.downErr, c.up = true, classify("kurrentdb", cause), make(chan struct{})
	c.logger.Warn("kurrentdb: the event store is unreachable; calls fail at once until it answers again", "err", cause)
	go c.probe()
}

// Prober back-off: the first pause after a failed ping, doubled up to probeMaxPause; each ping may take probeTimeout.
const (
	probePause    = 100 * time.Millisecond
	probeMaxPause = 5 * time.Second
	probeTimeout  = 10 * time.Second
)

// probe pings the store, with back-off, until it answers (then clears the mark) or the Client is closed.
func (c *Client) probe() {
	pause := probePause
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err, _ := c.call(ctx, true, func(es *esdb.Client) error { return ping(ctx, es) })
		cancel()
		if err != nil {
			c.logger.Debug("kurrentdb: the event store does not answer yet", "in", pause, "err", err)
		}
		if err == nil {
			c.mu.Lock()
			c.down, c.downErr = false, nil
			close(c.up)
			c.mu.Unlock()
			c.logger.Info("kurrentdb: the event store answers again", "after", time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-c.stop:
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, probeMaxPause)
	}
}

// pause waits d, ctx's end, or, while the store is marked unreachable, until it answers again (whichever comes
// first).
func (c *Client) pause(ctx context.Context, d time.Duration) {
	c.mu.Lock()
	var up chan struct{} // nil (never ready) unless the store is down
	if c.down {
		up = c.up
	}
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-up:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Transient failures are retried this many times, pausing retryPause, 2×retryPause, ... in between (or less when
// the store answers again meanwhile).
const (
	retries    = 3
	retryPause = 100 * time.Millisecond
)

// do runs op with the official client (see call), retrying transient failures. Every op passed here is safe to
// repeat: reads, and appends with deterministic event ids and a fixed expected revision, which the event store
// recognises as already written (blind appends at Any: recognised too, or at worst written twice, see
// updateBlind). The error returned is classified: an unreachable store, or a context that ended
// while the official client still held the call and the store is unreachable, is failure.Unavailable.
func (c *Client) do(ctx context.Context, name string, op func(*esdb.Client) error) error {
	for attempt := 0; ; attempt++ {
		err, abandoned := c.call(ctx, false, op)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errClosed):
			return failure.Wrap(name, failure.Internal, err)
		case abandoned:
			if c.Unreachable() != nil {
				return failure.Wrap(name, failure.Unavailable, fmt.Errorf("%w: %w", errUnreachable, err))
			}
			return classify(name, err)
		case errors.Is(err, errUnreachable):
		case !transient(err):
			return classify(name, err)
		default:
			// The official client rediscovers the node now, holding every call meanwhile: refuse calls at once
			// until the prober sees the store answer (at once after a blip).
			c.markDown(err)
		}
		if attempt == retries {
			return unavailable(name, err)
		}
		c.logger.Debug("kurrentdb: transient failure, retrying", "op", name, "attempt", attempt+1, "err", err)
		c.pause(ctx, retryPause<<attempt)
		if ctx.Err() != nil {
			return unavailable(name, err)
		}
	}
}

// unavailable classifies err, a transient failure or a refusal while the store is marked unreachable.
func unavailable(name string, err error) error {
	if errors.Is(err, errUnreachable) {
		return failure.Wrap(name, failure.Unavailable, err)
	}
	return classify(name, err)
}

func isCode(err error, code esdb.ErrorCode) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == code
}

// transient reports whether err says the event store was out of reach, so that the same call may succeed later.
func transient(err error) bool {
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorUnavailable, esdb.ErrorCodeConnectionClosed, esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
			return true
		case esdb.ErrorCodeUnknown:
			// The client wraps some raw transport errors as Unknown.
		default:
			return false
		}
	}
	return status.Code(err) == codes.Unavailable // status.Code looks through wrapping
}

// classify gives err a failure kind: wrong expected version is a Conflict, a missing or deleted stream NotFound,
// an unreachable store or a deadline passed waiting for it Unavailable. The *esdb.Error stays in the chain.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	kind := failure.Internal
	var e *esdb.Error
	// The official client returns some calls' ends by their context as bare gRPC statuses ("rpc error: code =
	// DeadlineExceeded"), which wrap no context error: they are read by their status code.
	switch code := status.Code(err); {
	case code == codes.Canceled && !errors.Is(err, context.Canceled):
		err = fmt.Errorf("%w (%w)", err, context.Canceled) // the caller left: errors.Is(err, context.Canceled) holds
	case code == codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	switch {
	case errors.Is(err, context.Canceled):
	case errors.Is(err, context.DeadlineExceeded):
		// The store did not answer in time: try again later (503 with Retry-After), not a bug.
		kind = failure.Unavailable
	case errors.As(err, &e):
		switch e.Code() {
		case esdb.ErrorCodeWrongExpectedVersion:
			kind = failure.Conflict
		case esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted:
			kind = failure.NotFound
		case esdb.ErrorUnavailable, esdb.ErrorCodeConnectionClosed, esdb.ErrorCodeNotLeader, esdb.ErrorAborted,
			esdb.ErrorCodeDeadlineExceeded:
			kind = failure.Unavailable
		default:
			if transient(err) {
				kind = failure.Unavailable
			}
		}
	case transient(err):
		kind = failure.Unavailable
	}
	return failure.Wrap(op, kind, err)
}
