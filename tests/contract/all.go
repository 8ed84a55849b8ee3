package contract

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// allScanLimit bounds reads of $all that may cross other clients' events on a shared store.
const allScanLimit = 10_000

// testAllReads: $all forwards and backwards from start, end and a position (doc §3.3, §7.3).
func testAllReads(t *testing.T, s *suite) {
	c := s.client
	a, b, d := newStream("member"), newStream("servicerequest"), newStream("deposit")
	streams := []string{a, b, d}
	order := []string{a, b, a, d, b, a}
	var evs []esdb.EventData
	var ps []esdb.Position
	for _, st := range order {
		ev := jsonEvent("Recorded")
		wr := appendOK(t, c, st, esdb.Any{}, ev)
		evs = append(evs, ev)
		ps = append(ps, writePos(wr))
	}
	for i := range ps {
		checkEventPosition(t, ps[i], fmt.Sprintf("append %d", i))
		if i > 0 && !posLess(ps[i-1], ps[i]) {
			t.Errorf("append %d at %s does not follow append %d at %s", i, pos(ps[i]), i-1, pos(ps[i-1]))
		}
	}
	reversed := func(in []esdb.EventData) []esdb.EventData {
		out := make([]esdb.EventData, len(in))
		for i := range in {
			out[len(in)-1-i] = in[i]
		}
		return out
	}

	t.Run("forwards from a position is inclusive", func(t *testing.T) {
		got := only(readAll(t, c, esdb.ReadAllOptions{From: ps[0]}, allScanLimit), streams...)
		requireSameEvents(t, got, evs, "forwards from the first event's position")
		for i, e := range got {
			if e.Position != ps[i] || e.StreamID != order[i] {
				t.Errorf("event %d: %s at %s, want %s at %s (the append result)", i, e.StreamID, pos(e.Position), order[i], pos(ps[i]))
			}
		}
		checkStrictlyIncreasing(t, got, "$all forwards")
		one := readAll(t, c, esdb.ReadAllOptions{From: ps[0]}, 1)
		requireSameEvents(t, one, evs[:1], "forwards from the first event's position, max count 1")
		mid := only(readAll(t, c, esdb.ReadAllOptions{From: ps[2]}, allScanLimit), streams...)
		requireSameEvents(t, mid, evs[2:], "forwards from the third event's position")
	})
	t.Run("backwards from a position is exclusive", func(t *testing.T) {
		got := only(readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: ps[5]}, allScanLimit), streams...)
		requireSameEvents(t, got, reversed(evs[:5]), "backwards from the last event's position")
		if s.h.Capabilities.Private {
			one := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: ps[5]}, 1)
			requireSameEvents(t, one, evs[4:5], "backwards from the last event's position, max count 1")
		}
	})
	t.Run("backwards from end", func(t *testing.T) {
		got := only(readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, allScanLimit), streams...)
		requireSameEvents(t, got, reversed(evs), "backwards from end")
		if s.h.Capabilities.Private {
			one := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
			requireSameEvents(t, one, evs[5:], "backwards from end, max count 1")
		}
	})
	t.Run("forwards from end and backwards from start are empty", func(t *testing.T) {
		fwd := readAll(t, c, esdb.ReadAllOptions{From: esdb.End{}}, 100)
		if mine := only(fwd, streams...); len(mine) != 0 || (s.h.Capabilities.Private && len(fwd) != 0) {
			t.Errorf("forwards from end: %v, want nothing", recordedIDs(fwd))
		}
		if bwd := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.Start{}}, 100); len(bwd) != 0 {
			t.Errorf("backwards from start: %v, want nothing", recordedIDs(bwd))
		}
	})
	t.Run("stream reads carry the $all positions", func(t *testing.T) {
		got := readWhole(t, c, a)
		want := []esdb.Position{ps[0], ps[2], ps[5]}
		for i, e := range got {
			if e.Position != want[i] {
				t.Errorf("%s@%d: position %s, want %s as in $all (doc §3.3)", a, i, pos(e.Position), pos(want[i]))
			}
		}
	})
	if s.h.Capabilities.Private {
		t.Run("whole $all forwards and backwards", func(t *testing.T) {
			fwd := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}}, math.MaxUint64)
			bwd := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, math.MaxUint64)
			checkStrictlyIncreasing(t, fwd, "whole $all forwards")
			if len(fwd) != len(bwd) {
				t.Fatalf("whole $all: %d events forwards, %d backwards", len(fwd), len(bwd))
			}
			for i := range fwd {
				f, b := fwd[i], bwd[len(bwd)-1-i]
				if f.EventID != b.EventID || f.Position != b.Position || f.StreamID != b.StreamID {
					t.Fatalf("whole $all: forwards[%d] = %s@%d at %s, backwards mirror = %s@%d at %s",
						i, f.StreamID, f.EventNumber, pos(f.Position), b.StreamID, b.EventNumber, pos(b.Position))
				}
			}
			first := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}}, 1)
			if len(first) != 1 || first[0].EventID != fwd[0].EventID {
				t.Errorf("forwards from start, max count 1: %v, want %s", recordedIDs(first), fwd[0].EventID)
			}
		})
	}
}

