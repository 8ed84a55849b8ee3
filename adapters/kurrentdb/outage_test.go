package kurrentdb

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// TestClientRidesOutANodeOutage is issue 12's first defect as a test: a node outage longer than the official client's
// rediscovery (about a second) while subscriptions and requests use the client. Before the fix, the client renewed the
// official one and closed the old one under the goroutines still sending to it (panic: send on closed channel), or
// left them blocked for good. Now every call ends within its deadline with Unavailable during the outage, nothing
// panics, and calls and feeds work again once the node is back, unaided.
func TestClientRidesOutANodeOutage(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, kurrentnode.Options{Dir: dir})
	addr := node.Addr()
	client := connect(t, node)
	codec := testCodec(t)
	store, source := NewStore(client, codec), NewSource(client, codec)
	stream := newStream()
	appendOne(t, store, stream, opened{Queue: "q"})

	feeds := []*feed{startFeed(t, source, 0), startFeed(t, source, 0)}
	for _, f := range feeds {
		f.untilCaughtUp(t)
	}

	// Request goroutines, as HTTP handlers with a deadline: Ping, Load and Update in a loop.
	ctx, stop := context.WithCancel(context.Background())
	var (
		wg                 sync.WaitGroup
		okCalls, unavail   atomic.Int64
		slowest            atomic.Int64 // nanoseconds
		otherMu            sync.Mutex
		other              []error
		callDeadline       = 500 * time.Millisecond
		allowedOverrun     = time.Second
		requestGoroutines  = 8
		requestStreams     = make([]event.StreamID, requestGoroutines)
		outage             = 3 * time.Second
		recoveryDeadline   = 15 * time.Second
		writesAfterOutage  atomic.Int64
		outageOver         atomic.Bool
		otherErrorsAllowed = 0
	)
	for i := range requestStreams {
		requestStreams[i] = newStream()
	}
	for i := range requestGoroutines {
		wg.Go(func() {
			for ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(ctx, callDeadline)
				start := time.Now()
				var err error
				switch i % 3 {
				case 0:
					err = client.Ping(cctx)
				case 1:
					_, err = store.Load(cctx, requestStreams[i])
				default:
					_, err = store.Update(cctx, requestStreams[i], event.Command{Metadata: testMeta(uuid.New()), RetryOnConflict: 3}, emit(noted{Text: "x"}))
				}
				cancel()
				d := time.Since(start)
				if int64(d) > slowest.Load() {
					slowest.Store(int64(d))
				}
				switch {
				case err == nil:
					okCalls.Add(1)
					if outageOver.Load() && i%3 == 2 {
						writesAfterOutage.Add(1)
					}
				case failure.KindOf(err) == failure.Unavailable || ctx.Err() != nil:
					unavail.Add(1)
				default:
					otherMu.Lock()
					other = append(other, err)
					otherMu.Unlock()
				}
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	time.Sleep(300 * time.Millisecond)
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(outage)
	startNode(t, kurrentnode.Options{Dir: dir, Listen: addr})
	outageOver.Store(true)

	// Ready again unaided: a ping succeeds, writes land, and both feeds deliver a new event.
	deadline := time.Now().Add(recoveryDeadline)
	for {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(cctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client did not recover within %s of the node's return: %v", recoveryDeadline, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := appendOne(t, store, stream, noted{Text: "after the outage"})
	for _, f := range feeds {
		for d := f.next(t); d.CaughtUp || d.Envelope.EventID != after.id; d = f.next(t) {
		}
	}
	for time.Now().Before(deadline) && writesAfterOutage.Load() == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()

	if writesAfterOutage.Load() == 0 {
		t.Error("no request goroutine wrote after the outage")
	}
	if unavail.Load() == 0 {
		t.Error("no call reported the outage as Unavailable")
	}
	if s := time.Duration(slowest.Load()); s > callDeadline+allowedOverrun {
		t.Errorf("the slowest call took %s; calls must end near their deadline (%s) during an outage", s, callDeadline)
	}
	if len(other) > otherErrorsAllowed {
		t.Errorf("%d calls failed with another kind than Unavailable, first: %v (kind %v)", len(other), other[0], failure.KindOf(other[0]))
	}
	t.Logf("calls: %d ok, %d unavailable; slowest %s", okCalls.Load(), unavail.Load(), time.Duration(slowest.Load()))
}
