package contract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// opTimeout bounds every unary call and every wait for a subscription message. It only bounds failures (every wait
// ends as soon as what is awaited arrives), so it is generous: a 16 MiB append under the race detector on a busy
// 2-core machine was seen to take more than 10 s.
const opTimeout = 30 * time.Second

// suite is the state shared by the checks that run on one store.
type suite struct {
	h      Harness
	store  *Store
	client *esdb.Client
	// tag is unique to this run; filter checks build their stream and type names from it.
	tag string
}

func newSuite(t *testing.T, h Harness) *suite {
	t.Helper()
	store := h.Start(t)
	if store == nil || store.ConnString == "" {
		t.Fatalf("harness %q: Start returned no connection string", h.Name)
	}
	return &suite{h: h, store: store, client: newClient(t, store.ConnString), tag: newTag()}
}

// newTag returns a short dash-free token, unique to one run, for categories and event types.
func newTag() string {
	return strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

// newClient connects the official client; the client is closed when the test ends.
func newClient(t testing.TB, conn string) *esdb.Client {
	t.Helper()
	cfg, err := esdb.ParseConnectionString(conn)
	if err != nil {
		t.Fatalf("parse connection string %q: %v", conn, err)
	}
	cfg.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// opCtx is the context of one unary call.
func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newStream returns a stream id shaped like Dossier's: "<category>-<uuid>" (category without dashes).
func newStream(category string) string {
	return category + "-" + uuid.NewString()
}

// jsonEvent returns a JSON event with a fresh id.
func jsonEvent(eventType string) esdb.EventData {
	id := uuid.New()
	return esdb.EventData{
		EventID:     id,
		EventType:   eventType,
		ContentType: esdb.ContentTypeJson,
		Data:        []byte(fmt.Sprintf(`{"id":%q,"note":"é \u00e9 \"quoted\""}`, id)),
		Metadata:    []byte(fmt.Sprintf(`{"correlation_id":%q,"actor":{"role":"system"}}`, uuid.NewString())),
	}
}

// jsonEvents returns n JSON events of one type.
func jsonEvents(n int, eventType string) []esdb.EventData {
	evs := make([]esdb.EventData, n)
	for i := range evs {
		evs[i] = jsonEvent(eventType)
	}
	return evs
}

// binaryEvent returns a non-JSON event with bytes that are not valid UTF-8 and no user metadata.
func binaryEvent(eventType string) esdb.EventData {
	return esdb.EventData{
		EventID:     uuid.New(),
		EventType:   eventType,
		ContentType: esdb.ContentTypeBinary,
		Data:        []byte{0x00, 0xff, 0x10, 0x80, 0xc3, 0x28},
	}
}

func appendOK(t testing.TB, c *esdb.Client, stream string, exp esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	wr, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err != nil {
		t.Fatalf("append %d event(s) to %s with expected %s: %v", len(evs), stream, expName(exp), err)
	}
	return wr
}

func appendErr(t testing.TB, c *esdb.Client, stream string, exp esdb.ExpectedRevision, evs ...esdb.EventData) error {
	t.Helper()
	wr, err := c.AppendToStream(opCtx(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	if err == nil {
		t.Fatalf("append %d event(s) to %s with expected %s: succeeded (revision %d), want an error",
			len(evs), stream, expName(exp), wr.NextExpectedVersion)
	}
	return err
}

func expName(exp esdb.ExpectedRevision) string {
	switch e := exp.(type) {
	case esdb.Any:
		return "Any"
	case esdb.NoStream:
		return "NoStream"
	case esdb.StreamExists:
		return "StreamExists"
	case esdb.StreamRevision:
		return fmt.Sprintf("Revision(%d)", e.Value)
	default:
		return fmt.Sprintf("%T", exp)
	}
}

// readStream reads a stream to its end (io.EOF). It returns the events read and the first error other than EOF.
func readStream(t testing.TB, c *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	t.Helper()
	rs, err := c.ReadStream(opCtx(t), stream, opts, count)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ev.Event == nil {
			t.Fatalf("read %s: event without a recorded event (link %v)", stream, ev.Link)
		}
		out = append(out, ev.Event)
	}
}

func mustReadStream(t testing.TB, c *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) []*esdb.RecordedEvent {
	t.Helper()
	evs, err := readStream(t, c, stream, opts, count)
	if err != nil {
		t.Fatalf("read %s (direction %d, from %#v, count %d): %v", stream, opts.Direction, opts.From, count, err)
	}
	return evs
}

// readWhole reads a stream forwards from the start.
func readWhole(t testing.TB, c *esdb.Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	return mustReadStream(t, c, stream, esdb.ReadStreamOptions{}, math.MaxUint64)
}

// requireNotFound checks that reading stream reports ErrorCodeResourceNotFound on the first Recv (doc §3.3).
func requireNotFound(t testing.TB, c *esdb.Client, stream string) {
	t.Helper()
	evs, err := readStream(t, c, stream, esdb.ReadStreamOptions{}, math.MaxUint64)
	if len(evs) != 0 {
		t.Fatalf("read %s: got %d event(s), want stream not found", stream, len(evs))
	}
	requireCode(t, err, esdb.ErrorCodeResourceNotFound, "read "+stream)
}

func readAll(t testing.TB, c *esdb.Client, opts esdb.ReadAllOptions, count uint64) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ReadAll(opCtx(t), opts, count)
	if err != nil {
		t.Fatalf("read $all: %v", err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read $all (direction %d, from %#v, count %d) after %d event(s): %v", opts.Direction, opts.From, count, len(out), err)
		}
		if ev.Event == nil {
			t.Fatalf("read $all: event without a recorded event")
		}
		out = append(out, ev.Event)
	}
}

// only keeps the events of the given streams.
func only(evs []*esdb.RecordedEvent, streams ...string) []*esdb.RecordedEvent {
	keep := make(map[string]bool, len(streams))
	for _, s := range streams {
		keep[s] = true
	}
	var out []*esdb.RecordedEvent
	for _, e := range evs {
		if keep[e.StreamID] {
			out = append(out, e)
		}
	}
	return out
}

func codeName(c esdb.ErrorCode) string {
	names := map[esdb.ErrorCode]string{
		esdb.ErrorCodeUnknown: "ErrorCodeUnknown", esdb.ErrorCodeUnsupportedFeature: "ErrorCodeUnsupportedFeature",
		esdb.ErrorCodeDeadlineExceeded: "ErrorCodeDeadlineExceeded", esdb.ErrorCodeUnauthenticated: "ErrorCodeUnauthenticated",
		esdb.ErrorCodeResourceNotFound: "ErrorCodeResourceNotFound", esdb.ErrorCodeResourceAlreadyExists: "ErrorCodeResourceAlreadyExists",
		esdb.ErrorCodeConnectionClosed: "ErrorCodeConnectionClosed", esdb.ErrorCodeWrongExpectedVersion: "ErrorCodeWrongExpectedVersion",
		esdb.ErrorCodeAccessDenied: "ErrorCodeAccessDenied", esdb.ErrorCodeStreamDeleted: "ErrorCodeStreamDeleted",
		esdb.ErrorCodeParsing: "ErrorCodeParsing", esdb.ErrorCodeInternalClient: "ErrorCodeInternalClient",
		esdb.ErrorCodeInternalServer: "ErrorCodeInternalServer", esdb.ErrorCodeNotLeader: "ErrorCodeNotLeader",
		esdb.ErrorAborted: "ErrorAborted", esdb.ErrorUnavailable: "ErrorUnavailable",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// esdbCode finds the client's *esdb.Error in err's chain.
func esdbCode(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

func requireCode(t testing.TB, err error, want esdb.ErrorCode, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, codeName(want))
	}
	got, ok := esdbCode(err)
	if !ok {
		t.Fatalf("%s: error %v is not an *esdb.Error, want %s", what, err, codeName(want))
	}
	if got != want {
		t.Fatalf("%s: got %s (%v), want %s", what, codeName(got), err, codeName(want))
	}
}

// requireWrongExpectedVersion checks the client's code and the expected/current revisions the client reports in its
// message ("expecting '<expected>' but got '<current>'", the only place it exposes them; doc Appendix A).
func requireWrongExpectedVersion(t testing.TB, err error, expected, current string) {
	t.Helper()
	requireCode(t, err, esdb.ErrorCodeWrongExpectedVersion, "append")
	want := fmt.Sprintf("expecting '%s' but got '%s'", expected, current)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("wrong expected version reported as %q, want it to contain %q (doc §3.2)", err.Error(), want)
	}
}

// requireStatus checks the gRPC status code carried by err (the client wraps the status for codes it does not map).
func requireStatus(t testing.TB, err error, want codes.Code, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want gRPC status %s", what, want)
	}
	if got := status.Code(err); got != want {
		t.Fatalf("%s: gRPC status %s (%v), want %s", what, got, err, want)
	}
}

func pos(p esdb.Position) string { return fmt.Sprintf("C:%d/P:%d", p.Commit, p.Prepare) }

func posLess(a, b esdb.Position) bool {
	return a.Commit < b.Commit || (a.Commit == b.Commit && a.Prepare < b.Prepare)
}

func writePos(wr *esdb.WriteResult) esdb.Position {
	return esdb.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition}
}

// checkEventPosition applies doc §7.3: an event's $all position is never 0 and commit == prepare.
func checkEventPosition(t testing.TB, p esdb.Position, what string) {
	t.Helper()
	if p.Commit == 0 || p.Prepare == 0 {
		t.Errorf("%s: position %s, want never 0 (doc §7.3)", what, pos(p))
	}
	if p.Commit != p.Prepare {
		t.Errorf("%s: position %s, want commit == prepare (doc §7.3)", what, pos(p))
	}
}

// checkStrictlyIncreasing checks $all order (doc §7.3).
func checkStrictlyIncreasing(t testing.TB, evs []*esdb.RecordedEvent, what string) {
	t.Helper()
	for i := range evs {
		checkEventPosition(t, evs[i].Position, fmt.Sprintf("%s: event %d (%s@%d)", what, i, evs[i].StreamID, evs[i].EventNumber))
		if i > 0 && !posLess(evs[i-1].Position, evs[i].Position) {
			t.Errorf("%s: position %s of event %d (%s@%d) does not follow %s of event %d (%s@%d)", what,
				pos(evs[i].Position), i, evs[i].StreamID, evs[i].EventNumber,
				pos(evs[i-1].Position), i-1, evs[i-1].StreamID, evs[i-1].EventNumber)
		}
	}
}

// requireSameEvents compares read events with what was appended, in order.
func requireSameEvents(t testing.TB, got []*esdb.RecordedEvent, want []esdb.EventData, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d event(s) %v, want %d %v", what, len(got), recordedIDs(got), len(want), dataIDs(want))
	}
	for i := range want {
		if got[i].EventID != want[i].EventID {
			t.Fatalf("%s: event %d has id %s, want %s (got %v, want %v)", what, i, got[i].EventID, want[i].EventID, recordedIDs(got), dataIDs(want))
		}
	}
}

