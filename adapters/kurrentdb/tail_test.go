package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
)

// tailRun runs source.Run in the background and records what it delivers, checking the flags on the way.
type tailRun struct {
	mu       sync.Mutex
	recs     []event.Delivery
	caughtUp int
	notLive  int // records after a CaughtUp without Live set and not followed by another CaughtUp (a fallback's catch-up)
	done     chan error
	cancel   context.CancelFunc
}

func startTailRun(t *testing.T, source *Source, after uint64, before func(event.Delivery) error) *tailRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &tailRun{done: make(chan error, 1), cancel: cancel}
	go func() {
		r.done <- source.Run(ctx, after, func(_ context.Context, d event.Delivery) error {
			if before != nil {
				if err := before(d); err != nil {
					return err
				}
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			switch {
			case d.CaughtUp:
				r.caughtUp++
				r.notLive = 0
			default:
				if r.caughtUp > 0 && !d.Live {
					r.notLive++
				}
				r.recs = append(r.recs, d)
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not end after its context was cancelled")
		}
	})
	return r
}

func (r *tailRun) snapshot() (recs []event.Delivery, caughtUp, notLive int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Delivery(nil), r.recs...), r.caughtUp, r.notLive
}

// end waits for Run to return.
func (r *tailRun) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end")
	}
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logAfter reads $all with ReadAll (the reference) and returns the records after position after.
func logAfter(t *testing.T, c *Client, after uint64) []event.Record {
	t.Helper()
	var out []event.Record
	if err := c.ReadAll(ctxT(t), "test", false, 0, 500, func(r event.Record) error {
		if r.Position > after {
			out = append(out, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsLog asserts that r delivered exactly the log after position after, in order, decoded, then waits a little
// for anything extra.
func sameAsLog(t *testing.T, name string, r *tailRun, c *Client, after uint64) {
	t.Helper()
	want := logAfter(t, c, after)
	waitFor(t, fmt.Sprintf("%s to receive %d records", name, len(want)), func() bool {
		recs, _, _ := r.snapshot()
		return len(recs) >= len(want)
	})
	time.Sleep(100 * time.Millisecond)
	recs, _, notLive := r.snapshot()
	if len(recs) != len(want) {
		for i := range min(len(recs), len(want)) {
			if recs[i].Record.Position != want[i].Position {
				t.Logf("first diff at %d: got %d want %d; prev %d", i, recs[i].Record.Position, want[i].Position, want[max(i-1, 0)].Position)
				break
			}
		}
		t.Fatalf("%s: %d records, want %d", name, len(recs), len(want))
	}
	for i, d := range recs {
		if d.Err != nil || d.Record.Position != want[i].Position || d.Record.EventID != want[i].EventID || d.Envelope.EventID != want[i].EventID {
			t.Fatalf("%s: record %d = %d %s (%v), want %d %s", name, i, d.Record.Position, d.Record.EventID, d.Err, want[i].Position, want[i].EventID)
		}
	}
	if notLive > 0 {
		t.Errorf("%s: %d records after CaughtUp without Live", name, notLive)
	}
}

func appendN(ctx context.Context, store *Store, streams []event.StreamID, n int, text string) error {
	for i := range n {
		meta := testMeta(uuid.New())
		if _, err := store.Update(ctx, streams[i%len(streams)], event.Command{Metadata: meta}, emit(noted{Text: text})); err != nil {
			return err
		}
	}
	return nil
}

// gatheredMetric registers source's metrics on a new registry and returns the value of the one named name.
func gatheredMetric(t *testing.T, source *Source, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := source.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s among %d families", name, len(families))
	return 0
}

func wantStats(t *testing.T, source *Source, subs, followers int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d subscription(s) and %d follower(s)", subs, followers), func() bool {
		st := source.Stats()
		return st.Subscriptions == subs && st.Followers == followers
	})
}

// TestTailRunsReceiveExactlyTheLog: Runs started at different positions (the beginning, records, a system event,
// the head) while records are appended all receive exactly the log after their start, in order, once, Live after
// their one CaughtUp; once all are live the Source holds one subscription, the tail's, and every Run follows it.
func TestTailRunsReceiveExactlyTheLog(t *testing.T) {
	store, source, client := memoryStore(t)
	ctx := ctxT(t)
	streams := []event.StreamID{newStream(), newStream(), newStream()}
	if err := appendN(ctx, store, streams, 12, "before"); err != nil {
		t.Fatal(err)
	}
	sys, err := client.ESDB().SetStreamMetadata(ctx, streams[0].String(), esdb.AppendToStreamOptions{}, esdb.StreamMetadata{})
	if err != nil {
		t.Fatal(err)
	}
	if err := appendN(ctx, store, streams, 8, "before"); err != nil {
		t.Fatal(err)
	}
	base := logAfter(t, client, 0)
	starts := []uint64{0, base[3].Position, sys.CommitPosition, base[15].Position, base[len(base)-1].Position}

	appended := make(chan error, 1)
	go func() { appended <- appendN(ctx, store, streams, 150, "during") }()
	var runs []*tailRun
	for _, at := range starts {
		runs = append(runs, startTailRun(t, source, at, nil))
		time.Sleep(30 * time.Millisecond)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	late := startTailRun(t, source, 0, nil) // the tail runs already
	runs, starts = append(runs, late), append(starts, 0)
	if err := appendN(ctx, store, streams, 20, "after"); err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		sameAsLog(t, fmt.Sprintf("run %d (after %d)", i, starts[i]), r, client, starts[i])
		if _, caughtUp, _ := r.snapshot(); caughtUp != 1 {
			t.Errorf("run %d: %d CaughtUp, want 1", i, caughtUp)
		}
	}
	wantStats(t, source, 1, len(runs))
}

// TestTailSlowFollowerFallsBackAndRejoins: a follower whose handler stalls while more records than the tail keeps
// arrive goes back to its own subscription, loses nothing, and rejoins; the tail does not wait for it.
func TestTailSlowFollowerFallsBackAndRejoins(t *testing.T) {
	c := connect(t, startNode(t, kurrentnode.Options{InMemory: true}))
	codec := testCodec(t)
	store, source := NewStore(c, codec), NewSource(c, codec, WithTail(8))
	ctx := ctxT(t)
	streams := []event.StreamID{newStream(), newStream()}
	if err := appendN(ctx, store, streams, 5, "before"); err != nil {
		t.Fatal(err)
	}
	var stall sync.Mutex
	fast := startTailRun(t, source, 0, nil)
	slow := startTailRun(t, source, 0, func(event.Delivery) error {
		stall.Lock()
		//lint:ignore SA2001 the handler waits here while the test holds stall (a slow follower)
		stall.Unlock()
		return nil
	})
	wantStats(t, source, 1, 2)
	for name, want := range map[string]float64{"dossier_eventstore_subscriptions": 1, "dossier_eventstore_tail_followers": 2,
		"dossier_eventstore_tail_running": 1, "dossier_eventstore_tail_fell_behind_total": 0} {
		if got := gatheredMetric(t, source, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	stall.Lock()
	if err := appendN(ctx, store, streams, 30, "while stalled"); err != nil {
		t.Fatal(err)
	}
	// The tail and the fast follower go on while the slow one waits.
	waitFor(t, "the fast follower", func() bool { recs, _, _ := fast.snapshot(); return len(recs) == 35 })
	stall.Unlock()
	sameAsLog(t, "slow", slow, c, 0)
	if _, caughtUp, _ := slow.snapshot(); caughtUp < 2 {
		t.Errorf("the slow follower caught up %d time(s); it should have gone back to its own subscription", caughtUp)
	}
	wantStats(t, source, 1, 2)
	if n := source.Stats().FellBehind; n < 1 {
		t.Errorf("Stats().FellBehind = %d after the slow follower fell behind, want ≥ 1", n)
	}
	if n := gatheredMetric(t, source, "dossier_eventstore_tail_fell_behind_total"); n < 1 {
		t.Errorf("dossier_eventstore_tail_fell_behind_total = %v, want ≥ 1", n)
	}
	if err := appendN(ctx, store, streams, 5, "after"); err != nil {
		t.Fatal(err)
	}
	sameAsLog(t, "slow", slow, c, 0)
	sameAsLog(t, "fast", fast, c, 0)
}

// TestTailRidesOutANodeOutage: the node goes away long enough for the official client to give up, and comes back;
// the tail resubscribes, its followers resume with nothing lost or repeated, and all follow it again.
func TestTailRidesOutANodeOutage(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, kurrentnode.Options{Dir: dir})
	addr := node.Addr()
	client := connect(t, node)
	codec := testCodec(t)
	store, source := NewStore(client, codec), NewSource(client, codec)
	ctx := ctxT(t)
	streams := []event.StreamID{newStream(), newStream()}
	if err := appendN(ctx, store, streams, 4, "before"); err != nil {
		t.Fatal(err)
	}
	var runs []*tailRun
	for range 3 {
		runs = append(runs, startTailRun(t, source, 0, nil))
	}
	wantStats(t, source, 1, 3)
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	startNode(t, kurrentnode.Options{Dir: dir, Listen: addr})
	if err := appendN(ctx, store, streams, 4, "after"); err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		sameAsLog(t, fmt.Sprint("run ", i), r, client, 0)
	}
	wantStats(t, source, 1, 3)
}

// TestTailFollowersEndAlone: ctx ends one follower, a handler error another, the rest go on; closing the Client
// ends the others with the error Run returns for a closed Client, and no goroutine stays behind.
func TestTailFollowersEndAlone(t *testing.T) {
	baseline := runtime.NumGoroutine()
	node := startNode(t, kurrentnode.Options{InMemory: true})
	client := connect(t, node)
	codec := testCodec(t)
	store, source := NewStore(client, codec), NewSource(client, codec)
	ctx := ctxT(t)
	streams := []event.StreamID{newStream()}
	if err := appendN(ctx, store, streams, 3, "before"); err != nil {
		t.Fatal(err)
	}
	errStop := errors.New("cannot handle this")
	failing := startTailRun(t, source, 0, func(d event.Delivery) error {
		if n, ok := d.Envelope.Event.(noted); ok && n.Text == "fail" {
			return errStop
		}
		return nil
	})
	cancelled := startTailRun(t, source, 0, nil)
	var others []*tailRun
	for range 2 {
		others = append(others, startTailRun(t, source, 0, nil))
	}
	wantStats(t, source, 1, 4)

	cancelled.cancel()
	if err := cancelled.end(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Run returned %v", err)
	}
	if err := appendN(ctx, store, streams, 1, "fail"); err != nil {
		t.Fatal(err)
	}
	if err := failing.end(t); !errors.Is(err, errStop) {
		t.Fatalf("failing Run returned %v", err)
	}
	if err := appendN(ctx, store, streams, 2, "after"); err != nil {
		t.Fatal(err)
	}
	for i, r := range others {
		sameAsLog(t, fmt.Sprint("run ", i), r, client, 0)
	}
	wantStats(t, source, 1, 2)

	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	for i, r := range others {
		if err := r.end(t); !errors.Is(err, errClosed) {
			t.Fatalf("run %d after Close returned %v, want the closed-client error", i, err)
		}
	}
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("goroutines back to %d", baseline), func() bool { return runtime.NumGoroutine() <= baseline })
}

// TestTailJoinsOnlyWhenItCoversTheRun: a Run that is live on its own subscription but behind what the tail still
// holds (its handler stalled on CaughtUp while the tail evicted records it has not seen) stays on its own
// subscription until the tail covers it: nothing skipped.
func TestTailJoinsOnlyWhenItCoversTheRun(t *testing.T) {
	c := connect(t, startNode(t, kurrentnode.Options{InMemory: true}))
	codec := testCodec(t)
	store, source := NewStore(c, codec), NewSource(c, codec, WithTail(4))
	ctx := ctxT(t)
	streams := []event.StreamID{newStream(), newStream()}
	if err := appendN(ctx, store, streams, 5, "before"); err != nil {
		t.Fatal(err)
	}
	first := startTailRun(t, source, 0, nil)
	wantStats(t, source, 1, 1)

	var stall sync.Mutex
	stall.Lock()
	behind := startTailRun(t, source, 0, func(d event.Delivery) error {
		if d.CaughtUp {
			stall.Lock()
			//lint:ignore SA2001 the handler waits here while the test holds stall (a Run left behind the tail)
			stall.Unlock()
		}
		return nil
	})
	waitFor(t, "the second Run to catch up", func() bool { recs, _, _ := behind.snapshot(); return len(recs) == 5 })
	time.Sleep(50 * time.Millisecond) // into its stalled CaughtUp
	if err := appendN(ctx, store, streams, 20, "while stalled"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first Run", func() bool { recs, _, _ := first.snapshot(); return len(recs) == 25 })
	stall.Unlock()
	sameAsLog(t, "behind", behind, c, 0)
	if err := appendN(ctx, store, streams, 3, "after"); err != nil {
		t.Fatal(err)
	}
	sameAsLog(t, "behind", behind, c, 0)
	wantStats(t, source, 1, 2)
}

// TestTailCoverage pins the switch-over rule on a tail built by hand (the node cannot be made to put a Run ahead of
// the tail on demand): a position before start is not covered; one at start, between records (a filtered system
// event) or after the newest record is; a follower that joined ahead of the tail skips what it already handled.
func TestTailCoverage(t *testing.T) {
	s := &Source{tailSize: 4}
	tl := &tail{src: s, ring: make([]tailEntry, 4), start: pos{10, 10}, wake: make(chan struct{}), done: make(chan struct{})}
	s.tail = tl
	rec := func(p uint64) event.Delivery { return event.Delivery{Record: event.Record{Position: p, Prepare: p}} }
	for _, p := range []uint64{20, 30} {
		tl.push(context.Background(), rec(p))
	}
	follow := func(after uint64, more ...uint64) []uint64 {
		t.Helper()
		joined, seq := s.join(esdb.Position{Commit: after, Prepare: after})
		if joined == nil {
			return nil
		}
		for _, p := range more {
			tl.push(context.Background(), rec(p))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var got []uint64
		from := esdb.AllPosition(esdb.Position{Commit: after, Prepare: after})
		err := joined.follow(ctx, &from, seq, func(_ context.Context, d event.Delivery) error {
			if !d.Live && d.Record.Position != 0 {
				t.Errorf("record %d not live", d.Record.Position)
			}
			got = append(got, d.Record.Position)
			if d.Record.Position >= 50 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("follow = %v", err)
		}
		return got
	}
	if got := follow(9); got != nil {
		t.Fatalf("position 9, before the tail's start 10, joined: %v", got)
	}
	if got := fmt.Sprint(follow(10, 40, 50)); got != "[20 30 40 50]" {
		t.Fatalf("from the start: %s", got)
	}
	tl = &tail{src: s, ring: make([]tailEntry, 4), start: pos{10, 10}, wake: make(chan struct{}), done: make(chan struct{})}
	s.tail = tl
	for _, p := range []uint64{20, 30} {
		tl.push(context.Background(), rec(p))
	}
	if got := fmt.Sprint(follow(25, 40, 50)); got != "[30 40 50]" {
		t.Fatalf("from between two records: %s", got)
	}
	tl = &tail{src: s, ring: make([]tailEntry, 4), start: pos{10, 10}, wake: make(chan struct{}), done: make(chan struct{})}
	s.tail = tl
	for _, p := range []uint64{20, 30} {
		tl.push(context.Background(), rec(p))
	}
	if got := fmt.Sprint(follow(40, 40, 50)); got != "[50]" {
		t.Fatalf("ahead of the tail: %s", got)
	}
	// Full ring: start moves to the last evicted record.
	for _, p := range []uint64{60, 70, 80} {
		tl.push(context.Background(), rec(p))
	}
	if tl.start != (pos{40, 40}) {
		t.Fatalf("start after evictions = %v, want 40", tl.start)
	}
	if joined, _ := s.join(esdb.Position{Commit: 35, Prepare: 35}); joined != nil {
		t.Fatal("position 35 joined after 40 was evicted")
	}
	if joined, seq := s.join(esdb.Position{Commit: 40, Prepare: 40}); joined == nil || seq != 3 {
		t.Fatalf("position 40 (the last evicted) joined at %d, want 3 (record 50)", seq)
	}
}
