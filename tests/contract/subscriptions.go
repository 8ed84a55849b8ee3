package contract

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// testStreamSubscription: confirmation, catch-up, caught-up, then live, for a stream (doc §4.1).
func testStreamSubscription(t *testing.T, s *suite) {
	c := s.client
	withEvents := func(t *testing.T, n int) (string, []esdb.EventData) {
		stream := newStream("member")
		evs := jsonEvents(n, "MemberUpdated")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		return stream, evs
	}
	t.Run("from start: catch-up, caught-up, live", func(t *testing.T) {
		stream, evs := withEvents(t, 3)
		sub := subscribeStream(t, c, stream, esdb.Start{})
		got, _ := sub.untilCaughtUp(t, nil)
		requireSameEvents(t, got, evs, "catch-up")
		requireRevisions(t, got, seq(0, 2), "catch-up")
		more := jsonEvents(2, "MemberUpdated")
		appendOK(t, c, stream, esdb.Revision(2), more...)
		live := sub.events(t, 2, nil)
		requireSameEvents(t, live, more, "live")
		requireRevisions(t, live, seq(3, 4), "live")
		// Nothing else came in between: the next event is the next one written.
		sentinel := jsonEvent("MemberUpdated")
		appendOK(t, c, stream, esdb.Revision(4), sentinel)
		requireSameEvents(t, sub.events(t, 1, nil), []esdb.EventData{sentinel}, "after live")
	})
	t.Run("from end: live only", func(t *testing.T) {
		stream, _ := withEvents(t, 3)
		sub := subscribeStream(t, c, stream, esdb.End{})
		if got, _ := sub.untilCaughtUp(t, nil); len(got) != 0 {
			t.Fatalf("subscription from end delivered existing events %v", recordedIDs(got))
		}
		ev := jsonEvent("MemberUpdated")
		appendOK(t, c, stream, esdb.Revision(2), ev)
		got := sub.events(t, 1, nil)
		requireSameEvents(t, got, []esdb.EventData{ev}, "live")
		requireRevisions(t, got, seq(3, 3), "live")
	})
	t.Run("to a stream that does not exist yet", func(t *testing.T) {
		stream := newStream("member")
		sub := subscribeStream(t, c, stream, esdb.Start{})
		if got, _ := sub.untilCaughtUp(t, nil); len(got) != 0 {
			t.Fatalf("subscription to a missing stream delivered %v", recordedIDs(got))
		}
		evs := jsonEvents(2, "MemberRegistered")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		got := sub.events(t, 2, nil)
		requireSameEvents(t, got, evs, "live")
		requireRevisions(t, got, seq(0, 1), "live")
	})
}

// testAllSubscription: confirmation, catch-up, caught-up, then live, for $all (doc §4.2).
func testAllSubscription(t *testing.T, s *suite) {
	c := s.client
	m := marker(t, c)
	a, b := newStream("member"), newStream("servicerequest")
	keep := inStreams(a, b)
	var evs []esdb.EventData
	var ps []esdb.Position
	for _, st := range []string{a, b, a} {
		ev := jsonEvent("Recorded")
		evs = append(evs, ev)
		ps = append(ps, writePos(appendOK(t, c, st, esdb.Any{}, ev)))
	}
	t.Run("from a position: catch-up, caught-up, live", func(t *testing.T) {
		sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m})
		var filter func(*esdb.RecordedEvent) bool
		if !s.h.Capabilities.Private {
			filter = keep
		}
		got, _ := sub.untilCaughtUp(t, filter)
		requireSameEvents(t, got, evs, "catch-up from the marker (exclusive)")
		for i := range got {
			if got[i].Position != ps[i] {
				t.Errorf("catch-up event %d at %s, appended at %s", i, pos(got[i].Position), pos(ps[i]))
			}
		}
		ev := jsonEvent("Recorded")
		wr := appendOK(t, c, b, esdb.Any{}, ev)
		live := sub.events(t, 1, keep)
		requireSameEvents(t, live, []esdb.EventData{ev}, "live")
		if live[0].Position != writePos(wr) {
			t.Errorf("live event at %s, appended at %s", pos(live[0].Position), pos(writePos(wr)))
		}
	})
	t.Run("from end: live only", func(t *testing.T) {
		sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.End{}})
		if got, _ := sub.untilCaughtUp(t, keep); len(got) != 0 {
			t.Fatalf("subscription from end delivered existing events %v", recordedIDs(got))
		}
		ev := jsonEvent("Recorded")
		appendOK(t, c, a, esdb.Any{}, ev)
		requireSameEvents(t, sub.events(t, 1, keep), []esdb.EventData{ev}, "live")
	})
	if s.h.Capabilities.Private {
		t.Run("from start", func(t *testing.T) {
			want := readAll(t, c, esdb.ReadAllOptions{From: esdb.Start{}}, allScanLimit)
			sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.Start{}})
			got, _ := sub.untilCaughtUp(t, nil)
			if len(got) != len(want) {
				t.Fatalf("catch-up from start: %d events, $all holds %d", len(got), len(want))
			}
			for i := range want {
				if got[i].EventID != want[i].EventID || got[i].Position != want[i].Position {
					t.Fatalf("catch-up from start, event %d: %s at %s, $all has %s at %s",
						i, got[i].EventID, pos(got[i].Position), want[i].EventID, pos(want[i].Position))
				}
			}
		})
	}
}