// testAllOrderConcurrentWriters: concurrent writers on own and shared streams; $all (read and subscribed live) is one
// total order consistent with every append result and with each stream's revisions (doc §7.3, §7.7).
func testAllOrderConcurrentWriters(t *testing.T, s *suite) {
	c := s.client
	category := "conc" + newTag()
	filter := &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{category + "-"}}
	live := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.End{}, Filter: filter})
	shared := category + "-" + uuid.NewString()
	sharedSub := subscribeStream(t, c, shared, esdb.Start{})
	m := marker(t, c)
	var ackCount atomic.Int64

	type acked struct {
		stream string
		id     uuid.UUID
		pos    esdb.Position
	}
	const writers, perWriter = 5, 40
	logs := make([][]acked, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := category + "-" + uuid.NewString()
			var exp esdb.ExpectedRevision = esdb.NoStream{}
			next := uint64(0)
			for i := range perWriter {
				stream, e := own, exp
				if i%3 == 2 {
					stream, e = shared, esdb.Any{}
				}
				ev := jsonEvent(fmt.Sprintf("Written%d", w))
				wr, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: e}, ev)
				if err != nil {
					errs <- fmt.Errorf("writer %d, append %d to %s: %w", w, i, stream, err)
					return
				}
				if stream == own {
					if wr.NextExpectedVersion != next {
						errs <- fmt.Errorf("writer %d: own stream revision %d, want %d", w, wr.NextExpectedVersion, next)
						return
					}
					exp = esdb.Revision(next)
					next++
				}
				logs[w] = append(logs[w], acked{stream, ev.EventID, writePos(wr)})
				ackCount.Add(1)
			}
		}()
	}
	// Subscriptions started while the writers run go from catch-up to live in the middle of the traffic; the switch
	// must neither skip nor repeat an event (doc §7.7).
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	var midwayAll, midwayShared []*subscription
	for _, after := range []int64{10, 60, 120} {
	waitAcks:
		for ackCount.Load() < after {
			select {
			case <-writersDone:
				break waitAcks
			case <-time.After(time.Millisecond):
			}
		}
		t.Logf("midway subscriptions start after %d of %d appends", ackCount.Load(), writers*perWriter)
		midwayAll = append(midwayAll, subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m, Filter: filter}))
		midwayShared = append(midwayShared, subscribeStream(t, c, shared, esdb.Start{}))
	}
	<-writersDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	byID := map[uuid.UUID]acked{}
	minPos := esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}
	for w, log := range logs {
		for i, a := range log {
			byID[a.id] = a
			if posLess(a.pos, minPos) {
				minPos = a.pos
			}
			// An append acknowledged before the writer's next one must come first in $all.
			if i > 0 && !posLess(log[i-1].pos, a.pos) {
				t.Errorf("writer %d: append %d acknowledged at %s after append %d at %s", w, i, pos(a.pos), i-1, pos(log[i-1].pos))
			}
		}
	}
	mine := func(e *esdb.RecordedEvent) bool { return strings.HasPrefix(e.StreamID, category+"-") }
	var got []*esdb.RecordedEvent
	for _, e := range readAll(t, c, esdb.ReadAllOptions{From: minPos}, allScanLimit) {
		if mine(e) {
			got = append(got, e)
		}
	}
	if len(got) != writers*perWriter {
		t.Fatalf("$all holds %d of the %d acknowledged events", len(got), writers*perWriter)
	}
	checkStrictlyIncreasing(t, got, "$all under concurrent writers")
	nextRev := map[string]uint64{}
	seen := map[uuid.UUID]bool{}
	for i, e := range got {
		a, ok := byID[e.EventID]
		if !ok || seen[e.EventID] {
			t.Fatalf("$all event %d (%s): acknowledged %v, seen before %v", i, e.EventID, ok, seen[e.EventID])
		}
		seen[e.EventID] = true
		if e.StreamID != a.stream || e.Position != a.pos {
			t.Errorf("$all event %d: %s at %s, acknowledged as %s at %s", i, e.StreamID, pos(e.Position), a.stream, pos(a.pos))
		}
		if e.EventNumber != nextRev[e.StreamID] {
			t.Errorf("$all event %d: %s@%d, want revision %d (revisions follow $all order)", i, e.StreamID, e.EventNumber, nextRev[e.StreamID])
		}
		nextRev[e.StreamID] = e.EventNumber + 1
	}

	fromLive := live.events(t, len(got), nil)
	for i := range got {
		if fromLive[i].EventID != got[i].EventID || fromLive[i].Position != got[i].Position {
			t.Fatalf("live $all subscription event %d: %s at %s, $all read has %s at %s",
				i, fromLive[i].EventID, pos(fromLive[i].Position), got[i].EventID, pos(got[i].Position))
		}
	}
	sharedEvents := only(got, shared)
	// Every event once, in order.
	requireSame := func(sub *subscription, want []*esdb.RecordedEvent, what string) {
		t.Helper()
		received := sub.events(t, len(want), nil)
		for i := range want {
			if received[i].EventID != want[i].EventID || received[i].Position != want[i].Position {
				t.Fatalf("%s, event %d: %s@%d at %s, want %s@%d at %s", what, i, received[i].EventID, received[i].EventNumber,
					pos(received[i].Position), want[i].EventID, want[i].EventNumber, pos(want[i].Position))
			}
		}
		_ = sub.sub.Close()
	}
	requireSame(sharedSub, sharedEvents, "subscription to the shared stream from before the writes")
	for i := range midwayAll {
		requireSame(midwayAll[i], got, fmt.Sprintf("filtered $all subscription %d started during the writes", i))
		requireSame(midwayShared[i], sharedEvents, fmt.Sprintf("shared stream subscription %d started during the writes", i))
	}
	sentinel := jsonEvent("Sentinel")
	appendOK(t, c, shared, esdb.Any{}, sentinel)
	requireSameEvents(t, live.events(t, 1, nil), []esdb.EventData{sentinel}, "live subscription after all writes")
}
