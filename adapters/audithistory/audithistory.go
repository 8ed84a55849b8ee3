// Package audithistory reads the auditor's histories: every event of every stream of a member, or of a case, or of
// a period of the whole log, in commit order, decoded (sealed fields opened, erased ones shown as erased), each with
// its stored bytes (auditlog.Leaf) so that a line can be checked against the Merkle tree of the log.
//
// The streams of a member or a case come from the auditstreams read model; their events are read from the event
// store through the official client (kurrentdb.Client), merged by commit position, filtered and cut to a page, and
// only the events of the page are decoded.
package audithistory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/auditstreams"
)

// Reader reads histories. It is safe for concurrent use.
type Reader struct {
	client   *kurrentdb.Client
	registry *event.Registry
	streams  *auditstreams.Queries
}

// New returns a reader of the events client serves, opened with registry (with the key store's sealer, so sealed
// fields read in clear or as erased), finding the streams of a member or a case in streams.
func New(client *kurrentdb.Client, registry *event.Registry, streams *auditstreams.Queries) *Reader {
	return &Reader{client: client, registry: registry, streams: streams}
}

// Scope is what a history covers: the member whose data it is and the streams to read.
type Scope struct {
	Member  uuid.UUID
	Case    uuid.UUID // zero for a member's history
	Streams []auditstreams.Stream
}

// MemberScope returns the scope of member id's history (auditstreams.ErrMemberNotFound for an unknown member).
func (r *Reader) MemberScope(ctx context.Context, id uuid.UUID) (Scope, error) {
	list, err := r.streams.MemberStreams(ctx, id)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Member: id, Streams: list}, nil
}

// CaseScope returns the scope of case id's history: its request stream and its reference claim
// (auditstreams.ErrCaseNotFound for an unknown case).
func (r *Reader) CaseScope(ctx context.Context, id uuid.UUID) (Scope, error) {
	list, m, err := r.streams.CaseStreams(ctx, id)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Member: m, Case: id, Streams: list}, nil
}

// Filter narrows a history. The zero Filter keeps everything.
type Filter struct {
	// From and To bound the recorded time (the store's commit time, monotonic with the commit order in practice):
	// From inclusive, To exclusive; zero: unbounded.
	From, To time.Time
	// Types keeps the events of these types (as stored); empty: every type.
	Types []string
	// After keeps the events committed after this position (a page's cursor).
	After uint64
}

func (f Filter) keep(rec event.Record) bool {
	if rec.Position <= f.After {
		return false
	}
	if !f.From.IsZero() && rec.RecordedAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !rec.RecordedAt.Before(f.To) {
		return false
	}
	return len(f.Types) == 0 || slices.Contains(f.Types, rec.Type)
}