type filterCase struct {
	name   string
	filter *esdb.SubscriptionFilter
	want   []esdb.EventData
	exact  bool // nothing but the wanted events may match (the filter names this check's tag)
	// noSystem: no event type starting with "$" may pass.
	noSystem bool
}

// testSubscriptionFilters: server-side filters on stream name and event type, prefix and regex (unanchored), the
// system-events filter, and the checkpoint sent at the end of catch-up (doc §4.2).
func testSubscriptionFilters(t *testing.T, s *suite) {
	c := s.client
	tg := newTag()
	m := marker(t, c)
	fa, fb, rx := "fa"+tg+"-"+uuid.NewString(), "fb"+tg+"-"+uuid.NewString(), "rx"+tg+"-"+uuid.NewString()
	aCreated, bCreated := jsonEvent("Alpha"+tg+"Created"), jsonEvent("Beta"+tg+"Created")
	aDeleted, gNoted, bDeleted := jsonEvent("Alpha"+tg+"Deleted"), jsonEvent("Gamma"+tg+"Noted"), jsonEvent("Beta"+tg+"Deleted")
	appendOK(t, c, fa, esdb.Any{}, aCreated)
	appendOK(t, c, fb, esdb.Any{}, bCreated)
	appendOK(t, c, fa, esdb.Any{}, aDeleted)
	appendOK(t, c, rx, esdb.Any{}, gNoted)
	var meta esdb.StreamMetadata
	meta.AddCustomProperty("owner", tg)
	if _, err := c.SetStreamMetadata(opCtx(t), fa, esdb.AppendToStreamOptions{}, meta); err != nil {
		t.Fatalf("SetStreamMetadata: %v", err)
	}
	last := writePos(appendOK(t, c, fb, esdb.Any{}, bDeleted))
	userEvents := []esdb.EventData{aCreated, bCreated, aDeleted, gNoted, bDeleted}

	cases := []filterCase{
		{"stream name prefix", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"fa" + tg + "-"}},
			[]esdb.EventData{aCreated, aDeleted}, true, false},
		{"stream name prefixes", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"fa" + tg + "-", "fb" + tg + "-"}},
			[]esdb.EventData{aCreated, bCreated, aDeleted, bDeleted}, true, false},
		{"stream name regex", &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: "^rx" + tg + "-"},
			[]esdb.EventData{gNoted}, true, false},
		{"event type prefix", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: []string{"Beta" + tg}},
			[]esdb.EventData{bCreated, bDeleted}, true, false},
		{"event type regex matches anywhere in the type", &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: tg + "Created$"},
			[]esdb.EventData{aCreated, bCreated}, true, false},
		{"exclude system events", esdb.ExcludeSystemEventsFilter(), userEvents, s.h.Capabilities.Private, true},
	}
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m, Filter: fc.filter, MaxSearchWindow: 32, CheckpointInterval: 1})
			got, cps := sub.untilCaughtUp(t, nil)
			for _, e := range got {
				if fc.noSystem && strings.HasPrefix(e.EventType, "$") {
					t.Errorf("system event %s of %s delivered through ExcludeSystemEventsFilter", e.EventType, e.StreamID)
				}
			}
			mine := got
			if !fc.exact {
				mine = only(got, fa, fb, rx, "$$"+fa)
			}
			requireSameEvents(t, mine, fc.want, "catch-up through the filter")
			if len(cps) == 0 {
				t.Fatalf("no checkpoint before caught-up (doc §4.2: the end of catch-up always sends one)")
			}
			cp := cps[len(cps)-1]
			if posLess(cp, last) {
				t.Errorf("checkpoint before caught-up at %s, before the last event written %s (doc §4.2)", pos(cp), pos(last))
			}
		})
	}
	t.Run("unfiltered subscription sees the $metadata event", func(t *testing.T) {
		sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m})
		got, _ := sub.untilCaughtUp(t, inStreams("$$"+fa))
		if len(got) != 1 || got[0].EventType != "$metadata" {
			t.Errorf("unfiltered catch-up: events of $$%s %v, want its $metadata event", fa, recordedIDs(got))
		}
	})
}

