package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Client is a handle on the official client that heals itself. The official client closes itself for good when a
// rediscovery fails (an outage of about a second, such as a node restart); Client then replaces it with a new one on
// the next call, so neither the Store nor the Source needs restarting after an outage.
type Client struct {
	cfg    esdb.Configuration
	logger *slog.Logger

	mu     sync.Mutex
	cur    *esdb.Client
	closed bool
}

// Option configures Connect.
type Option func(*Client)

// WithLogger sends the adapter's logs (and, at debug level, the official client's) to logger. The default discards
// them.
func WithLogger(logger *slog.Logger) Option {
	return func(c *Client) { c.logger = logger }
}

// Connect parses an esdb:// or esdb+discover:// connection string, creates the official client and checks that the
// event store answers before ctx ends. The connection string may hold credentials: it is never logged.
func Connect(ctx context.Context, connString string, opts ...Option) (*Client, error) {
	cfg, err := esdb.ParseConnectionString(connString)
	if err != nil {
		// The parser's message may quote the connection string, password included.
		return nil, failure.Errorf(failure.Invalid, "kurrentdb: invalid connection string")
	}
	c := &Client{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(c)
	}
	logger := c.logger
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		logger.Debug("esdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
	c.cfg = *cfg
	if c.cur, err = esdb.NewClient(&c.cfg); err != nil {
		return nil, failure.Errorf(failure.Invalid, "kurrentdb: %w", err)
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ESDB returns the official client currently in use, for operations this package does not wrap. It may be replaced
// after an outage: fetch it again rather than keeping it.
func (c *Client) ESDB() *esdb.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Close closes the official client; calls in progress fail.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.cur.Close()
}

// Ping reads the last event of $all: nil means the event store answers (for readiness checks).
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, "kurrentdb.Ping", func(es *esdb.Client) error {
		rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		if _, err := rs.Recv(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	})
}

// Head returns the commit position of the last record of $all (0 when the log is empty): no command has been
// answered with a position beyond it. It is the adapters/httpapi LogHead port.
func (c *Client) Head(ctx context.Context) (uint64, error) {
	var head uint64
	err := c.do(ctx, "kurrentdb.Head", func(es *esdb.Client) error {
		head = 0
		rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}, ResolveLinkTos: false}, 1)
		if err != nil {
			return err
		}
		defer rs.Close()
		re, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		if re.Event != nil {
			head = re.Event.Position.Commit
		}
		return nil
	})
	return head, err
}

// errClosed is returned once Close has been called.
var errClosed = &failure.Error{Kind: failure.Unavailable, Err: errors.New("kurrentdb: client closed")}

// current returns the official client in use.
func (c *Client) current() (*esdb.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	return c.cur, nil
}

// renew replaces dead, if it is still the client in use, with a new official client.
func (c *Client) renew(dead *esdb.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cur != dead {
		return
	}
	dead.Close()
	next, err := esdb.NewClient(&c.cfg) // fails only on an invalid configuration, which Connect has ruled out
	if err != nil {
		c.logger.Error("kurrentdb: cannot renew the client", "err", err)
		return
	}
	c.cur = next
	c.logger.Warn("kurrentdb: the official client had closed itself after an outage; renewed it")
}

// Transient failures are retried this many times, pausing retryPause, 2×retryPause, ... in between.
const (
	retries    = 3
	retryPause = 100 * time.Millisecond
)

// do runs op with the official client, renewing the client when it reports itself closed and retrying transient
// failures. Every op passed here is safe to repeat: reads, and appends with deterministic event ids and a fixed
// expected revision, which the event store recognises as already written. The error returned is classified.
func (c *Client) do(ctx context.Context, name string, op func(*esdb.Client) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		es, cerr := c.current()
		if cerr != nil {
			return failure.Wrap(name, failure.Internal, cerr)
		}
		err = op(es)
		if err == nil {
			return nil
		}
		if isCode(err, esdb.ErrorCodeConnectionClosed) {
			c.renew(es)
		}
		if attempt == retries || !transient(err) || ctx.Err() != nil {
			break
		}
		c.logger.Debug("kurrentdb: transient failure, retrying", "op", name, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
			return failure.Wrap(name, failure.Internal, ctx.Err())
		case <-time.After(retryPause << attempt):
		}
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
// an unreachable store Unavailable. The *esdb.Error stays in the chain.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	kind := failure.Internal
	var e *esdb.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
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