func recordedIDs(evs []*esdb.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%s@%d:%s", shortID(e.EventID), e.EventNumber, e.EventType)
	}
	return out
}

func dataIDs(evs []esdb.EventData) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = shortID(e.EventID) + ":" + e.EventType
	}
	return out
}

func shortID(id uuid.UUID) string { return id.String()[:8] }

func revisions(evs []*esdb.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.EventNumber
	}
	return out
}

func requireRevisions(t testing.TB, evs []*esdb.RecordedEvent, want []uint64, what string) {
	t.Helper()
	got := revisions(evs)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: revisions %v, want %v", what, got, want)
	}
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	if from <= to {
		for r := from; r <= to; r++ {
			out = append(out, r)
		}
		return out
	}
	for r := from; ; r-- {
		out = append(out, r)
		if r == to {
			return out
		}
	}
}

// subscription turns an *esdb.Subscription into a channel so that waits can time out.
type subscription struct {
	sub     *esdb.Subscription
	ch      chan *esdb.SubscriptionEvent
	what    string
	lastPos esdb.Position // last event position seen, to check order
	lastCp  esdb.Position // last checkpoint seen, to check that checkpoints never go backwards
}

func watch(t testing.TB, sub *esdb.Subscription, what string) *subscription {
	s := &subscription{sub: sub, ch: make(chan *esdb.SubscriptionEvent, 8192), what: what}
	done := make(chan struct{})
	go func() {
		defer close(s.ch)
		for {
			ev := sub.Recv()
			select {
			case s.ch <- ev:
			case <-done:
				return
			}
			if ev.SubscriptionDropped != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = sub.Close()
		close(done)
	})
	return s
}

