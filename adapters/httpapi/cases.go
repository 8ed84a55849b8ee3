package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections/casequeues"
)

// Caseworker queues and case work. Every mutation accepts If-Match with the case's ETag (its stream revision):
// a case that moved since the caseworker looked at it answers 409 and nothing is recorded.

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

// caseCommand runs a staff command on the case named in the path, with its If-Match.
func (s *Server) caseCommand(w http.ResponseWriter, r *http.Request, in any,
	run func(m command.Meta, staffID, caseID uuid.UUID, expected *uint64) (command.Result, error)) {
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
		res, err := run(m, staffID, id, expected)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

func (s *Server) claimCase(w http.ResponseWriter, r *http.Request) {
	s.caseCommand(w, r, nil, func(m command.Meta, staffID, id uuid.UUID, exp *uint64) (command.Result, error) {
		return s.deps.Commands.ClaimCase(r.Context(), m, staffID, id, exp)
	})
}

func (s *Server) releaseCase(w http.ResponseWriter, r *http.Request) {
	s.caseCommand(w, r, nil, func(m command.Meta, staffID, id uuid.UUID, exp *uint64) (command.Result, error) {
		return s.deps.Commands.ReleaseCase(r.Context(), m, staffID, id, exp)
	})
}

type assignmentRequest struct {
	To uuid.UUID `json:"to"` // the caseworker (or supervisor) who takes the case
}

func (s *Server) reassignCase(w http.ResponseWriter, r *http.Request) {
	var in assignmentRequest
	s.caseCommand(w, r, &in, func(m command.Meta, staffID, id uuid.UUID, exp *uint64) (command.Result, error) {
		return s.deps.Commands.ReassignCase(r.Context(), m, staffID, id, in.To, exp)
	})
}

type informationRequest struct {
	Items    []string  `json:"items"`    // what the member must provide, in French
	Deadline time.Time `json:"deadline"` // RFC 3339; after it the case lapses and closes
}

func (s *Server) requestCaseInformation(w http.ResponseWriter, r *http.Request) {
	var in informationRequest
	s.caseCommand(w, r, &in, func(m command.Meta, staffID, id uuid.UUID, exp *uint64) (command.Result, error) {
		return s.deps.Commands.RequestCaseInformation(r.Context(), m, staffID, id, in.Items, in.Deadline, exp)
	})
}

type decisionRequest struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"` // required for a rejection
}

func (s *Server) decideCase(w http.ResponseWriter, r *http.Request) {
	var in decisionRequest
	s.caseCommand(w, r, &in, func(m command.Meta, staffID, id uuid.UUID, exp *uint64) (command.Result, error) {
		return s.deps.Commands.DecideCase(r.Context(), m, staffID, id, in.Approved, in.Reason, exp)
	})
}

type noteRequest struct {
	Text string `json:"text"` // internal: staff only, never shown to the member
}

func (s *Server) addCaseNote(w http.ResponseWriter, r *http.Request) {
	var in noteRequest
	s.caseCommand(w, r, &in, func(m command.Meta, staffID, id uuid.UUID, _ *uint64) (command.Result, error) {
		return s.deps.Commands.AddCaseNote(r.Context(), m, staffID, id, in.Text)
	})
}

type claimNextBody struct {
	RequestID uuid.UUID `json:"request_id"`
	Position  string    `json:"position"`
}

// claimNext claims the queue's open case that is due first and not yet claimed.
func (s *Server) claimNext(w http.ResponseWriter, r *http.Request) {
	queue := r.PathValue("queue")
	staffID := principalOf(r.Context()).ID
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		candidates, err := s.deps.Queues.NextCandidates(r.Context(), queue, 20)
		if err != nil {
			return 0, 0, nil, err
		}
		res, err := s.deps.Commands.ClaimNext(r.Context(), m, staffID, queue, candidates)
		return http.StatusOK, res.Position, claimNextBody{RequestID: res.RequestID, Position: formatPosition(res.Position)}, err
	})
}

var errOutsideQueues = failure.New(failure.Forbidden, "case.outside_queues", "queue not assigned to the caller")

// visibleQueues are the queues the caller may see: all of them for supervisors and auditors, a caseworker's
// own otherwise (assigned by an admin).
func (s *Server) visibleQueues(r *http.Request) ([]string, error) {
	p := principalOf(r.Context())
	for _, role := range p.Roles {
		if role == "supervisor" || role == "auditor" {
			var all []string
			for _, q := range catalog.Current().Queues() {
				all = append(all, q.Code)
			}
			return all, nil
		}
	}
	return s.deps.Commands.StaffQueues(r.Context(), p.ID)
}

// mayReadQueue answers 403 when the caller may not see queue.
func (s *Server) mayReadQueue(w http.ResponseWriter, r *http.Request, queue string) bool {
	queues, err := s.visibleQueues(r)
	if err != nil {
		s.writeError(w, r, err)
		return false
	}
	if !slices.Contains(queues, queue) {
		s.writeError(w, r, errOutsideQueues)
		return false
	}
	return true
}

type queuesBody struct {
	Queues []casequeues.QueueStats `json:"queues"`
}

// listQueues gives, for each queue the caller sees, its open cases, claimed ones, oldest and breaches.
func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	queues, err := s.visibleQueues(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stats, err := s.deps.Queues.Counts(r.Context(), queues)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, queuesBody{Queues: nonNilSlice(stats)})
}

type casesBody struct {
	Cases []casequeues.Case `json:"cases"`
}

// listCases lists a queue's open cases by due date (?assignee=me for "my cases" in it, ?after= to page).
func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	queue := r.PathValue("queue")
	if !s.mayReadQueue(w, r, queue) {
		return
	}
	f := casequeues.Filter{After: r.URL.Query().Get("after")}
	if r.URL.Query().Get("assignee") == "me" {
		me := principalOf(r.Context()).ID
		f.Assignee = &me
	}
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil {
		f.Limit = l
	}
	cases, err := s.deps.Queues.List(r.Context(), queue, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, casesBody{Cases: nonNilSlice(cases)})
}

// myCases lists the caller's own open cases across queues.
func (s *Server) myCases(w http.ResponseWriter, r *http.Request) {
	cases, err := s.deps.Queues.Mine(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, casesBody{Cases: nonNilSlice(cases)})
}

// getCase returns a case of a queue the caller sees, with its ETag for If-Match.
func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.Queues.Get(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.mayReadQueue(w, r, c.Queue) {
		return
	}
	w.Header().Set("ETag", etagOf(c.Revision))
	writeJSON(w, http.StatusOK, c)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
