package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/domain/event"
)

// Resubscription back-off: the first retry waits minBackoff, each further failed attempt doubles it up to
// maxBackoff. A subscription that delivered anything resets it.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Source is an ordered catch-up feed of the global log ($all) without the event store's own events. Many Runs may
// share one Source.
//
// Runs that reached the head of the log share one live subscription, the Source's tail (see tail.go): it decodes
// each record once and keeps the recent deliveries in a bounded buffer that every live Run reads. The deliveries a
// handle receives may therefore be the same values other Runs receive: a handle must not modify a delivery's Record
// (its Data and Metadata bytes) or its Envelope's Event (no consumer in projections/ or adapters/messaging does).
type Source struct {
	client   *Client
	codec    *Codec
	tailSize int // 0: no shared tail

	subs       atomic.Int64 // subscriptions open (the tail's included)
	fellBehind atomic.Int64 // Runs that fell behind the tail and went back to a subscription of their own

	mu   sync.Mutex
	tail *tail // started by the first Run that reaches the head
}

// DefaultTailSize is how many recent deliveries the shared live tail keeps unless WithTail says otherwise.
const DefaultTailSize = 4096

// SourceOption is a setting of NewSource.
type SourceOption func(*Source)

// WithTail sets how many recent deliveries the shared live tail keeps (DefaultTailSize): a live Run whose handler
// falls further behind goes back to a subscription of its own until it is live again. 0 turns the tail off: every
// Run keeps its own subscription for good (as before session 7; kept for comparison in benchmarks).
func WithTail(size int) SourceOption { return func(s *Source) { s.tailSize = max(size, 0) } }

// NewSource returns a source over client that decodes with codec.
func NewSource(client *Client, codec *Codec, opts ...SourceOption) *Source {
	s := &Source{client: client, codec: codec, tailSize: DefaultTailSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Run delivers to handle, one at a time and in commit order, every event of $all committed after position after
// (0: from the beginning), except events whose type starts with "$" (the event store's own). Keep the Position of
// each handled Record as the checkpoint and pass it back to resume: the start is exclusive, so nothing is delivered
// twice and nothing is skipped.
//
// Each record comes raw and decoded; a record that cannot be decoded comes with Delivery.Err and an empty Envelope
// (stop, or record it where operators see it). When the feed reaches the head of the log, handle receives a
// Delivery with CaughtUp set and no record, and later records have Live set.
//
// When the subscription drops (node restart, network), Run subscribes again after the last handled record, waiting
// 100 ms doubling up to 5 s between attempts. Once live, Run leaves its own subscription for the Source's shared
// tail as soon as the tail holds every record after the last handled one; nothing changes for handle (same records,
// same order, Live set, no further CaughtUp while it follows the tail). A handle too slow for the tail's buffer
// goes back to a subscription of its own after its last handled record (which delivers CaughtUp again when it
// reaches the head, as after a drop) and rejoins the tail later. Run returns ctx.Err() when ctx ends, the error of handle as soon as it
// returns one (the record it failed on counts as not handled), or an error once the Client is closed.
func (s *Source) Run(ctx context.Context, after uint64, handle func(ctx context.Context, d event.Delivery) error) error {
	var from esdb.AllPosition = esdb.Start{}
	if after > 0 {
		from = esdb.Position{Commit: after, Prepare: after}
	}
	backoff := minBackoff
	for {
		var joined *tail
		var seq uint64
		join := func(at esdb.AllPosition) bool {
			joined, seq = s.join(at)
			return joined != nil
		}
		progressed, err := s.subscribe(ctx, &from, handle, join)
		if errors.Is(err, errJoined) {
			err = joined.follow(ctx, &from, seq, handle)
			if errors.Is(err, errFellBehind) {
				s.fellBehind.Add(1)
				s.client.logger.Debug("kurrentdb: a Run fell behind the shared tail; back on its own subscription", "after", position(from))
				backoff = minBackoff
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *handlerError
		if errors.As(err, &herr) {
			return herr.err
		}
		if errors.Is(err, errClosed) {
			return fmt.Errorf("kurrentdb source: %w", err)
		}
		if progressed {
			backoff = minBackoff
		}
		s.client.logger.Warn("kurrentdb: $all subscription dropped; resubscribing", "after", position(from), "in", backoff, "err", err)
		s.client.pause(ctx, backoff) // or sooner, when the store answers again after an outage
		if ctx.Err() != nil {
			return ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// subscribe runs one subscription from *from until it drops, advancing *from past every handled record. progressed
// reports whether the subscription delivered anything. Once live, after CaughtUp and after each handled record,
// join (if not nil) is asked whether to leave: if it says yes, subscribe returns errJoined.
func (s *Source) subscribe(ctx context.Context, from *esdb.AllPosition, handle func(context.Context, event.Delivery) error, join func(esdb.AllPosition) bool) (progressed bool, err error) {
	var sub *esdb.Subscription
	opts := esdb.SubscribeToAllOptions{From: *from, Filter: esdb.ExcludeSystemEventsFilter()}
	err, abandoned := s.client.call(ctx, false, func(es *esdb.Client) (err error) {
		sub, err = es.SubscribeToAll(ctx, opts)
		return err
	})
	switch {
	case abandoned: // ctx ended while the official client rediscovered the node; the subscription dies with ctx
		return false, err
	case err != nil:
		if transient(err) {
			s.client.markDown(err)
		}
		return false, err
	}
	s.subs.Add(1)
	defer s.subs.Add(-1)
	defer sub.Close()
	live := false
	for {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			// Drops are raw gRPC errors (not *esdb.Error) and always worth a new subscription.
			return progressed, msg.SubscriptionDropped.Error
		case msg.CaughtUp != nil:
			progressed, live = true, true
			if err := handle(ctx, event.Delivery{CaughtUp: true}); err != nil {
				return progressed, &handlerError{fmt.Errorf("kurrentdb source: caught up: %w", err)}
			}
			if join != nil && join(*from) {
				return progressed, errJoined
			}
		case msg.FellBehind != nil:
			live = false
		case msg.EventAppeared != nil && msg.EventAppeared.Event != nil:
			progressed = true
			re := msg.EventAppeared.Event
			if !after(re.Position, *from) {
				s.client.logger.Error("kurrentdb: $all subscription went backwards; record skipped", "position", re.Position.Commit, "after", position(*from))
				continue
			}
			if strings.HasPrefix(re.EventType, "$") { // also filtered by the server; kept for servers that do not
				*from = re.Position
				continue
			}
			rec, env, derr := s.codec.Decode(re)
			if err := handle(ctx, event.Delivery{Record: rec, Envelope: env, Err: derr, Live: live}); err != nil {
				return progressed, &handlerError{fmt.Errorf("kurrentdb source: %s@%d (position %d): %w", rec.Stream, rec.Revision, rec.Position, err)}
			}
			*from = re.Position
			if live && join != nil && join(*from) {
				return progressed, errJoined
			}
		}
	}
}

// after reports whether p comes strictly after from in the global log.
func after(p esdb.Position, from esdb.AllPosition) bool {
	f, ok := from.(esdb.Position)
	if !ok {
		return true // from Start
	}
	return p.Commit > f.Commit || (p.Commit == f.Commit && p.Prepare > f.Prepare)
}

func position(from esdb.AllPosition) uint64 {
	if p, ok := from.(esdb.Position); ok {
		return p.Commit
	}
	return 0
}