// testLiveCheckpoints: a filtered subscription that is live keeps sending checkpoints while only non-matching
// events are written, and a resumed position never goes backwards (doc §4.2).
func testLiveCheckpoints(t *testing.T, s *suite) {
	c := s.client
	tg := newTag()
	m := marker(t, c)
	filter := &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"lc" + tg + "-"}}
	sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m, Filter: filter, MaxSearchWindow: 5, CheckpointInterval: 1})
	if got, _ := sub.untilCaughtUp(t, nil); len(got) != 0 {
		t.Fatalf("catch-up delivered %v, want nothing", recordedIDs(got))
	}
	base := sub.lastCp
	if posLess(base, m) {
		base = m
	}
	noise := writePos(appendOK(t, c, newStream("noise"), esdb.NoStream{}, jsonEvents(12, "Noise")...))
	var cp esdb.Position
	for {
		ev := sub.next(t, opTimeout)
		if ev.SubscriptionDropped != nil {
			t.Fatalf("dropped: %v", ev.SubscriptionDropped.Error)
		}
		if ev.EventAppeared != nil {
			t.Fatalf("event %s of %s passed a filter it does not match", ev.EventAppeared.Event.EventType, ev.EventAppeared.Event.StreamID)
		}
		if ev.CheckPointReached != nil && posLess(base, *ev.CheckPointReached) {
			cp = *ev.CheckPointReached
			break
		}
	}
	if s.h.Capabilities.Private && posLess(noise, cp) {
		t.Errorf("live checkpoint %s beyond the last event written %s", pos(cp), pos(noise))
	}
	ev := jsonEvent("Matched")
	wr := appendOK(t, c, "lc"+tg+"-"+uuid.NewString(), esdb.NoStream{}, ev)
	got := sub.events(t, 1, nil)
	requireSameEvents(t, got, []esdb.EventData{ev}, "matching event after live checkpoints")
	if got[0].Position != writePos(wr) {
		t.Errorf("matching event at %s, appended at %s", pos(got[0].Position), pos(writePos(wr)))
	}
}

