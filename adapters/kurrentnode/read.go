package kurrentnode

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
)

const (
	pageSize      = 512
	pageBytes     = 4 << 20
	defaultWindow = 32 // KurrentDB's DefaultReadBatchSize, the window of a `count{}` filter
	linkEventType = "$>"
)

// reader is one Read call: a plain read or a catch-up subscription.
type reader struct {
	node       *Node
	srv        streams.Streams_ReadServer
	ctx        context.Context
	structured bool
	resolve    bool
	filter     *eventFilter
}

// Read serves stream and $all reads and catch-up subscriptions.
func (s *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	o := req.GetOptions()
	r := &reader{node: s.node, srv: srv, ctx: srv.Context(), resolve: o.GetResolveLinks(),
		structured: o.GetUuidOption().GetString_() == nil}
	err := r.serve(o)
	return finish(r.ctx, srv.SetTrailer, err)
}

func (r *reader) serve(o *streams.ReadReq_Options) error {
	if o == nil {
		return invalidArgument("invalid-argument", "Read options are required.")
	}
	if f := o.GetFilter(); f != nil {
		if o.GetAll() == nil {
			return invalidArgument("invalid-argument", "Filters apply to $all only.")
		}
		ef, err := newEventFilter(f)
		if err != nil {
			return err
		}
		r.filter = ef
	}
	backwards := o.GetReadDirection() == streams.ReadReq_Options_Backwards
	subscribe := o.GetSubscription() != nil
	if subscribe && backwards {
		return invalidArgument("invalid-argument", "Subscriptions read forwards only.")
	}
	if so := o.GetStream(); so != nil {
		stream := string(so.GetStreamIdentifier().GetStreamName())
		if stream == "" {
			return invalidArgument("invalid-argument", "Stream name must not be empty.")
		}
		if subscribe {
			return r.subscribeStream(stream, so)
		}
		return r.readStream(stream, so, backwards, o.GetCount())
	}
	ao := o.GetAll()
	if ao == nil {
		return invalidArgument("invalid-argument", "Read options must name a stream or $all.")
	}
	if subscribe {
		return r.subscribeAll(ao)
	}
	return r.readAll(ao, backwards, o.GetCount())
}

func (r *reader) readStream(stream string, so *streams.ReadReq_Options_StreamOptions, backwards bool, count uint64) error {
	var next int64
	switch {
	case so.GetStart() != nil:
		next = 0 // backwards from the start reads revision 0 only
	case so.GetEnd() != nil:
		next = math.MaxInt64
	default:
		next = int64(min(so.GetRevision(), math.MaxInt64))
	}
	for sent := uint64(0); sent < count; {
		spans, revs, st, maxAge, err := r.node.store.streamPage(stream, next, backwards, int(min(count-sent, pageSize)))
		if err != nil {
			return err
		}
		switch st {
		case streamDeleted:
			return streamDeletedStatus(stream)
		case streamNotFound:
			if sent == 0 {
				return r.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{
					StreamNotFound: &streams.ReadResp_StreamNotFound{StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)}}}})
			}
			return nil
		}
		if len(spans) == 0 {
			return nil
		}
		n, err := r.sendStreamEvents(spans, maxAge)
		if err != nil {
			return err
		}
		sent += uint64(n)
		if backwards {
			next = revs[len(revs)-1] - 1
			if next < 0 {
				return nil
			}
		} else {
			next = revs[len(revs)-1] + 1
		}
	}
	return nil
}