func subscribeStream(t testing.TB, c *esdb.Client, stream string, from esdb.StreamPosition) *subscription {
	t.Helper()
	sub, err := c.SubscribeToStream(context.Background(), stream, esdb.SubscribeToStreamOptions{From: from})
	if err != nil {
		t.Fatalf("subscribe to %s from %#v: %v", stream, from, err)
	}
	if sub.Id() == "" {
		t.Errorf("subscribe to %s: confirmation carries an empty subscription id (doc §4.1)", stream)
	}
	return watch(t, sub, "subscription to "+stream)
}

func subscribeAll(t testing.TB, c *esdb.Client, opts esdb.SubscribeToAllOptions) *subscription {
	t.Helper()
	sub, err := c.SubscribeToAll(context.Background(), opts)
	if err != nil {
		t.Fatalf("subscribe to $all from %#v (filter %+v): %v", opts.From, opts.Filter, err)
	}
	if sub.Id() == "" {
		t.Errorf("subscribe to $all: confirmation carries an empty subscription id (doc §4.2)")
	}
	return watch(t, sub, "subscription to $all")
}

// next returns the next message, failing the test after timeout. It checks on the way that event positions strictly
// increase and that checkpoints never go backwards (doc §4.2, §7.3).
func (s *subscription) next(t testing.TB, timeout time.Duration) *esdb.SubscriptionEvent {
	t.Helper()
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return &esdb.SubscriptionEvent{SubscriptionDropped: &esdb.SubscriptionDropped{Error: errors.New("subscription already dropped")}}
		}
		switch {
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.Event
			if e == nil {
				t.Fatalf("%s: event without a recorded event", s.what)
			}
			if e.Position.Commit != math.MaxUint64 { // MaxUint64 = "unknown" from servers before 22.6 (doc §3.3)
				if !posLess(s.lastPos, e.Position) {
					t.Errorf("%s: event %s@%d at %s does not follow %s", s.what, e.StreamID, e.EventNumber, pos(e.Position), pos(s.lastPos))
				}
				s.lastPos = e.Position
			}
		case ev.CheckPointReached != nil:
			cp := *ev.CheckPointReached
			if posLess(cp, s.lastCp) {
				t.Errorf("%s: checkpoint %s goes back from %s (doc §4.2)", s.what, pos(cp), pos(s.lastCp))
			}
			s.lastCp = cp
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("%s: nothing received within %s", s.what, timeout)
		return nil
	}
}

