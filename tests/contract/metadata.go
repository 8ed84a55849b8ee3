package contract

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
)

// tombstoneTB is the "$tb" a soft delete writes, and the revision of a tombstone record (doc §7.6).
const tombstoneTB = math.MaxInt64

// readMetastream returns the raw events of "$$<stream>" read forwards from the start.
func readMetastream(t testing.TB, c *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	return mustReadStream(t, c, "$$"+stream, esdb.ReadStreamOptions{}, 100)
}

// rawMetadata decodes the single event of "$$<stream>", keeping numbers exact.
func rawMetadata(t testing.TB, c *esdb.Client, stream string) map[string]json.Number {
	t.Helper()
	evs := readMetastream(t, c, stream)
	if len(evs) != 1 {
		t.Fatalf("read $$%s: %d events %v, want exactly the latest (implicit $maxCount 1, doc §3.5)", stream, len(evs), recordedIDs(evs))
	}
	dec := json.NewDecoder(bytes.NewReader(evs[0].Data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode $$%s data %q: %v", stream, evs[0].Data, err)
	}
	out := map[string]json.Number{}
	for k, v := range m {
		n, ok := v.(json.Number)
		if !ok {
			t.Fatalf("$$%s: key %q holds %v, want a number", stream, k, v)
		}
		out[k] = n
	}
	return out
}

// testMetadataRoundTrip: metadata bytes are kept exactly, the latest metadata wins and GetStreamMetadata returns it
// (doc §3.5, §7.5).
func testMetadataRoundTrip(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")

	_, err := c.GetStreamMetadata(opCtx(t), stream, esdb.ReadStreamOptions{})
	requireCode(t, err, esdb.ErrorCodeResourceNotFound, "GetStreamMetadata of a stream without metadata (doc §3.5)")

	var meta esdb.StreamMetadata
	meta.SetMaxCount(50)
	meta.SetMaxAge(2 * time.Hour)
	meta.SetCacheControl(15 * time.Second)
	acl := esdb.Acl{}
	acl.AddReadRoles("caseworkers")
	acl.AddWriteRoles("$admins")
	meta.SetAcl(acl)
	meta.AddCustomProperty("fund", "msa-01")
	wantBytes, err := meta.ToJson()
	if err != nil {
		t.Fatalf("encode metadata: %v", err)
	}
	wr, err := c.SetStreamMetadata(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, meta)
	if err != nil {
		t.Fatalf("SetStreamMetadata: %v", err)
	}
	if wr.NextExpectedVersion != 0 {
		t.Errorf("SetStreamMetadata: metastream revision %d, want 0", wr.NextExpectedVersion)
	}
	raw := readMetastream(t, c, stream)
	if len(raw) != 1 {
		t.Fatalf("read $$%s: %d events, want 1", stream, len(raw))
	}
	if raw[0].StreamID != "$$"+stream || raw[0].EventType != "$metadata" || raw[0].ContentType != "application/json" || raw[0].EventNumber != 0 {
		t.Errorf("$$%s event: stream %q type %q content type %q revision %d; want $$%s, $metadata, application/json, 0",
			stream, raw[0].StreamID, raw[0].EventType, raw[0].ContentType, raw[0].EventNumber, stream)
	}
	if !bytes.Equal(raw[0].Data, wantBytes) {
		t.Errorf("$$%s data %q, want the bytes sent %q", stream, raw[0].Data, wantBytes)
	}
	got, err := c.GetStreamMetadata(opCtx(t), stream, esdb.ReadStreamOptions{})
	if err != nil {
		t.Fatalf("GetStreamMetadata: %v", err)
	}
	if mc := got.MaxCount(); mc == nil || *mc != 50 {
		t.Errorf("GetStreamMetadata: $maxCount %v, want 50", mc)
	}
	if ma := got.MaxAge(); ma == nil || *ma != 2*time.Hour {
		t.Errorf("GetStreamMetadata: $maxAge %v, want 2h", ma)
	}
	if cc := got.CacheControl(); cc == nil || *cc != 15*time.Second {
		t.Errorf("GetStreamMetadata: $cacheControl %v, want 15s", cc)
	}
	if a := got.StreamAcl(); a == nil || strings.Join(a.ReadRoles(), ",") != "caseworkers" || strings.Join(a.WriteRoles(), ",") != "$admins" {
		t.Errorf("GetStreamMetadata: $acl %+v, want read caseworkers, write $admins", a)
	}
	if v := got.CustomProperty("fund"); v != "msa-01" {
		t.Errorf("GetStreamMetadata: fund %v, want msa-01", v)
	}

	// Raw metadata, written as an ordinary append to the metastream, comes back byte for byte.
	rawBytes := []byte("{ \"$maxCount\" : 3,\n\t\"zeta\": \"\\u00e9t\u00e9\", \"alpha\": [1, 2.50, 1e3], \"nested\": {\"b\": 1, \"a\": null} }")
	appendOK(t, c, "$$"+stream, esdb.Revision(0), esdb.EventData{
		EventID: jsonEvent("x").EventID, EventType: "$metadata", ContentType: esdb.ContentTypeJson, Data: rawBytes,
	})
	raw = readMetastream(t, c, stream)
	if len(raw) != 1 {
		t.Fatalf("read $$%s after a second metadata: %d events %v, want only the latest (implicit $maxCount 1, doc §3.5)",
			stream, len(raw), recordedIDs(raw))
	}
	if raw[0].EventNumber != 1 || !bytes.Equal(raw[0].Data, rawBytes) {
		t.Errorf("$$%s: revision %d data %q, want revision 1 and the bytes sent %q", stream, raw[0].EventNumber, raw[0].Data, rawBytes)
	}
	got, err = c.GetStreamMetadata(opCtx(t), stream, esdb.ReadStreamOptions{})
	if err != nil {
		t.Fatalf("GetStreamMetadata after raw metadata: %v", err)
	}
	if mc := got.MaxCount(); mc == nil || *mc != 3 {
		t.Errorf("GetStreamMetadata returns $maxCount %v, want 3 from the latest metadata (last one wins)", mc)
	}
	if got.MaxAge() != nil || got.CustomProperty("fund") != nil || got.CustomProperty("zeta") != "été" {
		t.Errorf("GetStreamMetadata returns maxAge %v fund %v zeta %v, want only the latest metadata's keys",
			got.MaxAge(), got.CustomProperty("fund"), got.CustomProperty("zeta"))
	}

	// The expected revision of SetStreamMetadata applies to the metastream.
	_, err = c.SetStreamMetadata(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, meta)
	requireWrongExpectedVersion(t, err, "0", "1")
	if _, err := c.SetStreamMetadata(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(1)}, meta); err != nil {
		t.Fatalf("SetStreamMetadata with the metastream's revision: %v", err)
	}
	raw = readMetastream(t, c, stream)
	if len(raw) != 1 || raw[0].EventNumber != 2 || !bytes.Equal(raw[0].Data, wantBytes) {
		t.Errorf("$$%s: %v, want only revision 2 with %q", stream, recordedIDs(raw), wantBytes)
	}
}

