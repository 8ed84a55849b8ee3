package command

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The staff commands on cases. Each reads the acting staff member's roles and queues from their account stream,
// then decides on the case: auditors and administrators never act on cases (case.role_forbidden, also when the
// session acts in the auditor role), caseworkers only on cases of their queues (case.outside_queues), supervisors on
// any queue. The cases of a confidential queue (medical content) are worked only by members of the medical service
// (staff.RoleMedical): to anyone else, supervisors included, such a case is servicerequest.not_found. The role is
// read at every call, so removing it takes effect at once.

// CaseAction is what one staff command asks of a case: ClaimCase, ReleaseCase, ReassignCase,
// RequestCaseInformation, DecideCase or AddCaseNote. Cases.Act runs each of them through the same checks.
type CaseAction interface {
	// op names the command in its errors (failure.Error.Op).
	op() string
	// decider reads what the decision needs besides the case and the acting staff member (before the store's
	// decision: no read inside it) and returns the decision.
	decider(ctx context.Context, c *core) (caseDecision, error)
}

// caseDecision asks the aggregate for one staff member's change on a case, at business time now.
type caseDecision func(r *servicerequest.ServiceRequest, by staffMember, now time.Time) error

// Act runs action on case requestID for staff member staffID (see the staff commands above). expectedRevision is
// the case's revision the person saw (If-Match): a case that moved since is a Conflict (failure.Conflict, nothing
// recorded). Without it the decision is made on the latest revision, and decided again after a lost race. A case
// that does not exist is servicerequest.not_found. Result.Revision is the case's revision after the command: its
// new ETag. Errors are those of the action (see each) and case.*, wrapped with the action's operation.
func (h *Cases) Act(ctx context.Context, m Meta, staffID, requestID uuid.UUID, expectedRevision *uint64, action CaseAction) (Result, error) {
	op := action.op()
	decide, err := action.decider(ctx, &h.core)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	s, m, err := h.caseActor(ctx, m, staffID)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	res, err := h.decideCase(ctx, m, s, requestID, expectedRevision, caseRetries, decide)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return res, nil
}

// ClaimCase gives the case to the acting caseworker (nothing recorded when they already hold it). Errors:
// servicerequest.already_claimed (Conflict: another caseworker holds it), .closed, .not_found, case.*.
type ClaimCase struct{}

func (ClaimCase) op() string { return "command.ClaimCase" }

func (ClaimCase) decider(context.Context, *core) (caseDecision, error) {
	return func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
		return r.Claim(by.id)
	}, nil
}

// ReleaseCase gives the case back to its queue. Errors: servicerequest.not_claimed, .not_yours, .closed,
// .not_found, case.*.
type ReleaseCase struct{}

func (ReleaseCase) op() string { return "command.ReleaseCase" }

func (ReleaseCase) decider(context.Context, *core) (caseDecision, error) {
	return func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
		return r.Release(by.id)
	}, nil
}

// ReassignCase gives the case to staff member To, by the acting supervisor's decision, whoever held it. The new
// holder must be a supervisor or a caseworker of the case's queue, and for a confidential queue a member of the
// medical service. Errors: case.supervisor_required (Forbidden), "to" (case.assignee_ineligible,
// case.assignee_medical_required: Invalid), servicerequest.closed, .not_found, .assignee_invalid.
type ReassignCase struct {
	To uuid.UUID
}

func (ReassignCase) op() string { return "command.ReassignCase" }

func (a ReassignCase) decider(ctx context.Context, c *core) (caseDecision, error) {
	target, err := c.loadStaffMember(ctx, a.To)
	if err != nil {
		return nil, err
	}
	return func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
		if !by.has(staff.RoleSupervisor) {
			return ErrSupervisorRequired
		}
		if a.To == uuid.Nil {
			return servicerequest.ErrAssigneeInvalid
		}
		switch err := target.mayWork(r.Queue()); {
		case errors.Is(err, ErrQueueMedicalOnly):
			return failure.Field("to", ErrAssigneeNotMedical)
		case err != nil:
			return failure.Field("to", ErrAssigneeIneligible)
		}
		return r.Reassign(by.id, a.To)
	}, nil
}

// RequestCaseInformation asks the member, on a case the acting caseworker holds, for Items by Deadline; the legal
// clock stops until the answer. Errors: servicerequest.information_items_invalid, .information_deadline_invalid,
// .awaiting_information, .not_claimed, .not_yours, .closed, .not_found, case.*.
type RequestCaseInformation struct {
	Items    []string
	Deadline time.Time
}

func (RequestCaseInformation) op() string { return "command.RequestCaseInformation" }

func (a RequestCaseInformation) decider(context.Context, *core) (caseDecision, error) {
	return func(r *servicerequest.ServiceRequest, by staffMember, now time.Time) error {
		return r.RequestInformation(by.id, a.Items, a.Deadline.UTC(), now)
	}, nil
}

// DecideCase records the express decision on a case the acting caseworker holds (a rejection needs its Reason)
// and closes the case. The decision records the catalogue version the request was submitted under and the rule
// applied: that version's rules for the request's service, named "<service code>" (the catalogue has no finer
// decision rules yet). Errors: servicerequest.closed (Rule), .awaiting_information, .reason_required,
// .reason_too_long, .not_claimed, .not_yours, .not_found, case.*.
type DecideCase struct {
	Approved bool
	Reason   string
}

