package kurrentdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

// TestReadAllPagesWithoutGapsOrRepeats: ReadAll delivers every event of $all except the store's own, once, in order,
// forwards from an inclusive position or backwards before an exclusive one, whatever the page size (a page boundary
// on the store's own metadata events included), and stops at ErrStopReading. The reference is the official client's
// own whole read.
func TestReadAllPagesWithoutGapsOrRepeats(t *testing.T) {
	e := kurrentdbtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	es := e.Client.ESDB()
	for i := range 12 {
		stream := fmt.Sprintf("sample-%d", i%3)
		if _, err := es.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, esdb.EventData{
			EventID: uuid.New(), EventType: "Sampled", ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 { // a $metadata event of the store between ours
			if _, err := es.SetStreamMetadata(ctx, stream, esdb.AppendToStreamOptions{}, esdb.StreamMetadata{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []uuid.UUID
	var positions []uint64
	for _, re := range e.AllRecords(t) {
		want = append(want, re.EventID)
		positions = append(positions, re.Position.Commit)
	}
	if len(want) != 12 {
		t.Fatalf("reference read: %d events, want 12", len(want))
	}
	read := func(backwards bool, from, page uint64, stopAfter int) []uuid.UUID {
		t.Helper()
		var got []uuid.UUID
		err := e.Client.ReadAll(ctx, "test", backwards, from, page, func(r event.Record) error {
			got = append(got, r.EventID)
			if len(got) == stopAfter {
				return kurrentdb.ErrStopReading
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ReadAll(backwards %v, from %d, page %d): %v", backwards, from, page, err)
		}
		return got
	}
	reversed := func(ids []uuid.UUID) []uuid.UUID { r := slices.Clone(ids); slices.Reverse(r); return r }
	for _, page := range []uint64{1, 2, 3, 5, 4096} {
		if got := read(false, 0, page, -1); !slices.Equal(got, want) {
			t.Errorf("forwards, page %d: %v, want %v", page, got, want)
		}
		if got := read(true, 0, page, -1); !slices.Equal(got, reversed(want)) {
			t.Errorf("backwards, page %d: %v, want %v", page, got, reversed(want))
		}
		if got := read(false, positions[5], page, -1); !slices.Equal(got, want[5:]) {
			t.Errorf("forwards from the 6th event, page %d: %v, want %v", page, got, want[5:])
		}
		if got := read(true, positions[5], page, -1); !slices.Equal(got, reversed(want[:5])) {
			t.Errorf("backwards before the 6th event, page %d: %v, want %v", page, got, reversed(want[:5]))
		}
		if got := read(false, 0, page, 4); !slices.Equal(got, want[:4]) {
			t.Errorf("stopped after 4, page %d: %v", page, got)
		}
	}
	boom := errors.New("boom")
	if err := e.Client.ReadAll(ctx, "test", false, 0, 2, func(event.Record) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a callback's error: %v", err)
	}
}