// testMetadataEffects: $maxCount and $tb hide events from stream reads but not from $all; a stream whose events are
// all hidden reads empty, not not-found (doc §3.3, §7.5).
func testMetadataEffects(t *testing.T, s *suite) {
	c := s.client
	capped := newStream("member")
	evs := jsonEvents(5, "MemberUpdated")
	appendOK(t, c, capped, esdb.NoStream{}, evs...)
	var meta esdb.StreamMetadata
	meta.SetMaxCount(2)
	if _, err := c.SetStreamMetadata(opCtx(t), capped, esdb.AppendToStreamOptions{}, meta); err != nil {
		t.Fatalf("SetStreamMetadata: %v", err)
	}
	requireRevisions(t, readWhole(t, c, capped), seq(3, 4), "forwards read with $maxCount 2")
	requireRevisions(t, mustReadStream(t, c, capped, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100),
		seq(4, 3), "backwards read with $maxCount 2")
	inAll := only(readAll(t, c, esdb.ReadAllOptions{From: firstEventPosition(t, c, capped, evs[0])}, allScanLimit), capped)
	requireSameEvents(t, inAll, evs, "$all ignores $maxCount (doc §3.3)")
	sub := subscribeStream(t, c, capped, esdb.Start{})
	caught, _ := sub.untilCaughtUp(t, nil)
	requireRevisions(t, caught, seq(3, 4), "stream subscription catch-up with $maxCount 2 (doc §7.5: metadata applies to subscriptions)")

	truncated := newStream("member")
	appendOK(t, c, truncated, esdb.NoStream{}, jsonEvents(2, "MemberUpdated")...)
	var tb esdb.StreamMetadata
	tb.SetTruncateBefore(10)
	if _, err := c.SetStreamMetadata(opCtx(t), truncated, esdb.AppendToStreamOptions{}, tb); err != nil {
		t.Fatalf("SetStreamMetadata: %v", err)
	}
	for _, opts := range []esdb.ReadStreamOptions{{}, {Direction: esdb.Backwards, From: esdb.End{}}} {
		got, err := readStream(t, c, truncated, opts, 100)
		if err != nil || len(got) != 0 {
			t.Errorf("read (direction %d) of a stream whose events are all before $tb: %d event(s), error %v; want none and io.EOF (doc §3.3)",
				opts.Direction, len(got), err)
		}
	}
	if wr := appendOK(t, c, truncated, esdb.Revision(1), jsonEvent("MemberUpdated")); wr.NextExpectedVersion != 2 {
		t.Errorf("append after $tb: revision %d, want 2 (numbering continues)", wr.NextExpectedVersion)
	}
}

