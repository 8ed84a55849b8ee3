package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/domain/event"
)

// The shared live tail. `dossier serve` runs some forty Runs on one Source (projections and reaction handlers); each
// used to keep its own subscription to $all, so every event was sent, unmarshalled, decoded and unsealed forty
// times. Now the first Run that reaches the head starts one more subscription, the tail, which decodes each record
// once into a ring of the last tailSize deliveries; a live Run leaves its own subscription for the ring as soon as
// the ring holds every record after the Run's last handled position (the tail "covers" it):
//
//   - the tail knows every record after start: where it began (the position of the Run that started it), then,
//     once the ring is full, the position of the last record it evicted. A position p is covered when start <= p
//     (p may be a system event's position, filtered out of the ring, or lie after the newest record of the ring
//     when the Run's own subscription ran ahead of the tail: the follower starts at the first record after p in the
//     ring, and skips any record the tail pushes later that is not after its last handled position). A Run behind
//     start stays on its own subscription and tries again after each live record.
//   - the tail never waits for a follower: a follower that finds its next record evicted (it fell behind the ring)
//     goes back to its own subscription after its last handled record, and rejoins once live again.
//   - the tail's own drops are resubscribed after its newest record with the Run back-off; followers just wait.
//     It ends only with its Client: its followers then end with the error Run returns for a closed Client.
type tail struct {
	src *Source

	mu        sync.Mutex
	ring      []tailEntry
	next      uint64        // sequence number of the next entry; entry n lives at ring[n%len(ring)]
	start     pos           // the tail holds every record after start
	wake      chan struct{} // closed (and replaced) at each new entry
	done      chan struct{} // closed when the tail ends
	err       error         // why it ended, once done is closed
	followers int
}

type tailEntry struct {
	at pos
	d  event.Delivery
}

// pos is a position in $all; the zero pos is before the first record.
type pos struct{ commit, prepare uint64 }

func posOf(p esdb.AllPosition) pos {
	if q, ok := p.(esdb.Position); ok {
		return pos{q.Commit, q.Prepare}
	}
	return pos{}
}

func (p pos) less(q pos) bool {
	return p.commit < q.commit || (p.commit == q.commit && p.prepare < q.prepare)
}

var (
	// errJoined ends a Run's own subscription: the Run follows the tail from here.
	errJoined = errors.New("kurrentdb: joined the shared tail")
	// errFellBehind ends a follower whose next record was evicted from the tail's ring.
	errFellBehind = errors.New("kurrentdb: fell behind the shared tail")
)

// SourceStats tell how a Source reads the log at a moment.
type SourceStats struct {
	Subscriptions int   // subscriptions to $all open: one per Run not following the tail, plus the tail's own
	Followers     int   // Runs following the tail
	Tail          bool  // whether the tail runs
	FellBehind    int64 // Runs that fell behind the tail's ring since the start (each went back to its own subscription)
}

// Stats returns the Source's subscriptions and the tail's followers.
func (s *Source) Stats() SourceStats {
	st := SourceStats{Subscriptions: int(s.subs.Load()), FellBehind: s.fellBehind.Load()}
	s.mu.Lock()
	t := s.tail
	s.mu.Unlock()
	if t != nil {
		t.mu.Lock()
		st.Followers = t.followers
		select {
		case <-t.done:
		default:
			st.Tail = true
		}
		t.mu.Unlock()
	}
	return st
}

// join returns the tail and the sequence number of the first entry after at when the tail covers at (starting the
// tail there if none runs yet), nil otherwise. A non-nil tail counts the caller as a follower until follow returns.
func (s *Source) join(at esdb.AllPosition) (*tail, uint64) {
	if s.tailSize == 0 {
		return nil, 0
	}
	s.mu.Lock()
	t := s.tail
	if t == nil {
		t = s.startTail(at)
		s.tail = t
	}
	s.mu.Unlock()
	p := posOf(at)
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.done:
		return nil, 0 // the Client is closed: the Run's own subscription says so
	default:
	}
	if p.less(t.start) {
		return nil, 0
	}
	first := t.next - min(t.next, uint64(len(t.ring)))
	k := sort.Search(int(t.next-first), func(k int) bool { return p.less(t.ring[(first+uint64(k))%uint64(len(t.ring))].at) })
	t.followers++
	return t, first + uint64(k)
}

// startTail starts the tail after position at.
func (s *Source) startTail(at esdb.AllPosition) *tail {
	t := &tail{src: s, ring: make([]tailEntry, s.tailSize), start: posOf(at), wake: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.client.stop:
		case <-t.done:
		}
		cancel()
	}()
	go t.run(ctx, at)
	return t
}

// run keeps the tail's subscription until the Client closes.
func (t *tail) run(ctx context.Context, from esdb.AllPosition) {
	s := t.src
	backoff := minBackoff
	var err error
	for {
		var progressed bool
		progressed, err = s.subscribe(ctx, &from, t.push, nil)
		if ctx.Err() != nil || errors.Is(err, errClosed) {
			err = errClosed
			break
		}
		if progressed {
			backoff = minBackoff
		}
		s.client.logger.Warn("kurrentdb: shared tail subscription dropped; resubscribing", "after", position(from), "in", backoff, "err", err)
		s.client.pause(ctx, backoff)
		if ctx.Err() != nil {
			err = errClosed
			break
		}
		backoff = min(2*backoff, maxBackoff)
	}
	t.mu.Lock()
	t.err = err
	close(t.done)
	t.mu.Unlock()
}

// push appends a record to the ring, evicting the oldest when full. It never waits for a follower.
func (t *tail) push(_ context.Context, d event.Delivery) error {
	if d.CaughtUp {
		return nil
	}
	d.Live = true
	at := pos{d.Record.Position, d.Record.Prepare}
	t.mu.Lock()
	i := t.next % uint64(len(t.ring))
	if t.next >= uint64(len(t.ring)) {
		t.start = t.ring[i].at
	}
	t.ring[i] = tailEntry{at: at, d: d}
	t.next++
	close(t.wake)
	t.wake = make(chan struct{})
	t.mu.Unlock()
	return nil
}

// followBatch bounds how many entries a follower copies per look at the ring.
const followBatch = 64

// follow delivers the ring's entries from sequence number seq to handle, advancing *from past each handled one,
// until ctx ends, handle fails (a *handlerError), the follower falls behind (errFellBehind) or the tail ends.
func (t *tail) follow(ctx context.Context, from *esdb.AllPosition, seq uint64, handle func(context.Context, event.Delivery) error) error {
	defer func() {
		t.mu.Lock()
		t.followers--
		t.mu.Unlock()
	}()
	last := posOf(*from)
	batch := make([]tailEntry, 0, followBatch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.mu.Lock()
		if t.next-seq > uint64(len(t.ring)) {
			t.mu.Unlock()
			return errFellBehind
		}
		if seq == t.next {
			wake, done := t.wake, t.done
			t.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-done:
				return t.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		batch = batch[:0]
		for n := seq; n < t.next && len(batch) < followBatch; n++ {
			batch = append(batch, t.ring[n%uint64(len(t.ring))])
		}
		t.mu.Unlock()
		for _, e := range batch {
			seq++
			if !last.less(e.at) {
				continue // the tail was behind the Run when it joined: already handled
			}
			rec := e.d.Record
			if err := handle(ctx, e.d); err != nil {
				return &handlerError{fmt.Errorf("kurrentdb source: %s@%d (position %d): %w", rec.Stream, rec.Revision, rec.Position, err)}
			}
			*from, last = esdb.Position{Commit: rec.Position, Prepare: rec.Prepare}, e.at
		}
	}
}