// Actor is who caused an event, in which role.
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// Item is one event of a history: the same shape on the HTTP API and in `dossier audit export`.
type Item struct {
	// Position is the commit position, in digits (positions exceed 2^53).
	Position      string    `json:"position"`
	Stream        string    `json:"stream"`
	Revision      uint64    `json:"revision"`
	EventID       uuid.UUID `json:"event_id"`
	Type          string    `json:"type"`
	SchemaVersion int       `json:"schema_version"`
	// OccurredAt is the business time of the fact; RecordedAt the store's time of the commit.
	OccurredAt    time.Time `json:"occurred_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	Actor         Actor     `json:"actor"`
	CommandID     uuid.UUID `json:"command_id"`
	CorrelationID uuid.UUID `json:"correlation_id"`
	CausationID   uuid.UUID `json:"causation_id"`
	// Subject is the data subject whose key seals the event's personal fields.
	Subject uuid.UUID `json:"subject"`
	// Erased is true when the subject's key was destroyed: personal texts read "données effacées".
	Erased bool `json:"erased"`
	// Data is the event decoded (upcast to its current schema, personal fields opened).
	Data json.RawMessage `json:"data"`
	// Undecodable, when set, says why Data is null (an event this binary cannot decode); the line is still there.
	Undecodable string `json:"undecodable,omitempty"`
	// Stored is the event exactly as the store holds it, as the Merkle tree of the log hashes it.
	Stored auditlog.Leaf `json:"stored"`
}

// raw is an event as read, before decoding.
type raw struct {
	rec  event.Record
	leaf auditlog.Leaf
}

func rawOf(re *esdb.RecordedEvent) raw { return rawOfRecord(kurrentdb.RecordOf(re)) }

func rawOfRecord(rec event.Record) raw { return raw{rec: rec, leaf: auditlog.LeafOf(rec)} }

// readers bounds the streams read at once for one page; decodeChunk is the events a decoding goroutine takes at a time.
const (
	readers     = 4
	decodeChunk = 64
)

// Page returns at most limit events of the scope's history matching f, in commit order, and the position to pass as
// the next page's Filter.After (0 after the last page).
func (r *Reader) Page(ctx context.Context, s Scope, f Filter, limit int) ([]Item, uint64, error) {
	if limit < 1 {
		return nil, 0, errors.New("audithistory: limit below 1")
	}
	// The streams are read concurrently (a few at a time: each read is a round trip to the store).
	var todo []string
	for _, st := range s.Streams {
		if st.LastPosition > f.After { // else nothing of it after the cursor
			todo = append(todo, st.Stream)
		}
	}
	got := make([][]raw, len(todo))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, name := range todo {
		g.Go(func() (err error) {
			got[i], err = r.readStream(gctx, name, f)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	all := slices.Concat(got...)
	slices.SortFunc(all, func(a, b raw) int { return cmpPos(a.rec.Position, b.rec.Position) })
	all = slices.CompactFunc(all, func(a, b raw) bool { return a.rec.Position == b.rec.Position })
	var next uint64
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].rec.Position
	}
	// Decoding (opening sealed fields, JSON) is independent per event: spread over the cores.
	items := make([]Item, len(all))
	workers := min(runtime.GOMAXPROCS(0), (len(all)+decodeChunk-1)/decodeChunk)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := w * decodeChunk; start < len(all); start += workers * decodeChunk {
				for i := start; i < min(start+decodeChunk, len(all)); i++ {
					items[i] = r.item(all[i])
				}
			}
		}()
	}
	wg.Wait()
	return items, next, nil
}

func cmpPos(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Each calls fn with every event of the scope's history matching f, in commit order, page by page.
func (r *Reader) Each(ctx context.Context, s Scope, f Filter, fn func(Item) error) error {
	for {
		items, next, err := r.Page(ctx, s, f, 1000)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		f.After = next
	}
}

// Period calls fn with every event of the whole log matching f (a period: From and To), in commit order, reading
// $all from the start; progress, when set, is told the position reached (to compare with the head of the log).
func (r *Reader) Period(ctx context.Context, f Filter, fn func(Item) error, progress func(position uint64)) error {
	return r.client.ReadAll(ctx, "audithistory.Period", false, 0, 4096, func(rec event.Record) error {
		if progress != nil {
			progress(rec.Position)
		}
		if !f.keep(rec) {
			return nil
		}
		return fn(r.item(rawOfRecord(rec)))
	})
}

// PeriodMembers returns the members whose histories hold events of the whole log matching f (a period), for the
// access logs an export of the period is recorded in: the streams of those events are read from $all (nothing is
// decoded) and each one is linked, through the auditstreams read model, to the members whose history holds it (as
// MemberStreams does: the stream's subject when it is a member, the member it is linked to, the member of its case).
// A stream that is no member's (a staff member's, the audit tree's heads) adds none.
func (r *Reader) PeriodMembers(ctx context.Context, f Filter) ([]uuid.UUID, error) {
	streams := map[string]bool{}
	if err := r.client.ReadAll(ctx, "audithistory.PeriodMembers", false, 0, 4096, func(rec event.Record) error {
		if f.keep(rec) {
			streams[rec.Stream] = true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	found := map[uuid.UUID]bool{}
	isMember := map[string]bool{}
	caseMember := map[string]uuid.UUID{}
	add := func(id string) error {
		m, err := uuid.Parse(id)
		if err != nil {
			return fmt.Errorf("audithistory: member id %q: %w", id, err)
		}
		found[m] = true
		return nil
	}
	for stream := range streams {
		s, err := r.streams.Get(ctx, stream)
		if errors.Is(err, sql.ErrNoRows) {
			continue // not linked to anyone (yet)
		}
		if err != nil {
			return nil, err
		}
		if s.MemberID != nil {
			if err := add(*s.MemberID); err != nil {
				return nil, err
			}
		}
		if s.CaseID != nil {
			m, ok := caseMember[*s.CaseID]
			if !ok {
				if id, err := uuid.Parse(*s.CaseID); err == nil {
					_, m, err = r.streams.CaseStreams(ctx, id)
					if err != nil && !errors.Is(err, auditstreams.ErrCaseNotFound) {
						return nil, err
					}
				}
				caseMember[*s.CaseID] = m
			}
			if m != uuid.Nil {
				found[m] = true
			}
		}
		if s.Subject != "" {
			ok, seen := isMember[s.Subject]
			if !seen {
				_, err := r.streams.Get(ctx, member.Category+"-"+s.Subject)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, err
				}
				ok = err == nil
				isMember[s.Subject] = ok
			}
			if ok {
				if err := add(s.Subject); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make([]uuid.UUID, 0, len(found))
	for m := range found {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// readStream reads a whole stream forwards and keeps the events matching f.
func (r *Reader) readStream(ctx context.Context, stream string, f Filter) ([]raw, error) {
	var out []raw
	err := r.client.Call(ctx, "audithistory.ReadStream", func(ctx context.Context, es *esdb.Client) error {
		var got []raw
		defer func() { out = got }()
		rs, err := es.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Start{}}, math.MaxUint64)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			re, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			var nf *esdb.Error
			if err != nil && errors.As(err, &nf) && nf.Code() == esdb.ErrorCodeResourceNotFound {
				return nil // deleted since the read model saw it
			}
			if err != nil {
				return err
			}
			if re.Event == nil || strings.HasPrefix(re.Event.EventType, "$") {
				continue
			}
			if e := rawOf(re.Event); f.keep(e.rec) {
				got = append(got, e)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("audithistory: read %s: %w", stream, err)
	}
	return out, nil
}

// item decodes one event. An event that cannot be decoded keeps its line, with the reason and its stored bytes.
func (r *Reader) item(e raw) Item {
	it := Item{
		Position: strconv.FormatUint(e.rec.Position, 10), Stream: e.rec.Stream, Revision: e.rec.Revision,
		EventID: e.rec.EventID, Type: e.rec.Type, RecordedAt: e.rec.RecordedAt.UTC(), Stored: e.leaf,
		Data: json.RawMessage("null"),
	}
	env, err := r.registry.Open(e.rec)
	if err != nil {
		it.Undecodable = err.Error()
		var m event.Metadata
		if json.Unmarshal(e.rec.Metadata, &m) == nil {
			fillMeta(&it, m)
		}
		return it
	}
	fillMeta(&it, env.Metadata)
	if it.Subject == uuid.Nil {
		it.Subject = env.Stream.ID
	}
	it.Type, it.Erased = env.Type, env.Erased
	if b, err := json.Marshal(env.Event); err == nil {
		it.Data = b
	} else {
		it.Undecodable = err.Error()
	}
	return it
}

func fillMeta(it *Item, m event.Metadata) {
	it.SchemaVersion = max(m.SchemaVersion, 1)
	it.OccurredAt = m.OccurredAt.UTC()
	it.Actor = Actor{ID: m.Actor.ID, Role: string(m.Actor.Role)}
	it.CommandID, it.CorrelationID, it.CausationID, it.Subject = m.CommandID, m.CorrelationID, m.CausationID, m.Subject
}

// Cursor is the opaque cursor of the page after position (projections' convention).
func Cursor(position uint64) string {
	if position == 0 {
		return ""
	}
	return projections.EncodeCursor(strconv.FormatUint(position, 10))
}

// ParseCursor returns the position a Cursor names, or projections.ErrInvalidCursor.
func ParseCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	parts, err := projections.DecodeCursor(c, 1)
	if err != nil {
		return 0, err
	}
	p, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil || p == 0 {
		return 0, projections.ErrInvalidCursor
	}
	return p, nil
}
