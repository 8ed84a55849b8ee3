package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database (a scratch container)

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The errors of service request commands this file adds (the aggregate's own are servicerequest.Errors, the
// catalogue's catalog.Errors).
var (
	// ErrQueueNotFound is a queue named by a path that the current catalogue does not list.
	ErrQueueNotFound = failure.New(failure.NotFound, "queue.not_found", "queue not found")
)

// requestNamespace derives a request id from (command id, member id), so that a retried submission (same
// Idempotency-Key) names the same request. Stored stream names depend on it: never change it.
var requestNamespace = uuid.MustParse("eb1c527d-628d-4e2f-8058-6c4100936bd9")

// Retries of the case commands.
const (
	// caseRetries applies to staff commands sent without If-Match and to member and system commands: the aggregate
	// checks each decision again over the newer history (who holds the case, whether it is closed), so deciding
	// again is safe. With If-Match the person decided on what they saw, and a moved case is a Conflict.
	caseRetries = 3
	// maxReferenceAttempts bounds the search for a free reference (a collision has odds of about 10⁻⁷).
	maxReferenceAttempts = 8
	// lapseActor names the scheduled reaction when the caller leaves the actor empty.
	lapseActor = "reactions/information-deadline"
)

// errReferenceTaken stops a reference claim whose stream belongs to another request.
var errReferenceTaken = errors.New("reference taken")

// errSkipCandidate stops a claim-next attempt on a case that is no longer a candidate.
var errSkipCandidate = errors.New("not a candidate")

// caseLocation is the calendar of legal dates: the fund's, Europe/Paris.
var caseLocation = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600) // unreachable with time/tzdata linked in
	}
	return loc
}()

// SubmitInput is a member's request: a service code of the catalogue and its form, as decoded from JSON.
type SubmitInput struct {
	Service string
	Form    map[string]any
}

// SubmitResult is the acknowledgement of receipt: the reference, the instant received, the handling target, the
// day silence becomes a decision (nil when the rule gives none) and what it means ("acceptance", "rejection", or
// "none" when silence decides nothing: a document delivered by right, a declaration), and the appeal routes (lines
// separated by "\n").
type SubmitResult struct {
	Result
	RequestID          uuid.UUID
	Reference          string
	ReceivedAt         time.Time
	ImplicitDecisionAt *time.Time
	Outcome            string
	AppealRoutes       string
	HandlingDueAt      time.Time
}

// ClaimNextResult is the case a claim-next gave the caseworker.
type ClaimNextResult struct {
	Result
	RequestID uuid.UUID
}

// requestIDFor is the request a submission creates: derived from its command id and the member, so a retry with
// the same Idempotency-Key returns the same request, and two members can never collide on a key.
func requestIDFor(commandID, memberID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(requestNamespace, append(commandID[:], memberID[:]...))
}

// requestService is what the aggregate needs from a catalogue entry: queue, deadlines and appeal routes. A silence
// rule without implicit decision (catalog.SilenceNone) has no period. An outcome the aggregate does not know is a
// bug of the catalogue (internal).
func requestService(c *catalog.Catalog, s catalog.Service) (servicerequest.Service, error) {
	var silence servicerequest.SilenceRule
	switch s.Silence.Outcome {
	case catalog.SilenceAcceptance:
		silence = servicerequest.SilenceRule{Outcome: servicerequest.Acceptance,
			Period: servicerequest.Period{Count: s.Silence.AfterMonths, Unit: servicerequest.Months}}
	case catalog.SilenceRejection:
		silence = servicerequest.SilenceRule{Outcome: servicerequest.Rejection,
			Period: servicerequest.Period{Count: s.Silence.AfterMonths, Unit: servicerequest.Months}}
	case catalog.SilenceNone:
		silence = servicerequest.SilenceRule{Outcome: servicerequest.NoImplicitDecision}
	default:
		return servicerequest.Service{}, failure.Errorf(failure.Internal, "service %q: silence outcome %q",
			s.Code, s.Silence.Outcome)
	}
	return servicerequest.Service{
		Code:           s.Code,
		CatalogVersion: c.Version(),
		Queue:          s.Queue,
		Deadlines: servicerequest.Deadlines{
			Silence:      silence,
			HandlingTime: servicerequest.Period{Count: s.TargetHandlingDays, Unit: servicerequest.Days},
		},
		AppealRoutes: strings.Join(s.AppealRoutes, "\n"),
	}, nil
}

