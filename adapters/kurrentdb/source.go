package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
type Source struct {
	client *Client
	codec  *Codec
}

// NewSource returns a source over client that decodes with codec.
func NewSource(client *Client, codec *Codec) *Source { return &Source{client: client, codec: codec} }

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
// 100 ms doubling up to 5 s between attempts. Run returns ctx.Err() when ctx ends, the error of handle as soon as it
// returns one (the record it failed on counts as not handled), or an error once the Client is closed.
func (s *Source) Run(ctx context.Context, after uint64, handle func(ctx context.Context, d event.Delivery) error) error {
	var from esdb.AllPosition = esdb.Start{}
	if after > 0 {
		from = esdb.Position{Commit: after, Prepare: after}
	}
	backoff := minBackoff
	for {
		progressed, err := s.subscribe(ctx, &from, handle)
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
// reports whether the subscription delivered anything.
func (s *Source) subscribe(ctx context.Context, from *esdb.AllPosition, handle func(context.Context, event.Delivery) error) (progressed bool, err error) {
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
