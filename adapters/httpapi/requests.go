package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections/casefiles"
	"github.com/msa-dossier/dossier/projections/documentsubmissions"
	"github.com/msa-dossier/dossier/projections/memberrequests"
)

// Service requests, the member's side: submit (with an immediate acknowledgement of receipt), list, read,
// withdraw, answer a request for information. A member only ever reaches their own requests: the member id
// comes from the session and the read model checks ownership.

type submitRequest struct {
	Service string         `json:"service"` // a catalog service code
	Form    map[string]any `json:"form"`
}

// acknowledgementBody is the acknowledgement of receipt (CRPA R112-5) returned at once.
//
// Days and instants: HandlingDueOn and ImplicitDecisionOn are the last days of the periods (YYYY-MM-DD in
// TimeZone, Europe/Paris); HandlingDueAt and ImplicitDecisionAt are the instants those days end, 00:00 of the next
// day in Europe/Paris. From ImplicitDecisionAt on, silence is a decision; before it, it is not.
type acknowledgementBody struct {
	RequestID     uuid.UUID `json:"request_id"`
	Reference     string    `json:"reference"`
	ReceivedAt    time.Time `json:"received_at"`
	HandlingDueOn string    `json:"handling_due_on"`
	HandlingDueAt time.Time `json:"handling_due_at"`
	// ImplicitDecisionOn is the last day of silence; ImplicitDecisionAt the instant it ends.
	ImplicitDecisionOn string     `json:"implicit_decision_on,omitempty"`
	ImplicitDecisionAt *time.Time `json:"implicit_decision_at,omitempty"`
	// ImplicitDecision is "acceptance" or "rejection": what silence means from ImplicitDecisionAt on; "none"
	// when no implicit decision arises (a document delivered by right, a declaration), ImplicitDecisionAt omitted.
	ImplicitDecision string `json:"implicit_decision,omitempty"`
	TimeZone         string `json:"time_zone"`
	AppealRoutes     string `json:"appeal_routes"`
	// ServiceInCharge is the service handling the request (R112-5 2°: name, postal address, phone, email).
	ServiceInCharge servicerequest.ServiceInCharge `json:"service_in_charge"`
	Position        string                         `json:"position"`
}

func (s *Server) submitRequest(w http.ResponseWriter, r *http.Request) {
	var in submitRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.CaseCommands.SubmitRequest(r.Context(), m, member, command.SubmitInput{Service: in.Service, Form: in.Form})
		return http.StatusCreated, res.Position, acknowledgementOf(res), err
	})
}

// acknowledgementOf is the answer to a filed request: the member's submission, or a case opened from a deposit.
func acknowledgementOf(res command.SubmitResult) acknowledgementBody {
	return acknowledgementBody{RequestID: res.RequestID, Reference: res.Reference,
		ReceivedAt: res.ReceivedAt, HandlingDueOn: res.HandlingDueOn, HandlingDueAt: res.HandlingDueAt,
		ImplicitDecisionOn: res.ImplicitDecisionOn, ImplicitDecisionAt: res.ImplicitDecisionAt,
		ImplicitDecision: res.Outcome, TimeZone: res.TimeZone, AppealRoutes: res.AppealRoutes,
		ServiceInCharge: res.ServiceInCharge, Position: formatPosition(res.Position)}
}

type withdrawalRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (s *Server) withdrawRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in withdrawalRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.CaseCommands.WithdrawRequest(r.Context(), m, member, id, in.Reason)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type informationAnswer struct {
	What string `json:"what"` // the member's answer (documents arrive with the documents issue)
}

func (s *Server) provideInformation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in informationAnswer
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.CaseCommands.ProvideInformation(r.Context(), m, member, id, in.What)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type requestsBody struct {
	Requests []memberrequests.Request `json:"requests"`
	Next     *string                  `json:"next"`
}

// listRequests lists a page of the caller's own requests, newest first.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Requests.Page(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	for i := range list {
		if err := s.notifyAppeal(r.Context(), principalOf(r.Context()).ID, &list[i]); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, requestsBody{Requests: nonNilSlice(list), Next: nextOf(next)})
}

// notifyAppeal joins, at read time, a rejected request's decision letter (the member's inbox, memberdocuments) to
// its appeal: the time to seize the CRA runs from the letter's notification (first opening, or deemed 15 days after
// it was made available), pending before. One lookup by primary key per rejected request of the page.
func (s *Server) notifyAppeal(ctx context.Context, member uuid.UUID, req *memberrequests.Request) error {
	if req.Decision == nil || req.Decision.Appeal == nil || s.deps.Inbox == nil {
		return nil
	}
	d, err := s.deps.Inbox.Get(ctx, member, command.InboxDocumentID(inbox.KindDecisionLetter, req.ID))
	if errors.Is(err, inbox.ErrNotFound) {
		return nil // not published yet: pending, without availability
	}
	if err != nil {
		return err
	}
	return req.Notify(&memberrequests.Letter{AvailableAt: d.PublishedAt, DeemedAt: d.DeemedAt, NotifiedAt: d.NotifiedAt,
		Deemed: d.Deemed})
}

// requestBody is one of the member's requests with the form they submitted (labelled with its catalog version) and
// its timeline: the steps the member is told about, with their own answers, never an internal note or who in the
// fund did what.
type requestBody struct {
	memberrequests.Request
	Form     casefiles.Form         `json:"form"`
	Timeline []casefiles.MemberStep `json:"timeline"`
	// Documents are the member's deposits in the request's case file (documents.go), the oldest first.
	Documents []documentsubmissions.Deposit `json:"documents"`
}

// getRequest returns one of the caller's requests; another member's is not found. The form and the timeline come
// from the case file, filtered for the member there; a case file the read model has not built yet answers 503
// consistency.not_reached (retry).
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member := principalOf(r.Context()).ID
	req, err := s.deps.Requests.Get(r.Context(), member, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.notifyAppeal(r.Context(), member, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	file, err := s.deps.CaseFiles.ForMember(r.Context(), member, id)
	if errors.Is(err, casefiles.ErrNotFound) {
		err = errNotReached // the request is the member's (checked above), its case file is not built yet
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var deposits []documentsubmissions.Deposit
	if s.deps.Deposits != nil {
		if deposits, err = s.deps.Deposits.OfCase(r.Context(), id); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, requestBody{Request: req, Form: file.Form, Timeline: nonNilSlice(file.Timeline),
		Documents: nonNilSlice(deposits)})
}
