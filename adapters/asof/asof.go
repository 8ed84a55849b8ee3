// Package asof serves the auditor's "past as it was" (issue 16 item 2): a member's account, or a queue, as the live
// read models showed it at a commit position or an instant. It replays the events up to that point with the same
// projection code as the live read models (projections/accounts, projections/casequeues: their Apply and their
// queries) into a scratch in-memory SQLite database (sqldb.OpenScratch) that is thrown away after the answer.
//
// Only the events that matter are read: the member's stream for an account; for a queue, a server-side filter of
// the official client on the request streams' prefix. Each view says the position it reflects (the last event of
// the global log at or before the point asked) and when that event was recorded.
//
// What depends on the day of the read (an account's lock, the address in force, a case's age and breach) is read
// at the instant asked, or, for a position, at the time the event there was recorded: the view is what a reader
// saw at that moment.
package asof

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/casequeues"
)

// Errors of the views. Match with errors.Is.
var (
	// ErrInvalidAt refuses an "at" that is neither an RFC 3339 instant nor a commit position (digits).
	ErrInvalidAt = failure.New(failure.Invalid, "audit.invalid_at", "at: want an RFC 3339 time or a commit position")
	// ErrBeforeFirstEvent refuses a point before the first event of the log: nothing existed yet.
	ErrBeforeFirstEvent = failure.New(failure.Invalid, "audit.at_before_first_event", "at: before the first event of the log")
	// ErrInFuture refuses an instant after now, or a position beyond the end of the log.
	ErrInFuture = failure.New(failure.Invalid, "audit.at_in_future", "at: in the future")
)

// At is the point an auditor asks for: a commit position, or an instant (Time not zero).
type At struct {
	Position uint64
	Time     time.Time
}

// ParseAt reads an "at" parameter: digits are a commit position, anything else an RFC 3339 instant.
func ParseAt(s string) (At, error) {
	if s == "" {
		return At{}, ErrInvalidAt
	}
	if strings.Trim(s, "0123456789") == "" {
		p, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return At{}, ErrInvalidAt
		}
		return At{Position: p}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return At{}, ErrInvalidAt
	}
	return At{Time: t}, nil
}

// Point is the point a view reflects: every event of the global log up to Position (the last event at or before
// the point asked), which was recorded at RecordedAt; ReadAt is the instant the view is read at.
type Point struct {
	Position   uint64
	RecordedAt time.Time
	ReadAt     time.Time
}

// Views builds the views. It is safe for concurrent use; each view works in a scratch database of its own.
type Views struct {
	client   *kurrentdb.Client
	codec    *kurrentdb.Codec
	store    *kurrentdb.Store
	now      func() time.Time
	maxBatch int
}

// New returns the views over the event store (client, decoded with codec); now is the clock that decides what is
// in the future (nil: time.Now).
func New(client *kurrentdb.Client, codec *kurrentdb.Codec, now func() time.Time) *Views {
	if now == nil {
		now = time.Now
	}
	return &Views{client: client, codec: codec, store: kurrentdb.NewStore(client, codec), now: now, maxBatch: 5000}
}

