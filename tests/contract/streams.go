package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// testStreamIDs: Dossier's stream ids ("<category>-<uuid>", dashes inside the uuid) are kept exactly, in stream reads
// and in $all.
func testStreamIDs(t *testing.T, s *suite) {
	c := s.client
	ids := []string{
		"member-" + uuid.NewString(),
		"servicerequest-" + uuid.NewString(),
		"deposit-" + uuid.NewString() + "-" + uuid.NewString(),
	}
	for _, id := range ids {
		ev := jsonEvent("MemberRegistered")
		wr := appendOK(t, c, id, esdb.NoStream{}, ev)
		if wr.NextExpectedVersion != 0 {
			t.Errorf("append first event to %s: revision %d, want 0 (doc §7.1)", id, wr.NextExpectedVersion)
		}
		got := readWhole(t, c, id)
		requireSameEvents(t, got, []esdb.EventData{ev}, "read "+id)
		if got[0].StreamID != id {
			t.Errorf("read %s: stream id %q", id, got[0].StreamID)
		}
		all := readAll(t, c, esdb.ReadAllOptions{From: writePos(wr)}, 1)
		if len(all) != 1 || all[0].StreamID != id || all[0].EventID != ev.EventID {
			t.Errorf("read $all from %s count 1: got %v, want the event of %s (inclusive forward read, doc §3.3)",
				pos(writePos(wr)), recordedIDs(all), id)
		}
	}
}

// testRevisions: revisions start at 0 and are dense; every field the client reads comes back as written.
func testRevisions(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")
	first := []esdb.EventData{jsonEvent("MemberRegistered"), binaryEvent("DocumentScanned"), jsonEvent("MemberEmailChanged")}
	before := time.Now()
	wr1 := appendOK(t, c, stream, esdb.NoStream{}, first...)
	if wr1.NextExpectedVersion != 2 {
		t.Errorf("append 3 events to a new stream: NextExpectedVersion %d, want 2 (revision of the last event, doc §3.2)", wr1.NextExpectedVersion)
	}
	checkEventPosition(t, writePos(wr1), "append result")
	second := jsonEvents(2, "MemberAddressChanged")
	wr2 := appendOK(t, c, stream, esdb.Revision(2), second...)
	if wr2.NextExpectedVersion != 4 {
		t.Errorf("append 2 events at revision 2: NextExpectedVersion %d, want 4", wr2.NextExpectedVersion)
	}
	checkEventPosition(t, writePos(wr2), "append result")
	if !posLess(writePos(wr1), writePos(wr2)) {
		t.Errorf("second append at %s does not follow the first at %s", pos(writePos(wr2)), pos(writePos(wr1)))
	}
	after := time.Now()

	want := append(append([]esdb.EventData{}, first...), second...)
	got := readWhole(t, c, stream)
	requireSameEvents(t, got, want, "read "+stream)
	requireRevisions(t, got, seq(0, 4), "read "+stream)
	for i, e := range got {
		w := want[i]
		what := fmt.Sprintf("event %d", i)
		if e.StreamID != stream {
			t.Errorf("%s: stream %q, want %q", what, e.StreamID, stream)
		}
		if e.EventType != w.EventType || e.SystemMetadata["type"] != w.EventType {
			t.Errorf("%s: type %q (system metadata %q), want %q", what, e.EventType, e.SystemMetadata["type"], w.EventType)
		}
		wantCT := "application/json"
		if w.ContentType == esdb.ContentTypeBinary {
			wantCT = "application/octet-stream"
		}
		if e.ContentType != wantCT {
			t.Errorf("%s: content type %q, want %q (doc §3.2)", what, e.ContentType, wantCT)
		}
		if !bytes.Equal(e.Data, w.Data) {
			t.Errorf("%s: data %q, want %q", what, e.Data, w.Data)
		}
		if !bytes.Equal(e.UserMetadata, w.Metadata) {
			t.Errorf("%s: user metadata %q, want %q", what, e.UserMetadata, w.Metadata)
		}
		// "created" is the server's clock; allow for a remote server's skew.
		if e.CreatedDate.Before(before.Add(-2*time.Minute)) || e.CreatedDate.After(after.Add(2*time.Minute)) {
			t.Errorf("%s: created %s, want between %s and %s", what, e.CreatedDate, before, after)
		}
		checkEventPosition(t, e.Position, what)
		if i > 0 && !posLess(got[i-1].Position, e.Position) {
			t.Errorf("%s: position %s does not follow %s", what, pos(e.Position), pos(got[i-1].Position))
		}
	}
	// The append result is the position of the last record of the write (doc §7.3).
	if got[2].Position != writePos(wr1) {
		t.Errorf("first append reported %s, its last event is at %s (doc §7.3)", pos(writePos(wr1)), pos(got[2].Position))
	}
	if got[4].Position != writePos(wr2) {
		t.Errorf("second append reported %s, its last event is at %s (doc §7.3)", pos(writePos(wr2)), pos(got[4].Position))
	}
}