// SubmitRequest records member memberID's request for service in.Service of the current catalogue: the form is
// validated first (nothing is written on an error), a unique reference is claimed on its own stream
// (servicerequestref-…, expecting no stream; the next candidate on a collision), then Submitted, Acknowledged and
// Queued are appended on servicerequest-<id>. The answer is the acknowledgement of receipt, its dates computed by
// servicerequest.Clock in Europe/Paris.
//
// The request id derives from Meta.CommandID (the Idempotency-Key) and the member: a retry with the same key returns
// the same request and acknowledgement and appends nothing. Errors: "service" (catalog.unknown_service,
// catalog.not_a_request), request.form_invalid (a catalog.FieldErrors naming each field). A service whose silence
// gives no implicit decision (catalog.SilenceNone) is acknowledged with its handling target and no
// implicit-decision day.
func (h *Handler) SubmitRequest(ctx context.Context, m Meta, memberID uuid.UUID, in SubmitInput) (SubmitResult, error) {
	const op = "command.SubmitRequest"
	if memberID == uuid.Nil {
		return SubmitResult{}, fmt.Errorf("%s: no member id", op)
	}
	c := catalog.Current()
	svc, err := c.Lookup(in.Service)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("%s: %w", op, failure.Field("service", err))
	}
	form, err := c.Validate(svc.Code, in.Form)
	if err != nil {
		if errors.Is(err, catalog.ErrNotARequest) || errors.Is(err, catalog.ErrUnknownService) {
			err = failure.Field("service", err)
		}
		return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
	}
	rs, err := requestService(c, svc)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
	}
	raw, err := json.Marshal(form)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("%s: encode form: %w", op, err)
	}
	m = withActor(h.withCommandID(m), memberID)
	id := requestIDFor(m.CommandID, memberID)
	stream := servicerequest.StreamID(id)

	// A retry of a submission that went through answers from the stored events (its reference may be of an
	// earlier year than now's).
	history, err := h.Store.Load(ctx, stream)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if !servicerequest.Rehydrate(id, history).Submitted() {
		now := h.Clock().UTC()
		ref, err := h.claimReference(ctx, m, id, now)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
		}
		cmd := h.commandAt(m, stream, now)
		cmd.RetryOnConflict = 1 // a concurrent retry of this very command is then recognised as such
		if _, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			r := servicerequest.Rehydrate(id, history)
			err := r.Submit(servicerequest.Submission{MemberID: memberID, Form: raw, CommandID: m.CommandID, Reference: ref},
				rs, now, caseLocation)
			return r.Events(), err
		}); err != nil {
			return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
		}
		if history, err = h.Store.Load(ctx, stream); err != nil {
			return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	res, err := acknowledgement(id, history)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// claimReference claims a reference for request id received at now: the first free candidate of
// servicerequest.DeriveReference, or the one this request already holds (a retry).
func (h *Handler) claimReference(ctx context.Context, m Meta, id uuid.UUID, now time.Time) (string, error) {
	year := now.In(caseLocation).Year()
	for attempt := range maxReferenceAttempts {
		ref := servicerequest.DeriveReference(id, year, attempt)
		stream := servicerequest.ReferenceStreamID(ref)
		cmd := h.commandAt(m, stream, now)
		cmd.RetryOnConflict = 1 // a lost race is decided again: taken by another request, or ours (a retry)
		_, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			for _, env := range history {
				if c, ok := env.Event.(servicerequest.ReferenceClaimed); ok && c.RequestID == id {
					return nil, nil
				}
			}
			if len(history) > 0 {
				return nil, errReferenceTaken
			}
			return []any{servicerequest.ReferenceClaimed{Reference: ref, RequestID: id}}, nil
		})
		switch {
		case errors.Is(err, errReferenceTaken):
			continue
		case err != nil:
			return "", err
		}
		return ref, nil
	}
	return "", fmt.Errorf("no free reference for request %s after %d attempts", id, maxReferenceAttempts)
}

// acknowledgement builds the answer to a submission from the request's stored events.
func acknowledgement(id uuid.UUID, history []event.Envelope) (SubmitResult, error) {
	r := servicerequest.Rehydrate(id, history)
	if !r.Submitted() {
		return SubmitResult{}, servicerequest.ErrNotFound
	}
	clock, err := servicerequest.Clock(history, r.Deadlines(), caseLocation)
	if err != nil {
		return SubmitResult{}, err
	}
	res := SubmitResult{RequestID: id, Reference: r.Reference(), ReceivedAt: clock.ReceivedAt,
		Outcome: string(clock.Outcome), HandlingDueAt: clock.DueAt}
	if !clock.ImplicitDecisionAt.IsZero() {
		at := clock.ImplicitDecisionAt
		res.ImplicitDecisionAt = &at
	}
	var submission uuid.UUID
	for _, env := range history {
		switch e := env.Event.(type) {
		case servicerequest.Submitted:
			submission = env.Metadata.CommandID
		case servicerequest.Acknowledged:
			res.AppealRoutes = e.AppealRoutes
		}
		if env.Metadata.CommandID == submission {
			// the submission's last event: the read-your-writes token and the request's revision
			res.Position, res.Revision = env.Position, env.Revision
		}
	}
	return res, nil
}