// testExclusiveResume: subscribing from a revision or a position starts strictly after it (doc §4.1, §4.2).
func testExclusiveResume(t *testing.T, s *suite) {
	c := s.client
	t.Run("stream from a revision", func(t *testing.T) {
		stream := newStream("member")
		evs := jsonEvents(5, "MemberUpdated")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		for _, r := range []uint64{0, 2} {
			sub := subscribeStream(t, c, stream, esdb.Revision(r))
			got, _ := sub.untilCaughtUp(t, nil)
			requireSameEvents(t, got, evs[r+1:], fmt.Sprintf("subscription from revision %d", r))
			_ = sub.sub.Close()
		}
		sub := subscribeStream(t, c, stream, esdb.Revision(4))
		if got, _ := sub.untilCaughtUp(t, nil); len(got) != 0 {
			t.Fatalf("subscription from the last revision delivered %v", recordedIDs(got))
		}
		ev := jsonEvent("MemberUpdated")
		appendOK(t, c, stream, esdb.Revision(4), ev)
		got := sub.events(t, 1, nil)
		requireSameEvents(t, got, []esdb.EventData{ev}, "live after the last revision")
		requireRevisions(t, got, seq(5, 5), "live after the last revision")
	})
	t.Run("$all from a position", func(t *testing.T) {
		a, b := newStream("member"), newStream("deposit")
		keep := inStreams(a, b)
		var evs []esdb.EventData
		var ps []esdb.Position
		for i := range 5 {
			ev := jsonEvent("Recorded")
			st := a
			if i%2 == 1 {
				st = b
			}
			evs = append(evs, ev)
			ps = append(ps, writePos(appendOK(t, c, st, esdb.Any{}, ev)))
		}
		sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: ps[2]})
		var filter func(*esdb.RecordedEvent) bool = keep
		if s.h.Capabilities.Private {
			filter = nil
		}
		got, _ := sub.untilCaughtUp(t, filter)
		requireSameEvents(t, got, evs[3:], "subscription from the third event's position")
		_ = sub.sub.Close()

		sub = subscribeAll(t, c, esdb.SubscribeToAllOptions{From: ps[4]})
		if got, _ := sub.untilCaughtUp(t, keep); len(got) != 0 {
			t.Fatalf("subscription from the last event's position delivered %v", recordedIDs(got))
		}
		ev := jsonEvent("Recorded")
		appendOK(t, c, b, esdb.Any{}, ev)
		requireSameEvents(t, sub.events(t, 1, keep), []esdb.EventData{ev}, "live after the last position")
	})
}

// testResubscribeAfterClose: a consumer that closes its subscription and resubscribes from the last event it saw
// gets every later event once (doc §4.1: "callers resume with From: Revision(lastSeen) / Position(lastSeen)").
func testResubscribeAfterClose(t *testing.T, s *suite) {
	c := s.client
	t.Run("stream", func(t *testing.T) {
		stream := newStream("member")
		evs := jsonEvents(10, "MemberUpdated")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		sub := subscribeStream(t, c, stream, esdb.Start{})
		seen := sub.events(t, 4, nil)
		_ = sub.sub.Close()
		requireClosedDrop(t, sub)
		more := jsonEvents(5, "MemberUpdated")
		appendOK(t, c, stream, esdb.Revision(9), more...)
		sub = subscribeStream(t, c, stream, esdb.Revision(seen[3].EventNumber))
		got, _ := sub.untilCaughtUp(t, nil)
		want := append(append([]esdb.EventData{}, evs[4:]...), more...)
		requireSameEvents(t, got, want, "resubscribed from the last revision seen")
		requireRevisions(t, got, seq(4, 14), "resubscribed from the last revision seen")
	})
	t.Run("$all", func(t *testing.T) {
		m := marker(t, c)
		a, b := newStream("member"), newStream("deposit")
		keep := inStreams(a, b)
		write := func(n int) []esdb.EventData {
			var out []esdb.EventData
			for i := range n {
				ev := jsonEvent("Recorded")
				st := a
				if i%3 == 0 {
					st = b
				}
				appendOK(t, c, st, esdb.Any{}, ev)
				out = append(out, ev)
			}
			return out
		}
		evs := write(10)
		sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m})
		seen := sub.events(t, 4, keep)
		_ = sub.sub.Close()
		requireClosedDrop(t, sub)
		more := write(5)
		sub = subscribeAll(t, c, esdb.SubscribeToAllOptions{From: seen[3].Position})
		got, _ := sub.untilCaughtUp(t, keep)
		requireSameEvents(t, got, append(append([]esdb.EventData{}, evs[4:]...), more...), "resubscribed from the last position seen")
	})
}

// requireClosedDrop: after Close the client reports the subscription as dropped.
func requireClosedDrop(t testing.TB, sub *subscription) {
	t.Helper()
	_ = sub.requireDropped(t, opTimeout)
	if ev := sub.sub.Recv(); ev.SubscriptionDropped == nil {
		t.Errorf("Recv after Close: %+v, want SubscriptionDropped", ev)
	}
}