// testExpectedRevision covers every expected-revision form, success and failure (doc §7.1, §3.2).
func testExpectedRevision(t *testing.T, s *suite) {
	c := s.client
	t.Run("any", func(t *testing.T) {
		stream := newStream("member")
		if wr := appendOK(t, c, stream, esdb.Any{}, jsonEvent("A")); wr.NextExpectedVersion != 0 {
			t.Errorf("Any on a new stream: revision %d, want 0", wr.NextExpectedVersion)
		}
		if wr := appendOK(t, c, stream, esdb.Any{}, jsonEvent("B")); wr.NextExpectedVersion != 1 {
			t.Errorf("Any on an existing stream: revision %d, want 1", wr.NextExpectedVersion)
		}
		requireRevisions(t, readWhole(t, c, stream), seq(0, 1), "read")
	})
	t.Run("no stream", func(t *testing.T) {
		stream := newStream("member")
		if wr := appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(2, "A")...); wr.NextExpectedVersion != 1 {
			t.Errorf("NoStream on a new stream: revision %d, want 1", wr.NextExpectedVersion)
		}
		err := appendErr(t, c, stream, esdb.NoStream{}, jsonEvent("B"))
		requireWrongExpectedVersion(t, err, "no_stream", "1")
		requireRevisions(t, readWhole(t, c, stream), seq(0, 1), "read after the rejected append")
	})
	t.Run("stream exists", func(t *testing.T) {
		stream := newStream("member")
		err := appendErr(t, c, stream, esdb.StreamExists{}, jsonEvent("A"))
		requireWrongExpectedVersion(t, err, "stream_exists", "no_stream")
		requireNotFound(t, c, stream)
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvent("A"))
		if wr := appendOK(t, c, stream, esdb.StreamExists{}, jsonEvent("B")); wr.NextExpectedVersion != 1 {
			t.Errorf("StreamExists on an existing stream: revision %d, want 1", wr.NextExpectedVersion)
		}
		requireRevisions(t, readWhole(t, c, stream), seq(0, 1), "read")
	})
	t.Run("exact revision", func(t *testing.T) {
		stream := newStream("member")
		err := appendErr(t, c, stream, esdb.Revision(0), jsonEvent("A"))
		requireWrongExpectedVersion(t, err, "0", "no_stream")
		requireNotFound(t, c, stream)
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(2, "A")...)
		if wr := appendOK(t, c, stream, esdb.Revision(1), jsonEvent("B")); wr.NextExpectedVersion != 2 {
			t.Errorf("Revision(1) on a stream at 1: revision %d, want 2", wr.NextExpectedVersion)
		}
		err = appendErr(t, c, stream, esdb.Revision(1), jsonEvent("C")) // stale: new ids, so not idempotent
		requireWrongExpectedVersion(t, err, "1", "2")
		err = appendErr(t, c, stream, esdb.Revision(7), jsonEvent("C"))
		requireWrongExpectedVersion(t, err, "7", "2")
		requireRevisions(t, readWhole(t, c, stream), seq(0, 2), "read after the rejected appends")
	})
	t.Run("empty append checks only", func(t *testing.T) {
		// An append of no events is a pure expected-version check (doc §7.1).
		stream := newStream("member")
		if _, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}); err != nil {
			t.Fatalf("empty append with NoStream to a new stream: %v", err)
		}
		requireNotFound(t, c, stream)
		requireWrongExpectedVersion(t, appendErr(t, c, stream, esdb.StreamExists{}), "stream_exists", "no_stream")
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvent("A"))
		if wr := appendOK(t, c, stream, esdb.Revision(0)); wr.NextExpectedVersion != 0 {
			t.Errorf("empty append with Revision(0) to a stream at 0: revision %d, want 0", wr.NextExpectedVersion)
		}
		requireWrongExpectedVersion(t, appendErr(t, c, stream, esdb.Revision(3)), "3", "0")
		requireWrongExpectedVersion(t, appendErr(t, c, stream, esdb.NoStream{}), "no_stream", "0")
		requireRevisions(t, readWhole(t, c, stream), seq(0, 0), "read")
	})
}

