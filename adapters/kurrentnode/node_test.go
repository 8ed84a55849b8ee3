package kurrentnode

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

func startNode(t *testing.T, opts Options) (*Node, *esdb.Client) {
	t.Helper()
	n, err := Start(opts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	cfg, err := esdb.ParseConnectionString(n.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		n.Close()
	})
	return n, c
}

func readAllEvents(t *testing.T, c *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, ^uint64(0))
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("recv %s: %v", stream, err)
		}
		out = append(out, ev.Event)
	}
}

func event(typ, data string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(data)}
}

func TestAppendReadRoundTripInBothModes(t *testing.T) {
	for _, mode := range []string{"memory", "disk"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{InMemory: mode == "memory"}
			if mode == "disk" {
				opts.Dir = t.TempDir()
			}
			_, c := startNode(t, opts)
			ctx := context.Background()
			stream := "member-" + uuid.NewString()
			wr, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}},
				event("MemberRegistered", `{"a":1}`), event("EmailChanged", `{"b":2}`))
			if err != nil {
				t.Fatal(err)
			}
			if wr.NextExpectedVersion != 1 || wr.CommitPosition == 0 || wr.CommitPosition != wr.PreparePosition {
				t.Fatalf("write result = %+v, want revision 1 and a non-zero commit==prepare position", wr)
			}
			evs := readAllEvents(t, c, stream)
			if len(evs) != 2 || evs[0].EventType != "MemberRegistered" || string(evs[1].Data) != `{"b":2}` ||
				evs[0].EventNumber != 0 || evs[1].EventNumber != 1 || evs[1].Position.Commit != wr.CommitPosition {
				t.Fatalf("read back %+v", evs)
			}
			if time.Since(evs[0].CreatedDate) > time.Minute || evs[0].StreamID != stream {
				t.Fatalf("created %v stream %q", evs[0].CreatedDate, evs[0].StreamID)
			}
		})
	}
}

// appendN appends n single-event appends to stream through the client and returns the ids written.
func appendN(t *testing.T, c *esdb.Client, stream string, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for i := 0; i < n; i++ {
		e := event("Counted", `{}`)
		if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.EventID)
	}
	return ids
}

func TestRestartKeepsEveryEventAndCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	stream := "servicerequest-" + uuid.NewString()
	n, c := startNode(t, Options{Dir: dir})
	ids := appendN(t, c, stream, 5)
	c.Close()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write leaves part of a record at the end of the log (and, being a crash, no
	// clean-stop mark).
	os.Remove(filepath.Join(dir, cleanFileName))
	path := filepath.Join(dir, firstSegment)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := record{Stream: stream, Type: "Torn", Revision: 5, ID: uuid.New(), Commit: true, Data: []byte(`{"x":1}`)}
	torn := appendRecord(nil, &rec)
	if err := os.WriteFile(path, append(full, torn[:len(torn)-3]...), 0o600); err != nil {
		t.Fatal(err)
	}

	_, c2 := startNode(t, Options{Dir: dir})
	evs := readAllEvents(t, c2, stream)
	if len(evs) != len(ids) {
		t.Fatalf("after restart %d events, want %d", len(evs), len(ids))
	}
	for i, e := range evs {
		if e.EventID != ids[i] || e.EventNumber != uint64(i) {
			t.Fatalf("event %d = %v rev %d, want %v", i, e.EventID, e.EventNumber, ids[i])
		}
	}
	st, _ := os.Stat(path)
	if st.Size() != int64(len(full)) {
		t.Fatalf("log size %d after recovery, want the torn tail cut back to %d", st.Size(), len(full))
	}
	// The node keeps writing after the cut.
	more := appendN(t, c2, stream, 1)
	if evs := readAllEvents(t, c2, stream); len(evs) != 6 || evs[5].EventID != more[0] || evs[5].EventNumber != 5 {
		t.Fatalf("append after recovery: %d events", len(evs))
	}
}

func TestRecoveryDropsAPartialMultiEventAppend(t *testing.T) {
	dir := t.TempDir()
	stream := "member-" + uuid.NewString()
	n, c := startNode(t, Options{Dir: dir})
	appendN(t, c, stream, 1)
	c.Close()
	n.Close()
	os.Remove(filepath.Join(dir, cleanFileName)) // a crash leaves no clean-stop mark
	path := filepath.Join(dir, firstSegment)
	full, _ := os.ReadFile(path)
	// Two whole records of a three-event append: without its commit record the append never happened.
	var buf []byte
	for i := 0; i < 2; i++ {
		buf = appendRecord(buf, &record{Stream: stream, Type: "Half", Revision: uint64(1 + i), ID: uuid.New()})
	}
	os.WriteFile(path, append(full, buf...), 0o600)
	_, c2 := startNode(t, Options{Dir: dir})
	if evs := readAllEvents(t, c2, stream); len(evs) != 1 {
		t.Fatalf("%d events after recovery, want 1 (the partial append must vanish)", len(evs))
	}
}

func TestRecoveryRefusesDamageBeyondATornTail(t *testing.T) {
	dir := t.TempDir()
	n, c := startNode(t, Options{Dir: dir})
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = 'a'
	}
	stream := "blob-" + uuid.NewString()
	for i := 0; i < 3; i++ {
		if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{},
			esdb.EventData{EventType: "Big", ContentType: esdb.ContentTypeBinary, Data: big}); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	n.Close()
	path := filepath.Join(dir, firstSegment)
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	// Flip a byte in the first record: everything after it would be lost by a blind truncation.
	f.WriteAt([]byte{0xff, 0xff}, int64(segHeaderSize)+20)
	f.Close()
	if st, err := openStore(dir, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err == nil {
		st.close()
		t.Fatal("store opened a log damaged far before its end")
	}
}

func TestDataDirIsLockedAgainstASecondNode(t *testing.T) {
	dir := t.TempDir()
	startNode(t, Options{Dir: dir})
	if n2, err := Start(Options{Dir: dir}); err == nil {
		n2.Close()
		t.Fatal("a second node opened a data directory in use")
	}
}