// testResubscribeFromCheckpoint: a filtered consumer that stored the last checkpoint resumes after it with no
// duplicate and no gap (doc §4.2: "persist CheckPointReached and resume with From: Position").
func testResubscribeFromCheckpoint(t *testing.T, s *suite) {
	c := s.client
	tg := newTag()
	m := marker(t, c)
	matching := "rc" + tg + "-" + uuid.NewString()
	filter := &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"rc" + tg + "-"}}
	noise := newStream("noise")
	first := jsonEvent("Matched")
	appendOK(t, c, matching, esdb.NoStream{}, first)
	appendOK(t, c, noise, esdb.NoStream{}, jsonEvents(10, "Noise")...)
	sub := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m, Filter: filter, MaxSearchWindow: 4, CheckpointInterval: 1})
	got, cps := sub.untilCaughtUp(t, nil)
	requireSameEvents(t, got, []esdb.EventData{first}, "catch-up")
	if len(cps) == 0 {
		t.Fatalf("no checkpoint before caught-up (doc §4.2)")
	}
	cp := cps[len(cps)-1]
	if !posLess(got[0].Position, cp) && got[0].Position != cp {
		t.Fatalf("checkpoint %s precedes the event %s already delivered", pos(cp), pos(got[0].Position))
	}
	_ = sub.sub.Close()

	later := jsonEvents(2, "Matched")
	appendOK(t, c, noise, esdb.Revision(9), jsonEvents(3, "Noise")...)
	appendOK(t, c, matching, esdb.Revision(0), later[0])
	appendOK(t, c, noise, esdb.Revision(12), jsonEvent("Noise"))
	appendOK(t, c, matching, esdb.Revision(1), later[1])
	sub = subscribeAll(t, c, esdb.SubscribeToAllOptions{From: cp, Filter: filter, MaxSearchWindow: 4, CheckpointInterval: 1})
	got, _ = sub.untilCaughtUp(t, nil)
	requireSameEvents(t, got, later, "resubscribed from the checkpoint")
}