// sendStreamEvents reads the records of a page of a stream and sends those maxAge leaves visible; it returns how
// many it sent.
func (r *reader) sendStreamEvents(spans []span, maxAge time.Duration) (int, error) {
	recs, err := r.node.store.readSpans(spans)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := range recs {
		if expired(&recs[i], maxAge) {
			continue
		}
		if err := r.sendEvent(&recs[i]); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

func expired(rec *record, maxAge time.Duration) bool {
	return maxAge > 0 && rec.Created < time.Now().Add(-maxAge).UnixNano()/100
}

func (r *reader) readAll(ao *streams.ReadReq_Options_AllOptions, backwards bool, count uint64) error {
	var from uint64
	switch {
	case ao.GetStart() != nil:
		if backwards {
			return nil
		}
	case ao.GetEnd() != nil:
		if !backwards {
			return nil
		}
		from = math.MaxUint64
	default:
		from = ao.GetPosition().GetCommitPosition()
	}
	for sent := uint64(0); sent < count; {
		spans, err := r.node.store.allPage(from, backwards, pageSize, pageBytes)
		if err != nil {
			return err
		}
		if len(spans) == 0 {
			return nil
		}
		recs, err := r.node.store.readSpans(spans)
		if err != nil {
			return err
		}
		for i := range recs {
			if sent == count {
				break
			}
			if r.filter != nil && !r.filter.match(&recs[i]) {
				continue
			}
			if err := r.sendEvent(&recs[i]); err != nil {
				return err
			}
			sent++
		}
		last := spans[len(spans)-1].pos
		if backwards {
			from = last
		} else {
			from = last + 1
		}
	}
	return nil
}

func (r *reader) confirm() error {
	return r.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}})
}

func (r *reader) caughtUp() error {
	return r.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{CaughtUp: &streams.ReadResp_CaughtUp{}}})
}

// wait blocks until the next commit or the end of the call or of the node.
func (r *reader) wait(notify <-chan struct{}) error {
	select {
	case <-notify:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-r.node.ctx.Done():
		return &rpcError{code: codes.Unavailable, msg: "server is shutting down"}
	}
}

// subscribeStream is a catch-up subscription to one stream: confirmation, the events after the start
// (exclusive), caught-up, then live events. It pulls pages after its last revision and, at the head, waits
// for the next commit; taking the notification channel before reading leaves no gap between catch-up and live.
func (r *reader) subscribeStream(stream string, so *streams.ReadReq_Options_StreamOptions) error {
	var next int64
	switch {
	case so.GetStart() != nil:
	case so.GetEnd() != nil:
		last, _, err := r.node.store.streamEnd(stream)
		if err != nil {
			return err
		}
		next = last + 1
	default:
		next = int64(min(so.GetRevision(), math.MaxInt64-1)) + 1
	}
	if _, deleted, err := r.node.store.streamEnd(stream); err != nil {
		return err
	} else if deleted {
		return streamDeletedStatus(stream)
	}
	if err := r.confirm(); err != nil {
		return err
	}
	live := false
	for {
		_, notify := r.node.store.head()
		spans, revs, st, maxAge, err := r.node.store.streamPage(stream, next, false, pageSize)
		if err != nil {
			return err
		}
		if st == streamDeleted {
			return streamDeletedStatus(stream)
		}
		if len(spans) > 0 {
			if _, err := r.sendStreamEvents(spans, maxAge); err != nil {
				return err
			}
			next = revs[len(revs)-1] + 1
		}
		if len(spans) == pageSize {
			live = false
			continue
		}
		if !live {
			if err := r.caughtUp(); err != nil {
				return err
			}
			live = true
		}
		if err := r.wait(notify); err != nil {
			return err
		}
	}
}