// firstEventPosition finds the $all position of a stream's first event even when metadata hides it from stream reads.
func firstEventPosition(t testing.TB, c *esdb.Client, stream string, first esdb.EventData) esdb.Position {
	t.Helper()
	for _, e := range readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, allScanLimit) {
		if e.StreamID == stream && e.EventID == first.EventID {
			return e.Position
		}
	}
	t.Fatalf("first event of %s not found in the last %d events of $all", stream, allScanLimit)
	return esdb.Position{}
}

// testSoftDelete: soft delete hides the stream from reads, keeps $all, replaces the metadata with $tb = max, and a
// re-created stream continues its numbering (doc §3.4, §7.6).
func testSoftDelete(t *testing.T, s *suite) {
	c := s.client
	t.Run("delete then re-create with Any", func(t *testing.T) {
		stream := newStream("member")
		evs := jsonEvents(3, "MemberUpdated")
		wr := appendOK(t, c, stream, esdb.NoStream{}, evs...)
		var meta esdb.StreamMetadata
		meta.AddCustomProperty("keep", "no")
		if _, err := c.SetStreamMetadata(opCtx(t), stream, esdb.AppendToStreamOptions{}, meta); err != nil {
			t.Fatalf("SetStreamMetadata: %v", err)
		}
		dr, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(2)})
		if err != nil {
			t.Fatalf("DeleteStream with Revision(2): %v", err)
		}
		checkEventPosition(t, dr.Position, "delete result")
		if !posLess(writePos(wr), dr.Position) {
			t.Errorf("delete result %s does not follow the last append %s", pos(dr.Position), pos(writePos(wr)))
		}
		requireNotFound(t, c, stream)
		_, err = readStream(t, c, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 10)
		requireCode(t, err, esdb.ErrorCodeResourceNotFound, "backward read of a soft-deleted stream")
		// A subscription to it waits (doc §7.6) and then sees the re-created stream's events.
		sub := subscribeStream(t, c, stream, esdb.Start{})
		if got, _ := sub.untilCaughtUp(t, nil); len(got) != 0 {
			t.Errorf("subscription to a soft-deleted stream delivered %v, want nothing (doc §7.6)", recordedIDs(got))
		}
		inAll := only(readAll(t, c, esdb.ReadAllOptions{From: firstEventPosition(t, c, stream, evs[0])}, allScanLimit), stream)
		requireSameEvents(t, inAll, evs, "$all keeps a soft-deleted stream's events (doc §7.6)")
		md := rawMetadata(t, c, stream)
		if len(md) != 1 || md["$tb"].String() != "9223372036854775807" {
			t.Errorf("$$%s after soft delete: %v, want exactly {\"$tb\": 9223372036854775807} (doc §7.6)", stream, md)
		}

		reactivated := jsonEvent("MemberReactivated")
		wr = appendOK(t, c, stream, esdb.Any{}, reactivated)
		if wr.NextExpectedVersion != 3 {
			t.Errorf("re-create with Any: revision %d, want 3 (numbering continues, doc §7.6)", wr.NextExpectedVersion)
		}
		live := sub.events(t, 1, nil)
		requireSameEvents(t, live, []esdb.EventData{reactivated}, "subscription to the soft-deleted stream after re-creation")
		requireRevisions(t, live, seq(3, 3), "subscription to the soft-deleted stream after re-creation")
		requireRevisions(t, readWhole(t, c, stream), seq(3, 3), "read the re-created stream")
		requireRevisions(t, mustReadStream(t, c, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 10),
			seq(3, 3), "backward read of the re-created stream")
		if md := rawMetadata(t, c, stream); len(md) != 1 || md["$tb"].String() != "3" {
			t.Errorf("$$%s after re-creation: %v, want {\"$tb\": 3} (doc §7.6)", stream, md)
		}
		got, err := c.GetStreamMetadata(opCtx(t), stream, esdb.ReadStreamOptions{})
		if err != nil {
			t.Fatalf("GetStreamMetadata: %v", err)
		}
		if tb := got.TruncateBefore(); tb == nil || *tb != 3 {
			t.Errorf("GetStreamMetadata after re-creation: $tb %v, want 3", tb)
		}
	})
	t.Run("re-create with NoStream, exact revision, not StreamExists", func(t *testing.T) {
		for _, tc := range []struct {
			exp esdb.ExpectedRevision
			ok  bool
		}{{esdb.NoStream{}, true}, {esdb.Revision(1), true}, {esdb.StreamExists{}, false}} {
			t.Run(expName(tc.exp), func(t *testing.T) {
				stream := newStream("member")
				appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(2, "MemberUpdated")...)
				if _, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{ExpectedRevision: esdb.StreamExists{}}); err != nil {
					t.Fatalf("DeleteStream with StreamExists: %v", err)
				}
				if !tc.ok {
					requireCode(t, appendErr(t, c, stream, tc.exp, jsonEvent("MemberReactivated")),
						esdb.ErrorCodeStreamDeleted, "re-create a soft-deleted stream with "+expName(tc.exp)+" (doc §7.1, §7.6)")
					requireNotFound(t, c, stream)
					return
				}
				wr, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: tc.exp}, jsonEvent("MemberReactivated"))
				if err != nil {
					t.Fatalf("re-create a soft-deleted stream (last revision 1) with %s: %v; want success at revision 2 (doc §7.1: NoStream accepts a soft-deleted stream; §7.6)",
						expName(tc.exp), err)
				}
				if wr.NextExpectedVersion != 2 {
					t.Errorf("re-create with %s: revision %d, want 2", expName(tc.exp), wr.NextExpectedVersion)
				}
				requireRevisions(t, readWhole(t, c, stream), seq(2, 2), "read the stream re-created with "+expName(tc.exp))
			})
		}
	})
	t.Run("wrong expected version on a soft-deleted stream reports its last revision", func(t *testing.T) {
		// KurrentDB keeps the stream's last event number through a soft delete: IndexWriter.CheckCommit answers a
		// stale exact revision with WrongExpectedVersion carrying that number, which the Append RPC reports as
		// current_revision.
		stream := newStream("member")
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(2, "MemberUpdated")...)
		if _, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{}); err != nil {
			t.Fatalf("DeleteStream: %v", err)
		}
		requireWrongExpectedVersion(t, appendErr(t, c, stream, esdb.Revision(0), jsonEvent("MemberUpdated")), "0", "1")
		requireNotFound(t, c, stream)
	})
	t.Run("StreamExists on a soft-deleted stream is stream-deleted", func(t *testing.T) {
		// IndexWriter.CheckCommit checks StreamExists against soft deletion first and answers CommitDecision.Deleted,
		// which append, delete and tombstone all report as stream-deleted (doc §7.1, §7.6); nothing is written.
		stream := newStream("member")
		evs := jsonEvents(2, "MemberUpdated")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		if _, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{}); err != nil {
			t.Fatalf("DeleteStream: %v", err)
		}
		before := rawMetadata(t, c, stream)
		requireCode(t, appendErr(t, c, stream, esdb.StreamExists{}, jsonEvent("MemberUpdated")), esdb.ErrorCodeStreamDeleted,
			"append with StreamExists to a soft-deleted stream")
		requireCode(t, appendErr(t, c, stream, esdb.StreamExists{}, evs...), esdb.ErrorCodeStreamDeleted,
			"retry of its own events with StreamExists on a soft-deleted stream")
		requireCode(t, appendErr(t, c, stream, esdb.StreamExists{}), esdb.ErrorCodeStreamDeleted,
			"empty append with StreamExists to a soft-deleted stream")
		_, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{ExpectedRevision: esdb.StreamExists{}})
		requireCode(t, err, esdb.ErrorCodeStreamDeleted, "soft delete with StreamExists of a soft-deleted stream")
		_, err = c.TombstoneStream(opCtx(t), stream, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.StreamExists{}})
		requireCode(t, err, esdb.ErrorCodeStreamDeleted, "tombstone with StreamExists of a soft-deleted stream")
		requireNotFound(t, c, stream)
		if after := rawMetadata(t, c, stream); len(after) != len(before) || after["$tb"].String() != before["$tb"].String() {
			t.Errorf("$$%s changed by refused writes: %v, was %v", stream, after, before)
		}
		// Not a tombstone: the stream can still be re-created, numbering continuing.
		if wr := appendOK(t, c, stream, esdb.Any{}, jsonEvent("MemberReactivated")); wr.NextExpectedVersion != 2 {
			t.Errorf("re-create with Any after the refusals: revision %d, want 2", wr.NextExpectedVersion)
		}
	})
	t.Run("wrong expected revision and never-existing stream", func(t *testing.T) {
		stream := newStream("member")
		appendOK(t, c, stream, esdb.NoStream{}, jsonEvents(3, "MemberUpdated")...)
		_, err := c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{ExpectedRevision: esdb.Revision(5)})
		requireCode(t, err, esdb.ErrorCodeUnknown, "DeleteStream with a wrong revision (doc §3.4)")
		requireStatus(t, err, codes.FailedPrecondition, "DeleteStream with a wrong revision (doc §3.4)")
		requireRevisions(t, readWhole(t, c, stream), seq(0, 2), "read after the rejected delete")

		_, err = c.DeleteStream(opCtx(t), newStream("member"), esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}})
		requireStatus(t, err, codes.FailedPrecondition, "DeleteStream of a never-existing stream with Any (doc §3.4)")
	})
}