// appendRetry appends, retrying transient failures (a store coming back after a restart) with the same event ids,
// so that a retry of a write that did land is idempotent.
func appendRetry(t testing.TB, c *esdb.Client, stream string, exp esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		wr, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
		if err == nil {
			return wr
		}
		if code, _ := esdbCode(err); code == esdb.ErrorCodeWrongExpectedVersion || time.Now().After(deadline) {
			t.Fatalf("append to %s: %v", stream, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testResubscribeAcrossRestart: a restart drops live subscriptions cleanly, keeps every event, position and
// metadata, and consumers resume from the last event seen with no gap or duplicate.
func testResubscribeAcrossRestart(t *testing.T, s *suite) {
	st := s.h.Start(t)
	if st.Restart == nil {
		t.Logf("store %q cannot restart (in memory or remote): the restart check does not apply", s.h.Name)
		return
	}
	c := newClient(t, st.ConnString)
	m := marker(t, c)
	stream := newStream("member")
	evs := jsonEvents(5, "MemberUpdated")
	appendOK(t, c, stream, esdb.NoStream{}, evs...)
	var meta esdb.StreamMetadata
	meta.SetMaxAge(48 * time.Hour)
	meta.AddCustomProperty("fund", "msa-02")
	if _, err := c.SetStreamMetadata(opCtx(t), stream, esdb.AppendToStreamOptions{}, meta); err != nil {
		t.Fatalf("SetStreamMetadata: %v", err)
	}
	metaBefore := readMetastream(t, c, stream)
	before := readWhole(t, c, stream)
	subS := subscribeStream(t, c, stream, esdb.Start{})
	subA := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: m})
	seenS := subS.events(t, 5, nil)
	seenA := subA.events(t, 5, inStreams(stream))

	conn := st.Restart(t)
	for _, sub := range []*subscription{subS, subA} {
		if err := sub.requireDropped(t, opTimeout); err == nil {
			t.Errorf("%s dropped by the restart without an error", sub.what)
		}
	}
	if conn != st.ConnString {
		c = newClient(t, conn)
	}
	more := jsonEvents(3, "MemberUpdated")
	if wr := appendRetry(t, c, stream, esdb.Revision(4), more...); wr.NextExpectedVersion != 7 {
		t.Errorf("append after restart: revision %d, want 7", wr.NextExpectedVersion)
	}
	after := readWhole(t, c, stream)
	requireSameEvents(t, after, append(append([]esdb.EventData{}, evs...), more...), "read after restart")
	for i := range before {
		if after[i].Position != before[i].Position || !bytes.Equal(after[i].Data, before[i].Data) || after[i].EventType != before[i].EventType {
			t.Errorf("event %d changed across the restart: %s %q at %s, was %s %q at %s", i,
				after[i].EventType, after[i].Data, pos(after[i].Position), before[i].EventType, before[i].Data, pos(before[i].Position))
		}
	}
	if metaAfter := readMetastream(t, c, stream); len(metaAfter) != 1 || !bytes.Equal(metaAfter[0].Data, metaBefore[0].Data) {
		t.Errorf("metadata after restart %v, want %q", recordedIDs(metaAfter), metaBefore[0].Data)
	}

	subS = subscribeStream(t, c, stream, esdb.Revision(seenS[4].EventNumber))
	got, _ := subS.untilCaughtUp(t, nil)
	requireSameEvents(t, got, more, "stream subscription resumed after restart")
	subA = subscribeAll(t, c, esdb.SubscribeToAllOptions{From: seenA[4].Position})
	got, _ = subA.untilCaughtUp(t, inStreams(stream))
	requireSameEvents(t, got, more, "$all subscription resumed after restart")
}

// idleFor is how long the idle check keeps its subscriptions open without traffic: longer than the client's 10 s
// keepalive pings times three (grpc-go's default server policy drops such connections after about 30 s, doc §2.5).
const idleFor = 61 * time.Second

// testIdleSubscription: subscriptions idle for a minute are still alive and receive the next event.
func testIdleSubscription(t *testing.T, h Harness) {
	st := h.Start(t)
	c := newClient(t, st.ConnString)
	tg := newTag()
	stream := "idle" + tg + "-" + uuid.NewString()
	subs := []*subscription{
		subscribeStream(t, c, stream, esdb.Start{}),
		subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.End{},
			Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"idle" + tg + "-"}}}),
		subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.End{}}),
	}
	unfiltered := subs[2]
	deadline := time.After(idleFor)
	start := time.Now()
wait:
	for {
		select {
		case <-deadline:
			break wait
		case ev, ok := <-subs[0].ch:
			idleMessage(t, subs[0], ev, ok, false, start)
		case ev, ok := <-subs[1].ch:
			idleMessage(t, subs[1], ev, ok, false, start)
		case ev, ok := <-unfiltered.ch:
			idleMessage(t, unfiltered, ev, ok, true, start)
		}
	}
	ev := jsonEvent("Woken")
	appendOK(t, c, stream, esdb.NoStream{}, ev)
	for _, sub := range subs {
		requireSameEvents(t, sub.events(t, 1, inStreams(stream)), []esdb.EventData{ev}, sub.what+" after idling "+idleFor.String())
	}
}

// idleMessage accepts caught-up and checkpoint messages while idling (and other clients' events on an unfiltered
// $all subscription); a drop or an unexpected event fails the check.
func idleMessage(t testing.TB, sub *subscription, ev *esdb.SubscriptionEvent, ok bool, othersAllowed bool, start time.Time) {
	t.Helper()
	switch {
	case !ok:
		t.Fatalf("%s: closed after %s idle", sub.what, time.Since(start).Round(time.Second))
	case ev.SubscriptionDropped != nil:
		err := ev.SubscriptionDropped.Error
		if err == nil {
			err = errors.New("no error")
		}
		t.Fatalf("%s dropped after %s idle: %v (keepalive policy, doc §2.5)", sub.what, time.Since(start).Round(time.Second), err)
	case ev.EventAppeared != nil && !othersAllowed:
		t.Fatalf("%s: unexpected event %s while idle", sub.what, ev.EventAppeared.Event.EventType)
	}
}