// subscribeAll is a catch-up subscription to $all, optionally filtered. With a filter, a checkpoint is sent
// every `interval` considered events, at the end of the catch-up and never backwards, so a consumer whose
// filter matches nothing can still record its progress.
func (r *reader) subscribeAll(ao *streams.ReadReq_Options_AllOptions) error {
	var from uint64
	switch {
	case ao.GetStart() != nil:
	case ao.GetEnd() != nil:
		from, _ = r.node.store.head()
	default:
		from = ao.GetPosition().GetCommitPosition() + 1 // exclusive
	}
	if err := r.confirm(); err != nil {
		return err
	}
	var (
		live       bool
		considered int
		lastSeen   uint64 // last position looked at
		lastCheck  uint64 // last checkpoint sent
	)
	checkpoint := func() error {
		if r.filter == nil || lastSeen == 0 || lastSeen <= lastCheck {
			return nil
		}
		lastCheck, considered = lastSeen, 0
		return r.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
			CommitPosition: lastSeen, PreparePosition: lastSeen}}})
	}
	for {
		_, notify := r.node.store.head()
		spans, err := r.node.store.allPage(from, false, pageSize, pageBytes)
		if err != nil {
			return err
		}
		if len(spans) > 0 {
			recs, err := r.node.store.readSpans(spans)
			if err != nil {
				return err
			}
			for i := range recs {
				considered++
				lastSeen = recs[i].Pos
				if r.filter == nil || r.filter.match(&recs[i]) {
					if err := r.sendEvent(&recs[i]); err != nil {
						return err
					}
				}
			}
			from = lastSeen + 1
			if r.filter != nil && considered >= r.filter.interval {
				if err := checkpoint(); err != nil {
					return err
				}
			}
		}
		if len(spans) == pageSize {
			live = false
			continue
		}
		if !live {
			if err := checkpoint(); err != nil {
				return err
			}
			if err := r.caughtUp(); err != nil {
				return err
			}
			live = true
		}
		if err := r.wait(notify); err != nil {
			return err
		}
	}
}

// sendEvent sends one event, resolving `$>` links when asked.
func (r *reader) sendEvent(rec *record) error {
	ev := &streams.ReadResp_ReadEvent{Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: rec.Pos}}
	if r.resolve && rec.Type == linkEventType {
		ev.Link = r.recorded(rec)
		target, err := r.node.store.resolveLink(rec.Data)
		if err != nil {
			return err
		}
		if target != nil {
			ev.Event = r.recorded(target)
		}
	} else {
		ev.Event = r.recorded(rec)
	}
	return r.srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Event{Event: ev}})
}

// recorded converts a record, filling every field the client relies on (a missing `created` or stream
// identifier crashes it).
func (r *reader) recorded(rec *record) *streams.ReadResp_ReadEvent_RecordedEvent {
	ct := "application/octet-stream"
	if rec.JSON {
		ct = "application/json"
	}
	id := protoUUID(rec.ID)
	if !r.structured {
		id = &shared.UUID{Value: &shared.UUID_String_{String_: rec.ID.String()}}
	}
	return &streams.ReadResp_ReadEvent_RecordedEvent{
		Id:               id,
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(rec.Stream)},
		StreamRevision:   rec.Revision,
		PreparePosition:  rec.Pos,
		CommitPosition:   rec.Pos,
		Metadata: map[string]string{
			"type":         rec.Type,
			"content-type": ct,
			"created":      strconv.FormatInt(rec.Created, 10),
		},
		CustomMetadata: rec.Metadata,
		Data:           rec.Data,
	}
}

// eventFilter is a server-side $all filter on stream name or event type, by prefixes or an (unanchored)
// regular expression.
type eventFilter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
	interval int
}

func newEventFilter(f *streams.ReadReq_Options_FilterOptions) (*eventFilter, error) {
	expr := f.GetStreamIdentifier()
	ef := &eventFilter{}
	if expr == nil {
		expr, ef.onType = f.GetEventType(), true
	}
	if expr == nil {
		return nil, invalidArgument("invalid-argument", "A filter needs a stream-name or event-type expression.")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, invalidArgument("invalid-argument", fmt.Sprintf("Invalid filter regular expression: %v", err))
		}
		ef.re = re
	} else {
		ef.prefixes = expr.GetPrefix()
	}
	window := defaultWindow
	if m := f.GetMax(); m > 0 {
		window = int(m)
	}
	mult := int(f.GetCheckpointIntervalMultiplier())
	if mult == 0 {
		return nil, invalidArgument("invalid-argument", "Checkpoint interval multiplier must be greater than zero.")
	}
	ef.interval = window * mult
	return ef, nil
}

func (f *eventFilter) match(rec *record) bool {
	s := rec.Stream
	if f.onType {
		s = rec.Type
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return len(f.prefixes) == 0
}
