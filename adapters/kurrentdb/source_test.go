package kurrentdb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
)

// feed runs source.Run in the background and exposes what it delivers.
type feed struct {
	deliveries chan event.Delivery
	done       chan error
	cancel     context.CancelFunc
	once       sync.Once
	err        error // what Run returned, once stopped
}

func startFeed(t *testing.T, source *Source, after uint64) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &feed{deliveries: make(chan event.Delivery, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		f.done <- source.Run(ctx, after, func(_ context.Context, d event.Delivery) error {
			f.deliveries <- d
			return nil
		})
	}()
	t.Cleanup(func() { f.stop(t) })
	return f
}

// stop cancels Run and returns what it returned.
func (f *feed) stop(t *testing.T) error {
	f.once.Do(func() {
		f.cancel()
		select {
		case f.err = <-f.done:
			if !errors.Is(f.err, context.Canceled) {
				t.Errorf("Run ended with %v, want context.Canceled", f.err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not end after its context was cancelled")
		}
	})
	return f.err
}

// next waits for the next delivery.
func (f *feed) next(t *testing.T) event.Delivery {
	t.Helper()
	select {
	case d := <-f.deliveries:
		return d
	case err := <-f.done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery within 15 s")
	}
	return event.Delivery{}
}

// records collects n records, skipping caught-up notices, and reports whether one came.
func (f *feed) records(t *testing.T, n int) (recs []event.Delivery, caughtUp bool) {
	t.Helper()
	for len(recs) < n {
		d := f.next(t)
		if d.CaughtUp {
			caughtUp = true
			continue
		}
		recs = append(recs, d)
	}
	return recs, caughtUp
}

// untilCaughtUp collects records up to the next caught-up notice.
func (f *feed) untilCaughtUp(t *testing.T) []event.Delivery {
	t.Helper()
	var recs []event.Delivery
	for {
		d := f.next(t)
		if d.CaughtUp {
			return recs
		}
		recs = append(recs, d)
	}
}

type appended struct {
	stream event.StreamID
	id     uuid.UUID
}

func appendOne(t *testing.T, store *Store, stream event.StreamID, v any) appended {
	t.Helper()
	meta := testMeta(uuid.New())
	if _, err := store.Update(ctxT(t), stream, event.Command{Metadata: meta}, emit(v)); err != nil {
		t.Fatal(err)
	}
	return appended{stream, event.DeriveID(meta.CommandID, 0)}
}

// checkOrder asserts that recs are exactly want, in order, with strictly increasing positions, decoded.
func checkOrder(t *testing.T, recs []event.Delivery, want []appended) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, d := range recs {
		if d.Err != nil {
			t.Fatalf("record %d: %v", i, d.Err)
		}
		if d.Envelope.Stream != want[i].stream || d.Envelope.EventID != want[i].id || d.Record.EventID != want[i].id {
			t.Fatalf("record %d = %s %s, want %s %s", i, d.Envelope.Stream, d.Envelope.EventID, want[i].stream, want[i].id)
		}
		if d.Record.Position == 0 || d.Envelope.Position != d.Record.Position || (i > 0 && d.Record.Position <= recs[i-1].Record.Position) {
			t.Fatalf("record %d position %d after %d", i, d.Record.Position, recs[max(i-1, 0)].Record.Position)
		}
	}
}

func TestSourceOrderAcrossStreamsWithoutSystemEvents(t *testing.T) {
	store, source, client := memoryStore(t)
	ctx := ctxT(t)
	streams := []event.StreamID{newStream(), newStream(), newStream()}
	var want []appended
	for round := range 2 {
		for i, s := range streams {
			want = append(want, appendOne(t, store, s, noted{Text: "r"}))
			if round == 0 && i == 1 {
				// System events in between: stream metadata ($metadata in $$stream) and a $-typed event.
				if _, err := client.ESDB().SetStreamMetadata(ctx, s.String(), esdb.AppendToStreamOptions{}, esdb.StreamMetadata{}); err != nil {
					t.Fatal(err)
				}
				sys := esdb.EventData{EventID: uuid.New(), EventType: "$system-like", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}
				if _, err := client.ESDB().AppendToStream(ctx, s.String(), esdb.AppendToStreamOptions{}, sys); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	// Aggregates never see the store's own events, and appending after them still works.
	if h, err := store.Load(ctx, streams[1]); err != nil || len(h) != 2 || h[0].Revision != 0 || h[1].Revision != 2 {
		t.Fatalf("Load around a $ event = %+v, %v", h, err)
	}

	f := startFeed(t, source, 0)
	recs := f.untilCaughtUp(t)
	checkOrder(t, recs, want)
	for i, d := range recs {
		if d.Live {
			t.Errorf("catch-up record %d marked live", i)
		}
	}

	// Live from here on.
	more := appendOne(t, store, streams[2], opened{Queue: "live"})
	d := f.next(t)
	if d.CaughtUp || !d.Live || d.Envelope.EventID != more.id || d.Envelope.Event != (opened{Queue: "live"}) {
		t.Fatalf("live delivery = %+v", d)
	}
	if err := f.stop(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

func TestSourceResumesFromACheckpoint(t *testing.T) {
	store, source, _ := memoryStore(t)
	var want []appended
	for range 6 {
		want = append(want, appendOne(t, store, newStream(), noted{Text: "x"}))
	}
	f := startFeed(t, source, 0)
	all := f.untilCaughtUp(t)
	checkOrder(t, all, want)
	f.stop(t)

	// A consumer that handled three records restarts from the third's position: exactly the rest follows.
	g := startFeed(t, source, all[2].Record.Position)
	checkOrder(t, g.untilCaughtUp(t), want[3:])
}

func TestSourceResubscribesAfterADrop(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, kurrentnode.Options{Dir: dir})
	addr := node.Addr()
	client := connect(t, node)
	codec := testCodec(t)
	store, source := NewStore(client, codec), NewSource(client, codec)
	streams := []event.StreamID{newStream(), newStream()}

	var want []appended
	for i := range 4 {
		want = append(want, appendOne(t, store, streams[i%2], noted{Text: "before"}))
	}
	f := startFeed(t, source, 0)
	checkOrder(t, f.untilCaughtUp(t), want)

	// The node goes down (the subscription drops) and comes back on the same data and address.
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	// Long enough for the official client to give up rediscovery and close itself for good (about a second): the
	// source must survive that too.
	time.Sleep(1500 * time.Millisecond)
	startNode(t, kurrentnode.Options{Dir: dir, Listen: addr})
	for i := range 4 {
		want = append(want, appendOne(t, store, streams[i%2], noted{Text: "after"}))
	}
	recs, _ := f.records(t, 4)
	checkOrder(t, recs, want[4:])

	// Nothing else arrives: no duplicate of an earlier record.
	select {
	case d := <-f.deliveries:
		if !d.CaughtUp {
			t.Fatalf("unexpected extra delivery %+v", d)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

func TestSourceDeliversUndecodableRecordsAndStopsOnHandlerError(t *testing.T) {
	store, source, client := memoryStore(t)
	ctx := ctxT(t)
	good := appendOne(t, store, newStream(), noted{Text: "ok"})
	stream := newStream()
	bad := esdb.EventData{EventID: uuid.New(), EventType: "TestCaseFromTheFuture", ContentType: esdb.ContentTypeJson, Data: []byte(`{"x":1}`)}
	if _, err := client.ESDB().AppendToStream(ctx, stream.String(), esdb.AppendToStreamOptions{}, bad); err != nil {
		t.Fatal(err)
	}
	appendOne(t, store, newStream(), noted{Text: "never reached"})

	var seen []event.Delivery
	errStop := errors.New("cannot project this")
	err := source.Run(ctx, 0, func(_ context.Context, d event.Delivery) error {
		seen = append(seen, d)
		if d.Err != nil {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
	if len(seen) != 2 || seen[0].Envelope.EventID != good.id {
		t.Fatalf("seen = %+v", seen)
	}
	d := seen[1]
	if !errors.Is(d.Err, event.ErrUnknownType) || d.Record.Type != "TestCaseFromTheFuture" || string(d.Record.Data) != `{"x":1}` ||
		d.Record.Stream != stream.String() || d.Record.Position == 0 || d.Envelope.Event != nil {
		t.Fatalf("undecodable delivery = %+v", d)
	}
}
