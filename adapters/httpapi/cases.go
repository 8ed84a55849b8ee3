package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections/casefiles"
	"github.com/msa-dossier/dossier/projections/casequeues"
)

// Caseworker queues and case work. Every mutation accepts If-Match with the case's ETag (its stream revision):
// a case that moved since the caseworker looked at it answers 409 and nothing is recorded. Every mutation answers
// with the case's new ETag (header, and "revision" in the body), so changes chain without reading the case again.
// What a staff member sees (queues, counts, cases, their own cases) comes from command.QueueAccess, read from their
// account's stream at each request: a confidential (medical) queue only for the medical service's staff.

// caseRoles may work cases; auditors read only (the commands refuse them).
var caseRoles = []string{"caseworker", "supervisor"}

// caseReadRoles may read queues and cases.
var caseReadRoles = []string{"caseworker", "supervisor", "auditor"}

var errIfMatch = failure.New(failure.Invalid, "request.invalid_if_match", "invalid If-Match")

// ifMatch parses If-Match: the ETag of a case, its revision in quotes ("12"). Absent: nil.
func ifMatch(r *http.Request) (*uint64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil, nil
	}
	h = strings.TrimPrefix(h, "W/")
	rev, err := strconv.ParseUint(strings.Trim(h, `"`), 10, 64)
	if err != nil {
		return nil, errIfMatch
	}
	return &rev, nil
}

// etagOf is a case's ETag.
func etagOf(revision uint64) string { return `"` + strconv.FormatUint(revision, 10) + `"` }

// caseChangeBody answers a case mutation: the commit position (read-your-writes) and the case's new revision, the
// value of the ETag header (in quotes there) to send back as If-Match.
type caseChangeBody struct {
	Position string `json:"position"`
	Revision uint64 `json:"revision"`
}

// caseCommand runs a staff command on the case named in the path, with its If-Match, and answers with the case's
// new ETag. action builds the command from the decoded body in (nil: no body): every case mutation takes this one
// path, so each honours If-Match the same way (a stale ETag is a 409, nothing recorded).
func (s *Server) caseCommand(w http.ResponseWriter, r *http.Request, in any, action func() command.CaseAction) {
	s.staffRevisionCommand(w, r, in, func(m command.Meta, staffID, id uuid.UUID, expected *uint64) (command.Result, error) {
		return s.deps.CaseCommands.Act(r.Context(), m, staffID, id, expected, action())
	})
}

// staffRevisionCommand is the one HTTP path of a staff mutation of an aggregate named in the path ({id}) under
// If-Match: act runs the command with the caller, the id and the expected revision, and the answer carries the new
// revision as ETag (cases and conversations alike).
func (s *Server) staffRevisionCommand(w http.ResponseWriter, r *http.Request, in any,
	act func(m command.Meta, staffID, id uuid.UUID, expected *uint64) (command.Result, error)) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	expected, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	staffID := principalOf(r.Context()).ID
	s.runCommand(w, r, in, func(m command.Meta) (int, uint64, any, error) {
		res, err := act(m, staffID, id, expected)
		if err == nil {
			w.Header().Set("ETag", etagOf(res.Revision))
		}
		return http.StatusOK, res.Position, caseChangeBody{Position: formatPosition(res.Position), Revision: res.Revision}, err
	})
}

func (s *Server) claimCase(w http.ResponseWriter, r *http.Request) {
	s.caseCommand(w, r, nil, func() command.CaseAction { return command.ClaimCase{} })
}

func (s *Server) releaseCase(w http.ResponseWriter, r *http.Request) {
	s.caseCommand(w, r, nil, func() command.CaseAction { return command.ReleaseCase{} })
}

type assignmentRequest struct {
	To uuid.UUID `json:"to"` // the caseworker (or supervisor) who takes the case
}

func (s *Server) reassignCase(w http.ResponseWriter, r *http.Request) {
	var in assignmentRequest
	s.caseCommand(w, r, &in, func() command.CaseAction { return command.ReassignCase{To: in.To} })
}

type informationRequest struct {
	Items    []string  `json:"items"`    // what the member must provide, in French
	Deadline time.Time `json:"deadline"` // RFC 3339; after it the case lapses and closes
}

func (s *Server) requestCaseInformation(w http.ResponseWriter, r *http.Request) {
	var in informationRequest
	s.caseCommand(w, r, &in, func() command.CaseAction {
		return command.RequestCaseInformation{Items: in.Items, Deadline: in.Deadline}
	})
}

type decisionRequest struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"` // required for a rejection
}

func (s *Server) decideCase(w http.ResponseWriter, r *http.Request) {
	var in decisionRequest
	s.caseCommand(w, r, &in, func() command.CaseAction {
		return command.DecideCase{Approved: in.Approved, Reason: in.Reason}
	})
}

type noteRequest struct {
	Text string `json:"text"` // internal: staff only, never shown to the member
}