// events returns the next n events accepted by keep (all events when keep is nil), skipping other events, checkpoints
// and caught-up messages. A drop fails the test.
func (s *subscription) events(t testing.TB, n int, keep func(*esdb.RecordedEvent) bool) []*esdb.RecordedEvent {
	t.Helper()
	var out []*esdb.RecordedEvent
	for len(out) < n {
		ev := s.next(t, opTimeout)
		if ev.SubscriptionDropped != nil {
			t.Fatalf("%s: dropped after %d of %d events: %v", s.what, len(out), n, ev.SubscriptionDropped.Error)
		}
		if ev.EventAppeared != nil && (keep == nil || keep(ev.EventAppeared.Event)) {
			out = append(out, ev.EventAppeared.Event)
		}
	}
	return out
}

// untilCaughtUp collects the events accepted by keep and the checkpoints until the caught-up message.
func (s *subscription) untilCaughtUp(t testing.TB, keep func(*esdb.RecordedEvent) bool) ([]*esdb.RecordedEvent, []esdb.Position) {
	t.Helper()
	var evs []*esdb.RecordedEvent
	var cps []esdb.Position
	for {
		ev := s.next(t, opTimeout)
		switch {
		case ev.SubscriptionDropped != nil:
			t.Fatalf("%s: dropped before caught-up: %v", s.what, ev.SubscriptionDropped.Error)
		case ev.CaughtUp != nil:
			return evs, cps
		case ev.CheckPointReached != nil:
			cps = append(cps, *ev.CheckPointReached)
		case ev.EventAppeared != nil:
			if keep == nil || keep(ev.EventAppeared.Event) {
				evs = append(evs, ev.EventAppeared.Event)
			}
		}
	}
}

// requireDropped waits for the subscription to report a drop and returns its error.
func (s *subscription) requireDropped(t testing.TB, timeout time.Duration) error {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s: not dropped within %s", s.what, timeout)
		}
		ev := s.next(t, left)
		if ev.SubscriptionDropped != nil {
			return ev.SubscriptionDropped.Error
		}
	}
}

func inStreams(streams ...string) func(*esdb.RecordedEvent) bool {
	keep := make(map[string]bool, len(streams))
	for _, s := range streams {
		keep[s] = true
	}
	return func(e *esdb.RecordedEvent) bool { return keep[e.StreamID] }
}

// marker appends one event to a fresh stream and returns its position: subscriptions and reads that start from it
// see only what the check writes afterwards.
func marker(t testing.TB, c *esdb.Client) esdb.Position {
	t.Helper()
	wr := appendOK(t, c, newStream("marker"), esdb.NoStream{}, jsonEvent("MarkerPlaced"))
	return writePos(wr)
}
