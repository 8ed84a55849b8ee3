package kurrentdb

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// TestDeadlineOnAReachableNodeIsUnavailable: a store call whose context ends while the node is reachable but slow
// is a dependency out of time (failure.Unavailable: 503 with Retry-After), never Internal (500). Two ways: calls
// with deadlines so short that they end at every stage of the gRPC call against a real node, and calls through a
// relay that holds every byte from the node for a while (a slow node).
func TestDeadlineOnAReachableNodeIsUnavailable(t *testing.T) {
	store, _, _ := memoryStore(t)
	stream := newStream()
	appendOne(t, store, stream, opened{Queue: "q"})
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		if k := failure.KindOf(err); k != failure.Unavailable {
			t.Errorf("%s: %v is %s, want unavailable", what, err, k)
		}
	}
	ended := 0
	for i := range 300 {
		d := time.Duration(i%30) * 50 * time.Microsecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := store.Load(ctx, stream)
		check("Load", err)
		_, err = store.Update(ctx, newStream(), event.Command{Metadata: testMeta(uuid.New())}, emit(noted{Text: "x"}))
		check("Update", err)
		if err != nil {
			ended++
		}
		cancel()
	}
	if ended == 0 {
		t.Fatal("no call ended by its deadline: the test proves nothing")
	}

	// A caller that leaves (its context cancelled mid-call) is told so: errors.Is(err, context.Canceled), which the
	// HTTP layer logs as an abandoned request rather than a failure.
	for i := range 100 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i%20)*50*time.Microsecond, cancel)
		if _, err := store.Load(ctx, stream); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Load cancelled by its caller: %v does not say context.Canceled", err)
		}
		cancel()
	}

	// A slow node: every answer held 300 ms by a relay; calls with a 100 ms deadline.
	node := startNode(t, kurrentnode.Options{InMemory: true})
	slow := startSlowRelay(t, node.Addr(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := Connect(ctx, "esdb://"+slow.addr+"?tls=false", WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	s := NewStore(client, testCodec(t))
	stream = newStream()
	appendOne(t, s, stream, opened{Queue: "q"})
	slow.setDelay(300 * time.Millisecond)
	for range 5 {
		cctx, ccancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := s.Load(cctx, stream)
		ccancel()
		if err == nil {
			t.Fatal("Load answered within 100 ms through a relay holding every answer 300 ms")
		}
		check("Load through a slow relay", err)
	}
}

// slowRelay forwards TCP to the node, holding each chunk from the node for its delay.
type slowRelay struct {
	addr  string
	mu    sync.Mutex
	delay time.Duration
}

func (r *slowRelay) setDelay(d time.Duration) { r.mu.Lock(); r.delay = d; r.mu.Unlock() }
func (r *slowRelay) hold() {
	r.mu.Lock()
	d := r.delay
	r.mu.Unlock()
	time.Sleep(d)
}

func startSlowRelay(t *testing.T, to string, delay time.Duration) *slowRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &slowRelay{addr: ln.Addr().String(), delay: delay}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() {
				defer in.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := out.Read(buf)
					if n > 0 {
						r.hold()
						if _, werr := in.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return r
}