func (s *Server) addCaseNote(w http.ResponseWriter, r *http.Request) {
	var in noteRequest
	s.caseCommand(w, r, &in, func() command.CaseAction { return command.AddCaseNote{Text: in.Text} })
}

type claimNextBody struct {
	RequestID uuid.UUID `json:"request_id"`
	Position  string    `json:"position"`
	Revision  uint64    `json:"revision"` // the claimed case's new revision, also its ETag header
}

// claimNext claims the queue's open case that is due first and not yet claimed, and answers with its ETag.
func (s *Server) claimNext(w http.ResponseWriter, r *http.Request) {
	queue := r.PathValue("queue")
	staffID := principalOf(r.Context()).ID
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		candidates, err := s.deps.Queues.NextCandidates(r.Context(), queue, 20)
		if err != nil {
			return 0, 0, nil, err
		}
		res, err := s.deps.CaseCommands.ClaimNext(r.Context(), m, staffID, queue, candidates)
		if err == nil {
			w.Header().Set("ETag", etagOf(res.Revision))
		}
		return http.StatusOK, res.Position, claimNextBody{RequestID: res.RequestID, Position: formatPosition(res.Position),
			Revision: res.Revision}, err
	})
}

// pathQueue reads the queue named in the path ({queue}) and checks that the caller sees it (queueAccess); false:
// the request is answered.
func (s *Server) pathQueue(w http.ResponseWriter, r *http.Request) (string, bool) {
	queue := r.PathValue("queue")
	access, ok := s.queueAccess(w, r)
	if !ok {
		return "", false
	}
	if err := access.Check(queue); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return queue, true
}

// queueAccess reads what the caller may see (supervisors and auditors every queue, caseworkers their own; a
// confidential queue only the medical service), from their account's stream.
func (s *Server) queueAccess(w http.ResponseWriter, r *http.Request) (command.QueueAccess, bool) {
	a, err := s.deps.CaseCommands.QueueAccess(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return command.QueueAccess{}, false
	}
	return a, true
}

type queuesBody struct {
	Queues []casequeues.QueueStats `json:"queues"`
}

// listQueues gives, for each queue the caller sees, its open cases, claimed ones, oldest and breaches.
func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	access, ok := s.queueAccess(w, r)
	if !ok {
		return
	}
	stats, err := s.deps.Queues.Counts(r.Context(), access.Queues())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, queuesBody{Queues: nonNilSlice(stats)})
}

type casesBody struct {
	Cases []staffCase `json:"cases"`
	Next  *string     `json:"next"`
}

// staffCase is a case as staff read it in queues and case views: the queue's view with its assignee's name.
type staffCase struct {
	casequeues.Case
	// AssigneeName is the display name of assignee_id (null: unclaimed, or an account the staff directory has not
	// reached yet). Staff routes only: a member never reads a staff name or id.
	AssigneeName *string `json:"assignee_name"`
}

// staffStep is a timeline step as staff read it, with its actor's name when a staff member acted.
type staffStep struct {
	casefiles.Step
	// ActorName is the display name of a staff actor (absent for members, system reactions, unknown accounts).
	ActorName string `json:"actor_name,omitempty"`
}

// isStaffRole reports whether an actor acting in role is a staff member (their id a staff account's).
func isStaffRole(role event.Role) bool {
	switch role {
	case event.RoleCaseworker, event.RoleSupervisor, event.RoleAuditor, event.RoleAdmin:
		return true
	}
	return false
}

// staffNames reads the names of the staff ids of one response in one query (no query per row). Without a staff
// directory (Deps.StaffNames nil) it names nobody.
func (s *Server) staffNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	if s.deps.StaffNames == nil || len(ids) == 0 {
		return map[uuid.UUID]string{}, nil
	}
	return s.deps.StaffNames.Names(ctx, ids)
}

