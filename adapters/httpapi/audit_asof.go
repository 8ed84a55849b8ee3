package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/asof"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/casequeues"
)

// The auditor's "past as it was" (issue 16 item 2): a member's account and a queue as the live read models showed
// them at a commit position or an instant, rebuilt by the same projection code into scratch storage (adapters/asof).

// AuditAsOf builds the views of the past (adapters/asof.Views satisfies it).
type AuditAsOf interface {
	Account(ctx context.Context, memberID uuid.UUID, at asof.At) (accounts.Account, asof.Point, error)
	Queue(ctx context.Context, queue string, at asof.At, f casequeues.Filter) (asof.Queue, error)
}

// asOfBody says which point of the log a view reflects.
type asOfBody struct {
	// Position is the commit position of the last event of the global log the view reflects (a string of digits).
	Position string `json:"position"`
	// RecordedAt is when that event was recorded.
	RecordedAt time.Time `json:"recorded_at"`
	// ReadAt is the instant the view is read at (what depends on the day: a lock, the address in force, ages and
	// breaches): the instant asked, or RecordedAt for a position.
	ReadAt time.Time `json:"read_at"`
}

func asOfOf(p asof.Point) asOfBody {
	return asOfBody{Position: formatPosition(p.Position), RecordedAt: p.RecordedAt.UTC(), ReadAt: p.ReadAt.UTC()}
}

// accountAsOfBody is GET /v1/me's body as it was, with the point it reflects.
type accountAsOfBody struct {
	accountBody
	AsOf asOfBody `json:"as_of"`
}

// queueAsOfBody is a queue as it was: its figures (an entry of GET /v1/queues) and a page of its open cases (GET
// /v1/queues/{queue}/cases), with the point it reflects.
type queueAsOfBody struct {
	AsOf  asOfBody              `json:"as_of"`
	Queue casequeues.QueueStats `json:"queue"`
	Cases []staffCase           `json:"cases"`
	Next  *string               `json:"next"`
}

// parseAtParam reads ?at= (required).
func parseAtParam(r *http.Request) (asof.At, error) {
	at, err := asof.ParseAt(r.URL.Query().Get("at"))
	if err != nil {
		return asof.At{}, failure.Field("at", err)
	}
	return at, nil
}

// atField names ?at= in the refusals of the point asked (before the first event, in the future).
func atField(err error) error {
	if errors.Is(err, asof.ErrBeforeFirstEvent) || errors.Is(err, asof.ErrInFuture) || errors.Is(err, asof.ErrInvalidAt) {
		return failure.Field("at", err)
	}
	return err
}

// asOfQueuePaging declares ?at= on the queue view (read by the handler, which answers the audit codes).
var asOfQueuePaging = paging{Default: casequeues.DefaultLimit, Max: casequeues.MaxLimit,
	Filters: []listFilter{
		{Name: "at", Description: "The point to show: an RFC 3339 instant or a commit position (a string of digits). Required.",
			Schema: map[string]any{"type": "string"}, Parse: func(_ *http.Request, v string) (any, error) {
				at, err := asof.ParseAt(v)
				return at, err
			}},
		casesPaging.Filters[0],
	}}

// accountAsOf answers a member's account as it was at ?at=, recorded in the member's access log first.
func (s *Server) accountAsOf(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	at, err := parseAtParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.deps.AsOf == nil {
		s.writeError(w, r, errAuditOff)
		return
	}
	acc, pt, err := s.deps.AsOf.Account(r.Context(), id, at)
	if err != nil {
		s.writeError(w, r, atField(err))
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	if _, err := s.deps.StaffCommands.RecordMemberDataOpened(r.Context(), m, p.ID, string(event.RoleAuditor), id,
		staff.ViewMemberAccountAsOf, formatPosition(pt.Position)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accountAsOfBody{accountBody: accountBodyOf(acc), AsOf: asOfOf(pt)})
}

// queueAsOf answers a queue's figures and a page of its open cases as they were at ?at=.
func (s *Server) queueAsOf(w http.ResponseWriter, r *http.Request) {
	queue := r.PathValue("queue")
	access, ok := s.queueAccess(w, r)
	if !ok {
		return
	}
	if err := access.Check(queue); err != nil {
		s.writeError(w, r, err)
		return
	}
	pg := pageOf(r)
	at, ok := pg.Filter("at").(asof.At)
	if !ok {
		s.writeError(w, r, failure.Field("at", asof.ErrInvalidAt))
		return
	}
	if s.deps.AsOf == nil {
		s.writeError(w, r, errAuditOff)
		return
	}
	f := casequeues.Filter{After: pg.After, Limit: pg.Limit}
	if a, ok := pg.Filter("assignee").(uuid.UUID); ok {
		f.Assignee = &a
	}
	view, err := s.deps.AsOf.Queue(r.Context(), queue, at, f)
	if err != nil {
		s.writeError(w, r, pageError(r, atField(err)))
		return
	}
	named, _, err := s.namedCases(r.Context(), view.Cases, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, queueAsOfBody{AsOf: asOfOf(view.Point), Queue: view.Stats,
		Cases: nonNilSlice(named), Next: nextOf(view.Next)})
}
