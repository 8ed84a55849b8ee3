package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/audithistory"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/auditstreams"
)

// The auditor's histories (issue 16 item 1): every event of a member's streams, or of a case's, in commit order,
// decoded, each with its stored bytes. Auditors only; every reading is recorded in the member's access log
// (audit.history) before anything is read from the event store, and a reading that cannot be recorded is refused.

// auditRoles may use the auditor's routes (histories, the past as it was).
var auditRoles = []string{staff.RoleAuditor}

// Errors of the history routes.
var (
	errAuditOff          = failure.New(failure.Unavailable, "audit.unavailable", "audit routes not configured")
	errHistoryPeriod     = failure.New(failure.Invalid, "audit.period_invalid", "from is after to")
	errHistoryFutureTime = failure.New(failure.Invalid, "audit.time_in_future", "a time in the future")
)

// historyPaging: up to 1,000 events a page, so that an auditor reads a member's usual history in one answer.
var historyPaging = paging{Default: 100, Max: 1000, Filters: []listFilter{
	{Name: "from", Description: "Events recorded at or after this instant (RFC 3339; not in the future).",
		Schema: map[string]any{"type": "string", "format": "date-time"}, Parse: parseHistoryTime},
	{Name: "to", Description: "Events recorded before this instant (RFC 3339; not in the future, not before from).",
		Schema: map[string]any{"type": "string", "format": "date-time"}, Parse: parseHistoryTime},
	{Name: "type", Description: "Event types to keep, as stored (MemberRegistered…): a comma-separated list, or the parameter repeated.",
		Schema: map[string]any{"type": "string"}, Parse: parseHistoryTypes},
}}

func parseHistoryTime(_ *http.Request, v string) (any, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, err
	}
	return t, nil
}

var eventTypeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,99}$`)

// parseHistoryTypes reads every value of ?type= (repeated or comma-separated).
func parseHistoryTypes(r *http.Request, _ string) (any, error) {
	var out []string
	for _, v := range r.URL.Query()["type"] {
		for _, t := range strings.Split(v, ",") {
			if !eventTypeName.MatchString(t) {
				return nil, errInvalidFilter
			}
			out = append(out, t)
		}
	}
	if len(out) > 100 {
		return nil, errInvalidFilter
	}
	return out, nil
}

// historyFilter reads the page's cursor and filters into an audithistory.Filter: from after to, or a time in the
// future, is 422 naming the field.
func historyFilter(r *http.Request) (audithistory.Filter, error) {
	p := pageOf(r)
	var f audithistory.Filter
	after, err := audithistory.ParseCursor(p.After)
	if err != nil {
		return f, pageError(r, err)
	}
	f.After = after
	now := time.Now()
	if v, ok := p.Filter("from").(time.Time); ok {
		if v.After(now) {
			return f, failure.Field("from", errHistoryFutureTime)
		}
		f.From = v
	}
	if v, ok := p.Filter("to").(time.Time); ok {
		if v.After(now) {
			return f, failure.Field("to", errHistoryFutureTime)
		}
		f.To = v
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return f, failure.Field("from", errHistoryPeriod)
	}
	if v, ok := p.Filter("type").([]string); ok {
		f.Types = v
	}
	return f, nil
}

type historyBody struct {
	MemberID string        `json:"member_id"`
	CaseID   string        `json:"case_id,omitempty"`
	Events   []historyItem `json:"events"`
	Next     *string       `json:"next"`
}

// historyItem is audithistory.Item with its stored bytes as any JSON value in the document (the Leaf's byte fields
// travel as base64 strings; its shape is the tamper-evidence package's).
type historyItem struct {
	audithistory.Item
	Stored any `json:"stored"`
}

func (s *Server) memberHistory(w http.ResponseWriter, r *http.Request) {
	s.history(w, r, false)
}

func (s *Server) caseHistory(w http.ResponseWriter, r *http.Request) {
	s.history(w, r, true)
}

// history serves one page of a member's or a case's history: id (400), filters (422), scope (404), the reading
// recorded in the member's access log, then the events.
func (s *Server) history(w http.ResponseWriter, r *http.Request, ofCase bool) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := historyFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.deps.AuditHistory == nil {
		s.writeError(w, r, errAuditOff)
		return
	}
	var scope audithistory.Scope
	if ofCase {
		scope, err = s.deps.AuditHistory.CaseScope(r.Context(), id)
		if err == nil {
			err = s.caseVisible(r, id) // a confidential case does not exist outside the medical service
		}
		if failure.KindOf(err) == failure.NotFound {
			err = auditstreams.ErrCaseNotFound
		}
	} else {
		scope, err = s.deps.AuditHistory.MemberScope(r.Context(), id)
		if err == nil {
			scope.Streams, err = s.visibleStreams(r, scope.Streams)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	subject := ""
	if ofCase {
		subject = id.String()
	}
	if err := s.recordAuditReading(r, scope.Member, subject); err != nil {
		s.writeError(w, r, err)
		return
	}
	items, next, err := s.deps.AuditHistory.Page(r.Context(), scope, f, pageOf(r).Limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := historyBody{MemberID: scope.Member.String(), Events: make([]historyItem, len(items)),
		Next: nextOf(audithistory.Cursor(next))}
	if ofCase {
		body.CaseID = id.String()
	}
	for i, it := range items {
		body.Events[i] = historyItem{Item: it, Stored: it.Stored}
	}
	writeJSON(w, http.StatusOK, body)
}

// visibleStreams leaves out of a member's history the streams of cases the caller may not see (a confidential
// case, outside the medical service: medical secrecy covers its existence), or not yet in the queues' read model.
func (s *Server) visibleStreams(r *http.Request, list []auditstreams.Stream) ([]auditstreams.Stream, error) {
	access, err := s.deps.CaseCommands.QueueAccess(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		return nil, err
	}
	return auditstreams.Visible(list, func(id uuid.UUID) (bool, error) {
		return s.deps.Queues.Visible(r.Context(), id, access.CaseCheck)
	})
}

// recordAuditReading records the reading in the member's access log, as an auditor (whatever other roles the
// caller holds: this route is theirs as auditor).
func (s *Server) recordAuditReading(r *http.Request, member uuid.UUID, subject string) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	p := principalOf(r.Context())
	m.Actor = event.Actor{ID: p.ID.String(), Role: event.RoleAuditor}
	_, err = s.deps.StaffCommands.RecordMemberDataOpened(r.Context(), m, p.ID, string(event.RoleAuditor), member,
		staff.ViewAuditHistory, subject)
	return err
}