// namedCases names the assignees of cases, and the staff actors of steps, in one lookup.
func (s *Server) namedCases(ctx context.Context, cases []casequeues.Case, steps []casefiles.Step) ([]staffCase, []staffStep, error) {
	var ids []uuid.UUID
	for _, c := range cases {
		if c.Assignee != nil {
			ids = append(ids, *c.Assignee)
		}
	}
	for _, st := range steps {
		if isStaffRole(st.Actor.Role) {
			if id, err := uuid.Parse(st.Actor.ID); err == nil {
				ids = append(ids, id)
			}
		}
	}
	names, err := s.staffNames(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	outCases := make([]staffCase, len(cases))
	for i, c := range cases {
		outCases[i] = staffCase{Case: c}
		if c.Assignee != nil {
			if n, ok := names[*c.Assignee]; ok {
				outCases[i].AssigneeName = &n
			}
		}
	}
	outSteps := make([]staffStep, len(steps))
	for i, st := range steps {
		outSteps[i] = staffStep{Step: st}
		if isStaffRole(st.Actor.Role) {
			if id, err := uuid.Parse(st.Actor.ID); err == nil {
				outSteps[i].ActorName = names[id]
			}
		}
	}
	return outCases, outSteps, nil
}

// writeCases answers a page of cases with their assignees' names and the cursor of the next page.
func (s *Server) writeCases(w http.ResponseWriter, r *http.Request, cases []casequeues.Case, next string) {
	named, _, err := s.namedCases(r.Context(), cases, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, casesBody{Cases: named, Next: nextOf(next)})
}

// casesPaging is the paging of the lists of cases; a queue's cases filter by assignee ("me" or a staff id), and
// ?after= is the cursor's name before the convention.
var (
	casesPaging = paging{Default: casequeues.DefaultLimit, Max: casequeues.MaxLimit, Alias: "after",
		Filters: []listFilter{{Name: "assignee", Description: "Only the cases held by this caseworker: \"me\" (the caller) or a staff id.",
			Schema: map[string]any{"anyOf": []any{map[string]any{"type": "string", "const": "me"},
				map[string]any{"type": "string", "format": "uuid"}}},
			Parse: parseAssignee}}}
	myCasesPaging = paging{Default: casequeues.DefaultLimit, Max: casequeues.MaxLimit}
)

// parseAssignee reads ?assignee=: "me" (the caller) or a staff id.
func parseAssignee(r *http.Request, v string) (any, error) {
	if v == "me" {
		return principalOf(r.Context()).ID, nil
	}
	id, err := uuid.Parse(v)
	if err != nil || id == uuid.Nil || len(v) != 36 {
		return nil, errInvalidFilter
	}
	return id, nil
}

// listCases lists a page of a queue's open cases by due date (?assignee=, ?limit=, ?cursor=).
func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	queue, ok := s.pathQueue(w, r)
	if !ok {
		return
	}
	pg := pageOf(r)
	f := casequeues.Filter{After: pg.After, Limit: pg.Limit}
	if a, ok := pg.Filter("assignee").(uuid.UUID); ok {
		f.Assignee = &a
	}
	cases, next, err := s.deps.Queues.Page(r.Context(), queue, f)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	s.writeCases(w, r, cases, next)
}

// myCases lists a page of the caller's own open cases across queues, earliest due first; a case the caller may no
// longer see (a queue or the medical role taken away since they claimed it) is left out, so a page may hold fewer
// cases than the limit: only a null next ends the list.
func (s *Server) myCases(w http.ResponseWriter, r *http.Request) {
	access, ok := s.queueAccess(w, r)
	if !ok {
		return
	}
	cases, next, err := s.deps.Queues.MinePage(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	visible := slices.DeleteFunc(cases, func(c casequeues.Case) bool { return access.CaseCheck(c.Queue) != nil })
	s.writeCases(w, r, visible, next)
}

// caseBody is a case as staff read it: the queue's view (status, dates, assignee and their name, ETag revision),
// whose request it is, the form the member submitted (labelled with its catalog version) and every step of its life,
// internal notes included (staff_only), with the names of the staff who acted.
type caseBody struct {
	staffCase
	MemberID uuid.UUID      `json:"member_id"`
	Form     casefiles.Form `json:"form"`
	Timeline []staffStep    `json:"timeline"`
}

// caseFileView names the opening of a case file in the member's access log (staff.MemberDataOpened.What).
const caseFileView = "case.file"

// getCase returns a case of a queue the caller sees, with its ETag for If-Match (a case of a confidential queue is
// not found for staff outside the medical service), its case file and timeline. The case file is the member's
// personal data: the opening is recorded in the member's access log before it is answered (no record, no data),
// at every opening, with the request's reference (what the member knows it by). A case file the read model has not built yet answers 503 consistency.not_reached (retry).
func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	access, ok := s.queueAccess(w, r)
	if !ok {
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Queues.Get(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := access.CaseCheck(c.Queue); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			err = casequeues.ErrNotFound // the very answer for a case that does not exist
		}
		s.writeError(w, r, err)
		return
	}
	file, err := s.deps.CaseFiles.Get(r.Context(), id)
	if errors.Is(err, casefiles.ErrNotFound) {
		err = errNotReached // the queues have the case, the case files not yet: a read a moment later finds it
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The opening is recorded while the staff names are read; both must succeed before anything is answered (no
	// record, no data).
	var (
		named    []staffCase
		steps    []staffStep
		namesErr error
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		named, steps, namesErr = s.namedCases(r.Context(), []casequeues.Case{c}, file.Timeline)
	}()
	p := principalOf(r.Context())
	_, recordErr := s.deps.StaffCommands.RecordMemberDataOpened(r.Context(), m, p.ID, string(staffActorRole(p.Roles)),
		file.MemberID, caseFileView, c.Reference)
	wg.Wait()
	if recordErr != nil {
		s.writeError(w, r, recordErr)
		return
	}
	if namesErr != nil {
		s.writeError(w, r, namesErr)
		return
	}
	w.Header().Set("ETag", etagOf(c.Revision))
	writeJSON(w, http.StatusOK, caseBody{staffCase: named[0], MemberID: file.MemberID, Form: file.Form, Timeline: steps})
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