// testConcurrentAppenders: of several appenders racing on the same expected revision exactly one wins.
func testConcurrentAppenders(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("servicerequest")
	appendOK(t, c, stream, esdb.NoStream{}, jsonEvent("ServiceRequestSubmitted"))

	const n = 8
	start := make(chan struct{})
	type result struct {
		ev  esdb.EventData
		wr  *esdb.WriteResult
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		results[i].ev = jsonEvent("ServiceRequestAssigned")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i].wr, results[i].err = c.AppendToStream(opCtx(t), stream,
				esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, results[i].ev)
		}()
	}
	close(start)
	wg.Wait()

	var winner *result
	for i := range results {
		r := &results[i]
		if r.err == nil {
			if winner != nil {
				t.Fatalf("two appenders with Revision(0) both succeeded (revisions %d and %d)", winner.wr.NextExpectedVersion, r.wr.NextExpectedVersion)
			}
			winner = r
			continue
		}
		requireWrongExpectedVersion(t, r.err, "0", "1")
	}
	if winner == nil {
		t.Fatalf("no appender with Revision(0) succeeded")
	}
	if winner.wr.NextExpectedVersion != 1 {
		t.Errorf("winner: revision %d, want 1", winner.wr.NextExpectedVersion)
	}
	got := readWhole(t, c, stream)
	requireRevisions(t, got, seq(0, 1), "read")
	if got[1].EventID != winner.ev.EventID {
		t.Errorf("revision 1 holds %s, want the winner's event %s", got[1].EventID, winner.ev.EventID)
	}
}

// testOptimisticRetryLoop: writers that read the last revision, append with it and retry on wrong-expected-version
// lose no update and never write twice.
func testOptimisticRetryLoop(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")
	const writers, perWriter = 4, 5
	var mu sync.Mutex
	written := map[uuid.UUID]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				ev := jsonEvent(fmt.Sprintf("Counted%d", w))
				for attempt := 0; ; attempt++ {
					if attempt > 100 {
						errs <- fmt.Errorf("writer %d, update %d: still conflicting after 100 attempts", w, i)
						return
					}
					var exp esdb.ExpectedRevision = esdb.NoStream{}
					last, err := readStream(t, c, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
					if code, _ := esdbCode(err); err != nil && code != esdb.ErrorCodeResourceNotFound {
						errs <- fmt.Errorf("writer %d: read: %w", w, err)
						return
					}
					if len(last) == 1 {
						exp = esdb.Revision(last[0].EventNumber)
					}
					_, err = c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, ev)
					if code, _ := esdbCode(err); err != nil && code == esdb.ErrorCodeWrongExpectedVersion {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d: append: %w", w, err)
						return
					}
					mu.Lock()
					written[ev.EventID] = true
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readWhole(t, c, stream)
	requireRevisions(t, got, seq(0, writers*perWriter-1), "read")
	seen := map[uuid.UUID]bool{}
	for _, e := range got {
		if !written[e.EventID] || seen[e.EventID] {
			t.Errorf("event %s at %d: acknowledged %v, seen before %v", e.EventID, e.EventNumber, written[e.EventID], seen[e.EventID])
		}
		seen[e.EventID] = true
	}
}

// testNotFoundVersusEnd: a stream that does not exist reads as ResourceNotFound; an existing stream read past its
// end gives no events and no error (doc §3.3).
func testNotFoundVersusEnd(t *testing.T, s *suite) {
	c := s.client
	missing := newStream("member")
	rs, err := c.ReadStream(opCtx(t), missing, esdb.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatalf("read %s: %v", missing, err)
	}
	_, err = rs.Recv()
	requireCode(t, err, esdb.ErrorCodeResourceNotFound, "first Recv on a missing stream")
	if _, err = rs.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("second Recv on a missing stream: %v, want io.EOF (doc Appendix A)", err)
	}
	rs.Close()
	_, err = readStream(t, c, missing, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 10)
	requireCode(t, err, esdb.ErrorCodeResourceNotFound, "backward read of a missing stream")

	stream := newStream("member")
	appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(2, "A")...)
	for _, from := range []esdb.StreamPosition{esdb.Revision(2), esdb.Revision(100), esdb.End{}} {
		evs, err := readStream(t, c, stream, esdb.ReadStreamOptions{From: from}, 10)
		if err != nil || len(evs) != 0 {
			t.Errorf("forward read of a 2-event stream from %#v: %d event(s), error %v; want none and io.EOF (doc §3.3)", from, len(evs), err)
		}
	}
}