// WithdrawRequest records that member memberID withdraws request requestID (reason is optional), which closes it.
// Another member's request is servicerequest.not_found. Errors: servicerequest.not_found, servicerequest.closed.
func (h *Handler) WithdrawRequest(ctx context.Context, m Meta, memberID, requestID uuid.UUID, reason string) (Result, error) {
	const op = "command.WithdrawRequest"
	res, err := h.onRequestAsMember(ctx, m, memberID, requestID, func(r *servicerequest.ServiceRequest, _ time.Time) error {
		return r.Withdraw(memberID, strings.TrimSpace(reason))
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// ProvideInformation records member memberID's answer to the information requested on request requestID; the
// legal clock restarts. Errors: servicerequest.not_found (also for another member's request), .closed,
// .not_awaiting_information, .information_late (the deadline passed: the lapse reaction closes the request),
// .information_answer_invalid.
func (h *Handler) ProvideInformation(ctx context.Context, m Meta, memberID, requestID uuid.UUID, what string) (Result, error) {
	const op = "command.ProvideInformation"
	res, err := h.onRequestAsMember(ctx, m, memberID, requestID, func(r *servicerequest.ServiceRequest, now time.Time) error {
		return r.ReceiveInformation(memberID, what, now)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// onRequestAsMember runs a member's decision on their request; anyone else's request (or none) is
// servicerequest.ErrNotFound, so members never learn that another member's request exists.
func (h *Handler) onRequestAsMember(ctx context.Context, m Meta, memberID, requestID uuid.UUID,
	decide func(r *servicerequest.ServiceRequest, now time.Time) error) (Result, error) {
	if memberID == uuid.Nil || requestID == uuid.Nil {
		return Result{}, servicerequest.ErrNotFound
	}
	m = withActor(h.withCommandID(m), memberID)
	now := h.Clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = caseRetries
	commit, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := servicerequest.Rehydrate(requestID, history)
		if !r.Submitted() || r.MemberID() != memberID {
			return nil, servicerequest.ErrNotFound
		}
		if err := decide(r, now); err != nil {
			return nil, err
		}
		return r.Events(), nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Position: commit.Position, Revision: commit.Revision}, nil
}

// The staff commands. Each reads the acting staff member's roles and queues from their account stream, then decides
// on the case: auditors and administrators never act on cases (case.role_forbidden, also when the session acts in
// the auditor role), caseworkers only on cases of their queues (case.outside_queues), supervisors on any queue. The
// cases of a confidential queue (medical content) are worked only by members of the medical service
// (staff.RoleMedical): to anyone else, supervisors included, such a case is servicerequest.not_found. The role is
// read at every call, so removing it takes effect at once. expectedRevision is the case's revision the person saw
// (If-Match): a case that moved since is a Conflict. Without it the decision is made on the latest revision (and
// decided again after a lost race). A case that does not exist is servicerequest.not_found. Result.Revision is the
// case's revision after the command: its new ETag.

// ClaimCase gives case requestID to caseworker staffID (nothing recorded when they already hold it). Errors:
// servicerequest.already_claimed (Conflict: another caseworker holds it), .closed, .not_found, case.*.
func (h *Handler) ClaimCase(ctx context.Context, m Meta, staffID, requestID uuid.UUID, expectedRevision *uint64) (Result, error) {
	const op = "command.ClaimCase"
	res, err := h.onCase(ctx, m, staffID, requestID, expectedRevision, func(r *servicerequest.ServiceRequest, _ staffMember, _ time.Time) error {
		return r.Claim(staffID)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// ClaimNext claims for staffID the first case of candidates (the queue projection's open, unclaimed cases of
// queue, earliest due first) that is still unclaimed in queue: a case taken meanwhile by someone else, closed or
// moved is passed over. Errors: queue.not_found, case.outside_queues, case.role_forbidden, queue.medical_only (a
// confidential queue, outside the medical service), queue.empty (NotFound: no candidate could be claimed).
//
// A retry with the same Meta.CommandID finds its earlier claim again when that case comes before any other free
// one in candidates (each candidate's claim has its own command id, derived from Meta.CommandID and the case).
func (h *Handler) ClaimNext(ctx context.Context, m Meta, staffID uuid.UUID, queue string, candidates []uuid.UUID) (ClaimNextResult, error) {
	const op = "command.ClaimNext"
	if _, ok := catalog.Current().Queue(queue); !ok {
		return ClaimNextResult{}, fmt.Errorf("%s: %w", op, ErrQueueNotFound)
	}
	s, m, err := h.caseActor(ctx, m, staffID)
	if err != nil {
		return ClaimNextResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := s.mayWork(queue); err != nil {
		return ClaimNextResult{}, fmt.Errorf("%s: %w", op, err)
	}
	for _, id := range candidates {
		if id == uuid.Nil {
			continue
		}
		res, err := h.decideCase(ctx, m, s, id, nil, 0, func(r *servicerequest.ServiceRequest, _ staffMember, _ time.Time) error {
			if _, closed := r.Closed(); closed || r.Queue() != queue || r.Assignee() != uuid.Nil {
				return errSkipCandidate
			}
			return r.Claim(staffID)
		})
		switch {
		case err == nil:
			return ClaimNextResult{Result: res, RequestID: id}, nil
		case errors.Is(err, errSkipCandidate), errors.Is(err, failure.Conflict),
			errors.Is(err, servicerequest.ErrNotFound), errors.Is(err, servicerequest.ErrClosed):
			continue // taken by someone else a moment ago (a lost race is a Conflict), or gone
		default:
			return ClaimNextResult{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	return ClaimNextResult{}, fmt.Errorf("%s: %w", op, ErrQueueEmpty)
}

// ReleaseCase gives case requestID back to its queue. Errors: servicerequest.not_claimed, .not_yours, .closed,
// .not_found, case.*.
func (h *Handler) ReleaseCase(ctx context.Context, m Meta, staffID, requestID uuid.UUID, expectedRevision *uint64) (Result, error) {
	const op = "command.ReleaseCase"
	res, err := h.onCase(ctx, m, staffID, requestID, expectedRevision, func(r *servicerequest.ServiceRequest, _ staffMember, _ time.Time) error {
		return r.Release(staffID)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// ReassignCase gives case requestID to staff member to, by supervisor supervisorID's decision, whoever held it.
// The new holder must be a supervisor or a caseworker of the case's queue, and for a confidential queue a member of
// the medical service. Errors: case.supervisor_required (Forbidden), "to" (case.assignee_ineligible,
// case.assignee_medical_required: Invalid), servicerequest.closed, .not_found, .assignee_invalid.
func (h *Handler) ReassignCase(ctx context.Context, m Meta, supervisorID, requestID, to uuid.UUID, expectedRevision *uint64) (Result, error) {
	const op = "command.ReassignCase"
	target, err := h.loadStaffMember(ctx, to)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	res, err := h.onCase(ctx, m, supervisorID, requestID, expectedRevision, func(r *servicerequest.ServiceRequest, s staffMember, _ time.Time) error {
		if !s.has(staff.RoleSupervisor) {
			return ErrSupervisorRequired
		}
		if to == uuid.Nil {
			return servicerequest.ErrAssigneeInvalid
		}
		switch err := target.mayWork(r.Queue()); {
		case errors.Is(err, ErrQueueMedicalOnly):
			return failure.Field("to", ErrAssigneeNotMedical)
		case err != nil:
			return failure.Field("to", ErrAssigneeIneligible)
		}
		return r.Reassign(supervisorID, to)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// RequestCaseInformation asks the member, on case requestID held by staffID, for items by deadline; the legal
// clock stops until the answer. Errors: servicerequest.information_items_invalid, .information_deadline_invalid,
// .awaiting_information, .not_claimed, .not_yours, .closed, .not_found, case.*.
func (h *Handler) RequestCaseInformation(ctx context.Context, m Meta, staffID, requestID uuid.UUID, items []string, deadline time.Time, expectedRevision *uint64) (Result, error) {
	const op = "command.RequestCaseInformation"
	res, err := h.onCase(ctx, m, staffID, requestID, expectedRevision, func(r *servicerequest.ServiceRequest, _ staffMember, now time.Time) error {
		return r.RequestInformation(staffID, items, deadline.UTC(), now)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// DecideCase records the express decision on case requestID held by staffID (a rejection needs its reason) and
// closes the case. The decision records the catalogue version the request was submitted under and the rule
// applied: that version's rules for the request's service, named "<service code>" (the catalogue has no finer
// decision rules yet). Errors: servicerequest.closed (Rule), .awaiting_information, .reason_required,
// .not_claimed, .not_yours, .not_found, case.*.
func (h *Handler) DecideCase(ctx context.Context, m Meta, staffID, requestID uuid.UUID, approved bool, reason string, expectedRevision *uint64) (Result, error) {
	const op = "command.DecideCase"
	decision := servicerequest.Rejected
	if approved {
		decision = servicerequest.Approved
	}
	res, err := h.onCase(ctx, m, staffID, requestID, expectedRevision, func(r *servicerequest.ServiceRequest, _ staffMember, _ time.Time) error {
		code, version := r.Service()
		c, err := catalog.Load(version)
		if err != nil {
			return fmt.Errorf("catalogue of the request: %w", err)
		}
		if _, err := c.Lookup(code); err != nil {
			return fmt.Errorf("service of the request: %w", err)
		}
		return r.Decide(servicerequest.Decided{Caseworker: staffID, Decision: decision, Reason: strings.TrimSpace(reason),
			CatalogVersion: version, RuleApplied: code})
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// AddCaseNote records an internal note (staff only, never shown to the member) on case requestID, also on a
// closed case. Errors: servicerequest.note_invalid, .not_found, case.*.
func (h *Handler) AddCaseNote(ctx context.Context, m Meta, staffID, requestID uuid.UUID, text string) (Result, error) {
	const op = "command.AddCaseNote"
	res, err := h.onCase(ctx, m, staffID, requestID, nil, func(r *servicerequest.ServiceRequest, _ staffMember, _ time.Time) error {
		return r.AddNote(staffID, text)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return res, nil
}

// LapseInformationDeadline closes request requestID whose awaited information did not come by its deadline
// (InformationDeadlineLapsed, Closed{lapsed}). The scheduled reaction calls it at the deadline; a case already
// lapsed records nothing and succeeds. The actor defaults to the system component "reactions/information-deadline".
// Errors (the reaction treats them as done, except deadline_not_reached which it schedules again):
// servicerequest.deadline_not_reached (before the deadline), .not_awaiting_information (the member answered),
// .closed (closed otherwise), .not_found.
func (h *Handler) LapseInformationDeadline(ctx context.Context, m Meta, requestID uuid.UUID) (Result, error) {
	const op = "command.LapseInformationDeadline"
	if requestID == uuid.Nil {
		return Result{}, fmt.Errorf("%s: %w", op, servicerequest.ErrNotFound)
	}
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: lapseActor, Role: event.RoleSystem}
	}
	m = h.withCommandID(m)
	now := h.Clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = caseRetries
	commit, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := servicerequest.Rehydrate(requestID, history)
		if err := r.LapseInformationDeadline(now); err != nil {
			return nil, err
		}
		return r.Events(), nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return Result{Position: commit.Position, Revision: commit.Revision}, nil
}

// caseActor reads staff member staffID and checks they may act on cases at all; it fills in Meta's actor (the
// staff member in their acting role) when the caller left it empty.
func (h *Handler) caseActor(ctx context.Context, m Meta, staffID uuid.UUID) (staffMember, Meta, error) {
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

// onCase runs a staff member's decision on a case (see the staff commands above).
func (h *Handler) onCase(ctx context.Context, m Meta, staffID, requestID uuid.UUID, expectedRevision *uint64,
	decide func(r *servicerequest.ServiceRequest, s staffMember, now time.Time) error) (Result, error) {
	s, m, err := h.caseActor(ctx, m, staffID)
	if err != nil {
		return Result{}, err
	}
	return h.decideCase(ctx, m, s, requestID, expectedRevision, caseRetries, decide)
}

// decideCase decides on case requestID for staff member s: the case must exist and be of a queue s may work (a
// case of a confidential queue s may not work does not exist for s). retries applies only without expectedRevision.
func (h *Handler) decideCase(ctx context.Context, m Meta, s staffMember, requestID uuid.UUID, expectedRevision *uint64,
	retries int, decide func(r *servicerequest.ServiceRequest, s staffMember, now time.Time) error) (Result, error) {
	if requestID == uuid.Nil {
		return Result{}, servicerequest.ErrNotFound
	}
	now := h.Clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	if expectedRevision != nil {
		rev := *expectedRevision
		cmd.ExpectedRevision = &rev
	} else {
		cmd.RetryOnConflict = retries
	}
	commit, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
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