// testTombstone: a tombstoned stream is gone for good: reads, appends, deletes and subscriptions report
// stream-deleted; $all shows the $streamDeleted record (doc §3.3, §3.4, §7.6).
func testTombstone(t *testing.T, s *suite) {
	c := s.client
	stream := newStream("member")
	evs := jsonEvents(2, "MemberUpdated")
	wr := appendOK(t, c, stream, esdb.NoStream{}, evs...)

	_, err := c.TombstoneStream(opCtx(t), stream, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(0)})
	requireStatus(t, err, codes.FailedPrecondition, "TombstoneStream with a wrong revision (doc §3.4)")
	requireRevisions(t, readWhole(t, c, stream), seq(0, 1), "read after the rejected tombstone")

	dr, err := c.TombstoneStream(opCtx(t), stream, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Revision(1)})
	if err != nil {
		t.Fatalf("TombstoneStream with Revision(1): %v", err)
	}
	checkEventPosition(t, dr.Position, "tombstone result")
	if !posLess(writePos(wr), dr.Position) {
		t.Errorf("tombstone result %s does not follow the last append %s", pos(dr.Position), pos(writePos(wr)))
	}

	_, err = readStream(t, c, stream, esdb.ReadStreamOptions{}, 10)
	requireCode(t, err, esdb.ErrorCodeStreamDeleted, "read a tombstoned stream")
	_, err = readStream(t, c, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 10)
	requireCode(t, err, esdb.ErrorCodeStreamDeleted, "backward read of a tombstoned stream")
	for _, exp := range []esdb.ExpectedRevision{esdb.Any{}, esdb.NoStream{}, esdb.Revision(1)} {
		requireCode(t, appendErr(t, c, stream, exp, jsonEvent("MemberUpdated")), esdb.ErrorCodeStreamDeleted, "append with "+expName(exp)+" to a tombstoned stream")
	}
	_, err = c.DeleteStream(opCtx(t), stream, esdb.DeleteStreamOptions{})
	requireCode(t, err, esdb.ErrorCodeStreamDeleted, "soft delete of a tombstoned stream")
	_, err = c.TombstoneStream(opCtx(t), stream, esdb.TombstoneStreamOptions{})
	requireCode(t, err, esdb.ErrorCodeStreamDeleted, "tombstone of a tombstoned stream")

	// A subscription to it is refused or dropped with stream-deleted (doc §4.1).
	if sub, err := c.SubscribeToStream(opCtx(t), stream, esdb.SubscribeToStreamOptions{From: esdb.Start{}}); err != nil {
		requireCode(t, err, esdb.ErrorCodeStreamDeleted, "subscribe to a tombstoned stream")
	} else {
		w := watch(t, sub, "subscription to a tombstoned stream")
		requireStatus(t, w.requireDropped(t, opTimeout), codes.FailedPrecondition, "subscription to a tombstoned stream")
	}

	inAll := only(readAll(t, c, esdb.ReadAllOptions{From: writePos(wr)}, allScanLimit), stream)
	if len(inAll) != 2 || inAll[0].EventID != evs[1].EventID || inAll[1].EventType != "$streamDeleted" ||
		inAll[1].EventNumber != tombstoneTB {
		t.Errorf("$all from the last append: %v, want the last event then $streamDeleted at revision %d (doc §7.6)",
			recordedIDs(inAll), int64(tombstoneTB))
	} else if inAll[1].Position != dr.Position {
		t.Errorf("$streamDeleted at %s, tombstone result %s", pos(inAll[1].Position), pos(dr.Position))
	}

	// A stream that never existed can be tombstoned, and is then deleted for good.
	never := newStream("member")
	if _, err := c.TombstoneStream(opCtx(t), never, esdb.TombstoneStreamOptions{ExpectedRevision: esdb.NoStream{}}); err != nil {
		t.Fatalf("TombstoneStream of a never-existing stream with NoStream: %v", err)
	}
	requireCode(t, appendErr(t, c, never, esdb.Any{}, jsonEvent("MemberUpdated")), esdb.ErrorCodeStreamDeleted, "append to a tombstoned never-existing stream")
}