func (DecideCase) op() string { return "command.DecideCase" }

func (a DecideCase) decider(context.Context, *core) (caseDecision, error) {
	decision := servicerequest.Rejected
	if a.Approved {
		decision = servicerequest.Approved
	}
	return func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
		code, version := r.Service()
		c, err := catalog.Load(version)
		if err != nil {
			return fmt.Errorf("catalogue of the request: %w", err)
		}
		if _, err := c.Lookup(code); err != nil {
			return fmt.Errorf("service of the request: %w", err)
		}
		return r.Decide(servicerequest.Decided{Caseworker: by.id, Decision: decision,
			Reason: strings.TrimSpace(a.Reason), CatalogVersion: version, RuleApplied: code,
			AuthorName: by.name, AuthorPosition: by.position}) // L212-1: the decision names its author
	}, nil
}

// AddCaseNote records an internal note (staff only, never shown to the member) on a case, also on a closed case.
// Errors: servicerequest.note_invalid, .not_found, case.*.
type AddCaseNote struct {
	Text string
}

func (AddCaseNote) op() string { return "command.AddCaseNote" }

func (a AddCaseNote) decider(context.Context, *core) (caseDecision, error) {
	return func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
		return r.AddNote(by.id, a.Text)
	}, nil
}

// ClaimNext claims for staffID the first case of candidates (the queue projection's open, unclaimed cases of
// queue, earliest due first) that is still unclaimed in queue: a case taken meanwhile by someone else, closed or
// moved is passed over. Errors: queue.not_found, case.outside_queues, case.role_forbidden, queue.medical_only (a
// confidential queue, outside the medical service), queue.empty (NotFound: no candidate could be claimed).
//
// A retry with the same Meta.CommandID finds its earlier claim again when that case comes before any other free
// one in candidates (each candidate's claim has its own command id, derived from Meta.CommandID and the case).
func (h *Cases) ClaimNext(ctx context.Context, m Meta, staffID uuid.UUID, queue string, candidates []uuid.UUID) (ClaimNextResult, error) {
	const op = "command.ClaimNext"
	if _, ok := catalog.Current().Queue(queue); !ok {
		return ClaimNextResult{}, failure.Op(op, ErrQueueNotFound)
	}
	s, m, err := h.caseActor(ctx, m, staffID)
	if err != nil {
		return ClaimNextResult{}, failure.Op(op, err)
	}
	if err := s.mayWork(queue); err != nil {
		return ClaimNextResult{}, failure.Op(op, err)
	}
	for _, id := range candidates {
		if id == uuid.Nil {
			continue
		}
		res, err := h.decideCase(ctx, m, s, id, nil, 0, func(r *servicerequest.ServiceRequest, by staffMember, _ time.Time) error {
			if _, closed := r.Closed(); closed || r.Queue() != queue || r.Assignee() != uuid.Nil {
				return errSkipCandidate
			}
			return r.Claim(by.id)
		})
		switch {
		case err == nil:
			return ClaimNextResult{Result: res, RequestID: id}, nil
		case errors.Is(err, errSkipCandidate), errors.Is(err, failure.Conflict),
			errors.Is(err, servicerequest.ErrNotFound), errors.Is(err, servicerequest.ErrClosed):
			continue // taken by someone else a moment ago (a lost race is a Conflict), or gone
		default:
			return ClaimNextResult{}, failure.Op(op, err)
		}
	}
	return ClaimNextResult{}, failure.Op(op, ErrQueueEmpty)
}

// caseActor reads staff member staffID and checks they may act on cases at all; it fills in Meta's actor (the
// staff member in their acting role) when the caller left it empty.
func (h *Cases) caseActor(ctx context.Context, m Meta, staffID uuid.UUID) (staffMember, Meta, error) {
	if m.Actor.Role == event.RoleAuditor {
		return staffMember{}, m, ErrCaseRoleForbidden
	}
	s, err := h.loadStaffMember(ctx, staffID)
	if err != nil {
		return staffMember{}, m, err
	}
	role := s.actingRole()
	if role == "" {
		return staffMember{}, m, ErrCaseRoleForbidden
	}
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: staffID.String(), Role: role}
	}
	return s, h.withCommandID(m), nil
}

// decideCase decides on case requestID for staff member s: the case must exist and be of a queue s may work (a
// case of a confidential queue s may not work does not exist for s). retries applies only without expectedRevision.
func (h *Cases) decideCase(ctx context.Context, m Meta, s staffMember, requestID uuid.UUID, expectedRevision *uint64,
	retries int, decide caseDecision) (Result, error) {
	if requestID == uuid.Nil {
		return Result{}, servicerequest.ErrNotFound
	}
	now := h.clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	if expectedRevision != nil {
		rev := *expectedRevision
		cmd.ExpectedRevision = &rev
	} else {
		cmd.RetryOnConflict = retries
	}
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := servicerequest.Rehydrate(requestID, history)
		if !r.Submitted() {
			return nil, servicerequest.ErrNotFound
		}
		if err := s.mayWork(r.Queue()); err != nil {
			if errors.Is(err, ErrQueueMedicalOnly) {
				return nil, servicerequest.ErrNotFound // medical secrecy: not even the case's existence
			}
			return nil, err
		}
		if err := decide(r, s, now); err != nil {
			return nil, err
		}
		return r.Events(), nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Position: commit.Position, Revision: commit.Revision}, nil
}
