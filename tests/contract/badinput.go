package contract

import (
	"bytes"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

// maxEventSize is KurrentDB's per-event limit (doc §7.4).
const maxEventSize = 16 << 20

// testBadInput: invalid requests get InvalidArgument and write nothing, and the connection stays usable
// (doc §3.2, §4.2, §7.4).
func testBadInput(t *testing.T, s *suite) {
	c := s.client
	// rejected: InvalidArgument from a strict store, any error from KurrentDB (see Capabilities.StrictInput).
	rejected := func(t *testing.T, err error, what string) {
		t.Helper()
		if s.h.Capabilities.StrictInput {
			requireStatus(t, err, codes.InvalidArgument, what)
		} else if err == nil {
			t.Fatalf("%s: accepted, want an error", what)
		}
	}
	t.Run("empty event type", func(t *testing.T) {
		if !s.h.Capabilities.StrictInput {
			t.Logf("store %q is not strict about input: KurrentDB release builds accept an empty event type (Data/Event.cs only Debug.Asserts it); not checked", s.h.Name)
			return
		}
		stream := newStream("member")
		err := appendErr(t, c, stream, esdb.NoStream{}, jsonEvent(""))
		rejected(t, err, "append an event with an empty type")
		requireNotFound(t, c, stream)
		err = appendErr(t, c, stream, esdb.NoStream{}, jsonEvent("MemberRegistered"), jsonEvent(""))
		rejected(t, err, "append a valid event and one with an empty type")
		requireNotFound(t, c, stream)
	})
	t.Run("empty stream name", func(t *testing.T) {
		ev := jsonEvent("MemberRegistered")
		err := appendErr(t, c, "", esdb.Any{}, ev)
		rejected(t, err, "append to an empty stream name")
		for _, e := range readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100) {
			if e.EventID == ev.EventID {
				t.Errorf("the rejected event is in $all as %q@%d", e.StreamID, e.EventNumber)
			}
		}
	})
	t.Run("event over 16 MiB", func(t *testing.T) {
		stream := newStream("deposit")
		big := esdb.EventData{EventID: uuid.New(), EventType: "DocumentUploaded", ContentType: esdb.ContentTypeBinary,
			Data: bytes.Repeat([]byte{0xab}, maxEventSize+1)}
		err := appendErr(t, c, stream, esdb.NoStream{}, big)
		requireStatus(t, err, codes.InvalidArgument, "append an event of 16 MiB + 1 byte (doc §7.4)")
		requireNotFound(t, c, stream)
		err = appendErr(t, c, stream, esdb.NoStream{}, jsonEvent("DocumentAnnounced"), big)
		requireStatus(t, err, codes.InvalidArgument, "append a small event and one of 16 MiB + 1 byte (doc §7.4)")
		requireNotFound(t, c, stream)
		// The connection is still usable.
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvent("DocumentAnnounced"))
	})
	t.Run("invalid filter regex", func(t *testing.T) {
		for _, ft := range []esdb.FilterType{esdb.EventFilterType, esdb.StreamFilterType} {
			for _, re := range []string{"(unclosed", "[a-"} {
				filter := &esdb.SubscriptionFilter{Type: ft, Regex: re}
				sub, err := c.SubscribeToAll(opCtx(t), esdb.SubscribeToAllOptions{From: esdb.End{}, Filter: filter})
				if err == nil {
					err = watch(t, sub, "subscription with regex "+re).requireDropped(t, opTimeout)
				}
				rejected(t, err, "subscribe to $all with the invalid regex "+re+" (doc §4.2)")
			}
		}
	})
}

// testLargeEvent: an event just under the 16 MiB limit is stored and read back intact (doc §2.5, §7.4).
func testLargeEvent(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("deposit")
	data := bytes.Repeat([]byte("0123456789abcdef"), (15<<20)/16)
	ev := esdb.EventData{EventID: uuid.New(), EventType: "DocumentUploaded", ContentType: esdb.ContentTypeBinary, Data: data}
	wr := appendOK(t, c, stream, esdb.NoStream{}, ev)
	got := readWhole(t, c, stream)
	requireSameEvents(t, got, []esdb.EventData{ev}, "read the 15 MiB event")
	if !bytes.Equal(got[0].Data, data) {
		t.Errorf("15 MiB event read back with %d bytes, differing from the %d written", len(got[0].Data), len(data))
	}
	inAll := readAll(t, c, esdb.ReadAllOptions{From: writePos(wr)}, 1)
	if len(inAll) != 1 || inAll[0].EventID != ev.EventID || len(inAll[0].Data) != len(data) {
		t.Errorf("$all from the 15 MiB event's position: %v", recordedIDs(inAll))
	}
}

// testDiscover: an esdb+discover:// connection string (gossip, doc §2.6) reaches the same store.
func testDiscover(t *testing.T, s *suite) {
	conn := s.store.ConnString
	if rest, ok := strings.CutPrefix(conn, "esdb://"); ok {
		conn = "esdb+discover://" + rest
	}
	if !strings.HasPrefix(conn, "esdb+discover://") {
		t.Fatalf("cannot derive a discover connection string from %q", s.store.ConnString)
	}
	dc := newClient(t, conn)
	stream := newStream("member")
	ev := jsonEvent("MemberRegistered")
	if wr := appendOK(t, dc, stream, esdb.NoStream{}, ev); wr.NextExpectedVersion != 0 {
		t.Errorf("append through %s: revision %d, want 0", conn, wr.NextExpectedVersion)
	}
	requireSameEvents(t, readWhole(t, s.client, stream), []esdb.EventData{ev}, "read through the plain connection")
	requireSameEvents(t, readWhole(t, dc, stream), []esdb.EventData{ev}, "read through the discover connection")
}