// Account returns memberID's account as accounts.Queries.Get answered at the point (an error wrapping
// accounts.ErrNotFound when the member had no account then, or has none at all).
func (v *Views) Account(ctx context.Context, memberID uuid.UUID, at At) (accounts.Account, Point, error) {
	pt, err := v.Resolve(ctx, at)
	if err != nil {
		return accounts.Account{}, Point{}, err
	}
	history, err := v.store.Load(ctx, event.NewStreamID(member.Category, memberID))
	if err != nil {
		return accounts.Account{}, Point{}, fmt.Errorf("asof: account: %w", err)
	}
	if len(history) == 0 {
		return accounts.Account{}, Point{}, fmt.Errorf("asof: member-%s: %w", memberID, accounts.ErrNotFound)
	}
	p := accounts.New()
	db, err := v.replay(ctx, p, func(emit func(event.Envelope) error) error {
		for _, e := range history {
			if e.Position > pt.Position {
				break
			}
			if err := emit(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return accounts.Account{}, Point{}, err
	}
	defer db.Close()
	acc, err := accounts.NewQueries(db, func() time.Time { return pt.ReadAt }).Get(ctx, memberID)
	return acc, pt, err
}

// Queue is a queue as it stood: its figures (casequeues.Queries.Counts) and a page of its open cases
// (casequeues.Queries.Page with the filter).
type Queue struct {
	Point Point
	Stats casequeues.QueueStats
	Cases []casequeues.Case
	// Next is the cursor of the next page ("" after the last case).
	Next string
}

// Queue returns queue as it stood at the point. The caller checks that the queue exists and that it may read it.
func (v *Views) Queue(ctx context.Context, queue string, at At, f casequeues.Filter) (Queue, error) {
	pt, err := v.Resolve(ctx, at)
	if err != nil {
		return Queue{}, err
	}
	db, err := v.replay(ctx, casequeues.New(), func(emit func(event.Envelope) error) error {
		return v.feed(ctx, sr.Category+"-", pt.Position, emit)
	})
	if err != nil {
		return Queue{}, err
	}
	defer db.Close()
	q := casequeues.NewQueries(db, func() time.Time { return pt.ReadAt })
	stats, err := q.Counts(ctx, []string{queue})
	if err != nil {
		return Queue{}, err
	}
	out := Queue{Point: pt, Stats: casequeues.QueueStats{Queue: queue}}
	if len(stats) > 0 {
		out.Stats = stats[0]
	}
	if out.Cases, out.Next, err = q.Page(ctx, queue, f); err != nil {
		return Queue{}, err
	}
	return out, nil
}

// replay sets p up in a scratch database and applies to it, in batches, the events feed emits. Reading (feed, in a
// goroutine of its own) and applying overlap: a batch is applied while the next one is read and decoded. The caller
// closes the database.
func (v *Views) replay(ctx context.Context, p projections.Projection, feed func(emit func(event.Envelope) error) error) (*sqldb.DB, error) {
	db, err := sqldb.OpenScratch(ctx)
	if err != nil {
		return nil, err
	}
	if err := projections.Setup(ctx, db, p); err != nil {
		_ = db.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []event.Envelope, 2)
	fed := make(chan error, 1)
	go func() {
		defer close(batches)
		batch := make([]event.Envelope, 0, v.maxBatch)
		send := func() error {
			select {
			case batches <- batch:
				batch = make([]event.Envelope, 0, v.maxBatch)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := feed(func(e event.Envelope) error {
			batch = append(batch, e)
			if len(batch) >= v.maxBatch {
				return send()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		fed <- err
	}()
	var applyErr error
	for batch := range batches {
		if applyErr != nil {
			continue // drain, so the reader ends
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return p.Apply(ctx, tx, batch) }); err != nil {
			applyErr = fmt.Errorf("asof: %s: %w", p.Name(), err)
			cancel()
		}
	}
	err = errors.Join(applyErr, <-fed)
	if applyErr != nil {
		err = applyErr
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// feed emits, in commit order, the events of the streams whose name starts with prefix up to position until,
// read through a catch-up subscription to $all with a server-side stream-prefix filter.
func (v *Views) feed(ctx context.Context, prefix string, until uint64, emit func(event.Envelope) error) error {
	var last uint64
	done := false
	return v.client.Call(ctx, "asof.feed", func(ctx context.Context, es *esdb.Client) error {
		if done {
			return nil
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var from esdb.AllPosition = esdb.Start{}
		if last > 0 {
			from = esdb.Position{Commit: last, Prepare: last}
		}
		sub, err := es.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from,
			Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{prefix}}})
		if err != nil {
			return err
		}
		defer sub.Close()
		for {
			msg := sub.Recv()
			switch {
			case msg.SubscriptionDropped != nil:
				return msg.SubscriptionDropped.Error
			case msg.CaughtUp != nil:
				done = true
				return nil
			case msg.CheckPointReached != nil && msg.CheckPointReached.Commit >= until:
				done = true
				return nil
			case msg.EventAppeared != nil && msg.EventAppeared.Event != nil:
				re := msg.EventAppeared.Event
				if re.Position.Commit > until {
					done = true
					return nil
				}
				if re.Position.Commit <= last || strings.HasPrefix(re.EventType, "$") {
					continue // a resubscription's repeat, or the store's own
				}
				rec, env, err := v.codec.Decode(re)
				if err != nil {
					return &permanent{fmt.Errorf("asof: %s@%d (position %d): %w", rec.Stream, rec.Revision, rec.Position, err)}
				}
				if err := emit(env); err != nil {
					return &permanent{err}
				}
				last = rec.Position
				if last == until {
					done = true
					return nil
				}
			}
		}
	})
}

// permanent marks an error no retry can mend (an event that cannot be decoded or applied).
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// Resolve returns the point at asks for: the last event of the global log at or before it. A point before the
// first event is ErrBeforeFirstEvent, one after now or beyond the end of the log ErrInFuture.
func (v *Views) Resolve(ctx context.Context, at At) (Point, error) {
	first, ok, err := v.firstFrom(ctx, 0)
	if err != nil {
		return Point{}, err
	}
	if !ok {
		return Point{}, ErrBeforeFirstEvent // an empty log: nothing has happened yet
	}
	head, err := v.last(ctx, nil)
	if err != nil {
		return Point{}, err
	}
	if at.Time.IsZero() {
		switch {
		case at.Position < first.Position:
			return Point{}, ErrBeforeFirstEvent
		case at.Position > head.Position:
			return Point{}, ErrInFuture
		}
		e, ok, err := v.firstFrom(ctx, at.Position)
		if err != nil {
			return Point{}, err
		}
		if !ok || e.Position != at.Position {
			if e, err = v.last(ctx, &at.Position); err != nil {
				return Point{}, err
			}
		}
		return Point{Position: e.Position, RecordedAt: e.RecordedAt, ReadAt: e.RecordedAt}, nil
	}
	switch {
	case at.Time.After(v.now()):
		return Point{}, ErrInFuture
	case at.Time.Before(first.RecordedAt):
		return Point{}, ErrBeforeFirstEvent
	case !head.RecordedAt.After(at.Time):
		return Point{Position: head.Position, RecordedAt: head.RecordedAt, ReadAt: at.Time}, nil
	}
	// Binary search over positions for the last event recorded at or before the instant (the store records events
	// in commit order, so their times only grow along the log).
	best := first
	lo, hi := first.Position+1, head.Position
	for lo <= hi {
		mid := lo + (hi-lo)/2
		e, ok, err := v.firstFrom(ctx, mid)
		if err != nil {
			return Point{}, err
		}
		switch {
		case !ok || e.Position > hi:
			hi = mid - 1
		case !e.RecordedAt.After(at.Time):
			best, lo = e, e.Position+1
		default:
			hi = mid - 1
		}
	}
	return Point{Position: best.Position, RecordedAt: best.RecordedAt, ReadAt: at.Time}, nil
}

// firstFrom returns the first event that is not the store's own at or after position from (0: the start).
func (v *Views) firstFrom(ctx context.Context, from uint64) (event.Record, bool, error) {
	var got event.Record
	found := false
	err := v.client.ReadAll(ctx, "asof.read", false, from, 64, func(rec event.Record) error {
		got, found = rec, true
		return kurrentdb.ErrStopReading
	})
	return got, found, err
}

// last returns the last event that is not the store's own at or before position before (nil: the end of the log).
func (v *Views) last(ctx context.Context, before *uint64) (event.Record, error) {
	var from uint64 // backwards from 0: the end of the log
	if before != nil {
		from = *before + 1 // backwards from p reads the events strictly before p
	}
	var got event.Record
	found := false
	err := v.client.ReadAll(ctx, "asof.read", true, from, 64, func(rec event.Record) error {
		got, found = rec, true
		return kurrentdb.ErrStopReading
	})
	switch {
	case err != nil:
		return event.Record{}, err
	case !found:
		return event.Record{}, ErrBeforeFirstEvent
	}
	return got, nil
}