// testIdempotentAppend: re-appending the same event ids to a stream writes nothing and reports the original result;
// the same ids in another stream are new events (doc §7.2).
func testIdempotentAppend(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")
	evs := jsonEvents(3, "MemberRegistered")
	wr := appendOK(t, c, stream, esdb.NoStream{}, evs...)
	if wr.NextExpectedVersion != 2 {
		t.Fatalf("first append: revision %d, want 2", wr.NextExpectedVersion)
	}
	check := func(what string, exp esdb.ExpectedRevision, batch []esdb.EventData, wantRev uint64, samePosition bool) {
		t.Helper()
		again := appendOK(t, c, stream, exp, batch...)
		if again.NextExpectedVersion != wantRev {
			t.Errorf("%s: revision %d, want %d (the original result, doc §7.2)", what, again.NextExpectedVersion, wantRev)
		}
		if samePosition && writePos(again) != writePos(wr) {
			t.Errorf("%s: position %s, want the original %s (doc §7.2)", what, pos(writePos(again)), pos(writePos(wr)))
		}
	}
	check("same ids again with NoStream", esdb.NoStream{}, evs, 2, true)
	check("same ids again with Any", esdb.Any{}, evs, 2, false)
	check("same ids again with StreamExists", esdb.StreamExists{}, evs, 2, false)
	check("the last two ids again with Revision(0)", esdb.Revision(0), evs[1:], 2, true)
	requireSameEvents(t, readWhole(t, c, stream), evs, "read after idempotent re-appends")

	next := jsonEvent("MemberEmailChanged")
	appendOK(t, c, stream, esdb.Revision(2), next)
	check("first batch again with NoStream after a later append", esdb.NoStream{}, evs, 2, true)

	// Only a prefix of the ids matches: not idempotent, and not a new write either (doc §7.2).
	mixed := []esdb.EventData{evs[0], evs[1], jsonEvent("MemberRegistered")}
	requireCode(t, appendErr(t, c, stream, esdb.NoStream{}, mixed...), esdb.ErrorCodeWrongExpectedVersion, "re-append of a partly new batch with NoStream")

	all := append(append([]esdb.EventData{}, evs...), next)
	requireSameEvents(t, readWhole(t, c, stream), all, "read after all re-appends")

	// Idempotency is per stream: the same ids in another stream are written (doc §7.2).
	other := newStream("member")
	owr := appendOK(t, c, other, esdb.NoStream{}, evs...)
	if owr.NextExpectedVersion != 2 {
		t.Errorf("same ids in another stream: revision %d, want 2", owr.NextExpectedVersion)
	}
	requireSameEvents(t, readWhole(t, c, other), evs, "read the other stream")

	// $all holds each write once.
	inAll := only(readAll(t, c, esdb.ReadAllOptions{From: firstPosition(t, c, stream)}, math.MaxUint64), stream, other)
	if len(inAll) != len(all)+len(evs) {
		t.Errorf("$all holds %d events of the two streams %v, want %d", len(inAll), recordedIDs(inAll), len(all)+len(evs))
	}
}

// firstPosition is the $all position of a stream's first event.
func firstPosition(t testing.TB, c *esdb.Client, stream string) esdb.Position {
	t.Helper()
	evs := mustReadStream(t, c, stream, esdb.ReadStreamOptions{}, 1)
	if len(evs) != 1 {
		t.Fatalf("read first event of %s: got %d", stream, len(evs))
	}
	return evs[0].Position
}

// testStreamReads: directions, start points and counts (doc §3.3).
func testStreamReads(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")
	appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(10, "MemberUpdated")...)
	cases := []struct {
		name  string
		opts  esdb.ReadStreamOptions
		count uint64
		want  []uint64
	}{
		{"forwards from start", esdb.ReadStreamOptions{}, 100, seq(0, 9)},
		{"forwards from start, max count 3", esdb.ReadStreamOptions{From: esdb.Start{}}, 3, seq(0, 2)},
		{"forwards from revision 4, max count 3", esdb.ReadStreamOptions{From: esdb.Revision(4)}, 3, seq(4, 6)},
		{"forwards from revision 8", esdb.ReadStreamOptions{From: esdb.Revision(8)}, 100, seq(8, 9)},
		{"forwards from end", esdb.ReadStreamOptions{From: esdb.End{}}, 100, nil},
		{"backwards from end", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100, seq(9, 0)},
		{"backwards from end, max count 2", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2, seq(9, 8)},
		{"backwards from revision 5, max count 3", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(5)}, 3, seq(5, 3)},
		{"backwards from revision 50", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(50)}, 100, seq(9, 0)},
		{"backwards from start", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Start{}}, 100, seq(0, 0)},
	}
	for _, tc := range cases {
		got := mustReadStream(t, c, stream, tc.opts, tc.count)
		if fmt.Sprint(revisions(got)) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: revisions %v, want %v", tc.name, revisions(got), tc.want)
		}
	}
}
