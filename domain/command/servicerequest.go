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
// last day of silence and the instant silence becomes a decision (nil when the rule gives none), what it means
// ("acceptance", "rejection", or "none" when silence decides nothing: a document delivered by right, a
// declaration), the appeal routes (lines separated by "\n") and the service in charge (R112-5).
//
// Days and instants (servicerequest.EndOfDay): HandlingDueOn and ImplicitDecisionOn are the last days of the periods
// in TimeZone; HandlingDueAt and ImplicitDecisionAt are the instants they end, 00:00 of the next day there.
type SubmitResult struct {
	Result
	RequestID          uuid.UUID
	Reference          string
	ReceivedAt         time.Time
	ImplicitDecisionOn string
	ImplicitDecisionAt *time.Time
	Outcome            string
	AppealRoutes       string
	HandlingDueOn      string
	HandlingDueAt      time.Time
	TimeZone           string
	ServiceInCharge    servicerequest.ServiceInCharge
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
	office, ok := catalog.InCharge(s.Queue)
	if !ok {
		return servicerequest.Service{}, failure.Errorf(failure.Internal, "service %q: queue %q has no service in charge",
			s.Code, s.Queue)
	}
	return servicerequest.Service{
		InCharge: servicerequest.ServiceInCharge{Name: office.Name, Address: office.Address, Phone: office.Phone,
			Email: office.Email},
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
func (h *Cases) SubmitRequest(ctx context.Context, m Meta, memberID uuid.UUID, in SubmitInput) (SubmitResult, error) {
	const op = "command.SubmitRequest"
	if memberID == uuid.Nil {
		return SubmitResult{}, failure.Opf(op, "no member id")
	}
	rs, raw, err := checkSubmission(in)
	if err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	m = withActor(h.withCommandID(m), memberID)
	id := requestIDFor(m.CommandID, memberID)
	res, err := h.file(ctx, m, id, servicerequest.Submission{MemberID: memberID, Form: raw, CommandID: m.CommandID}, rs,
		func() time.Time { return h.clock().UTC() })
	if err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	return res, nil
}

// checkSubmission checks a request against the current catalogue: the service is one (errors on the field
// "service": catalog.unknown_service, catalog.not_a_request) and the form is valid for it (request.form_invalid).
// It returns the service as the aggregate needs it and the form as recorded.
func checkSubmission(in SubmitInput) (servicerequest.Service, json.RawMessage, error) {
	c := catalog.Current()
	svc, err := c.Lookup(in.Service)
	if err != nil {
		return servicerequest.Service{}, nil, failure.Field("service", err)
	}
	form, err := c.Validate(svc.Code, in.Form)
	if err != nil {
		if errors.Is(err, catalog.ErrNotARequest) || errors.Is(err, catalog.ErrUnknownService) {
			err = failure.Field("service", err)
		}
		return servicerequest.Service{}, nil, err
	}
	rs, err := requestService(c, svc)
	if err != nil {
		return servicerequest.Service{}, nil, err
	}
	raw, err := json.Marshal(form)
	if err != nil {
		return servicerequest.Service{}, nil, fmt.Errorf("encode form: %w", err)
	}
	return rs, raw, nil
}

// file records request id (Submitted, Acknowledged, Queued on servicerequest-<id>, after claiming its reference)
// received at receivedAt(), unless a retry recorded it already, and answers with its acknowledgement. The member's
// submission and a caseworker's opening of a case from a deposit (OpenCaseFromDeposit) both file through it.
func (h *Cases) file(ctx context.Context, m Meta, id uuid.UUID, sub servicerequest.Submission, rs servicerequest.Service,
	receivedAt func() time.Time) (SubmitResult, error) {
	stream := servicerequest.StreamID(id)
	// A retry of a submission that went through answers from the stored events (its reference may be of an
	// earlier year than now's).
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return SubmitResult{}, err
	}
	submitted := servicerequest.Rehydrate(id, history).Submitted()
	if submitted && len(history) > 0 { // the same key for another form is refused, never answered with this one
		if err := h.command(m, stream).Metadata.CheckReplay(history[0].Metadata); err != nil {
			return SubmitResult{}, err
		}
	}
	if !submitted {
		now := receivedAt()
		ref, err := h.claimReference(ctx, m, id, now)
		if err != nil {
			return SubmitResult{}, err
		}
		sub.Reference = ref
		cmd := h.commandAt(m, stream, now)
		cmd.RetryOnConflict = 1 // a concurrent retry of this very command is then recognised as such
		// The request's personal data (its form, later answers and notes) is the member's: sealed under their key.
		cmd.Metadata.Subject = sub.MemberID
		// Appended at the revision loaded above (no second read before the append). The acknowledgement is then read
		// back from the store, not built from what this call decided: a concurrent retry of the same command appends
		// the same event ids, which the store accepts as an idempotent success answering the first append's commit,
		// so only the stored events say when the request was received.
		if _, err := h.store.UpdateFrom(ctx, stream, cmd, history, func(history []event.Envelope) ([]any, error) {
			r := servicerequest.Rehydrate(id, history)
			err := r.Submit(sub, rs, now, caseLocation)
			return r.Events(), err
		}); err != nil {
			return SubmitResult{}, err
		}
		if history, err = h.store.Load(ctx, stream); err != nil {
			return SubmitResult{}, err
		}
	}
	return acknowledgement(id, history)
}

// claimReference claims a reference for request id received at now: the first free candidate of
// servicerequest.DeriveReference, or the one this request already holds (a retry).
func (h *Cases) claimReference(ctx context.Context, m Meta, id uuid.UUID, now time.Time) (string, error) {
	year := now.In(caseLocation).Year()
	for attempt := range maxReferenceAttempts {
		ref := servicerequest.DeriveReference(id, year, attempt)
		stream := servicerequest.ReferenceStreamID(ref)
		cmd := h.commandAt(m, stream, now)
		cmd.RetryOnConflict = 1 // a lost race is decided again: taken by another request, or ours (a retry)
		// A reference stream is new unless the candidate is taken (or this request's retry holds it): append
		// expecting no stream, and read the stream only when that loses.
		_, err := h.store.UpdateFrom(ctx, stream, cmd, nil, func(history []event.Envelope) ([]any, error) {
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
		Outcome: string(clock.Outcome), HandlingDueOn: clock.DueOn.Format(time.DateOnly), HandlingDueAt: clock.DueAt(),
		TimeZone: caseLocation.String()}
	if !clock.ImplicitDecisionOn.IsZero() {
		at := clock.ImplicitDecisionAt()
		res.ImplicitDecisionAt, res.ImplicitDecisionOn = &at, clock.ImplicitDecisionOn.Format(time.DateOnly)
	}
	var submission uuid.UUID
	for _, env := range history {
		switch e := env.Event.(type) {
		case servicerequest.Submitted:
			submission = env.Metadata.CommandID
		case servicerequest.Acknowledged:
			res.AppealRoutes, res.ServiceInCharge = e.AppealRoutes, e.ServiceInCharge
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
func (h *Cases) WithdrawRequest(ctx context.Context, m Meta, memberID, requestID uuid.UUID, reason string) (Result, error) {
	const op = "command.WithdrawRequest"
	res, err := h.onRequestAsMember(ctx, m, memberID, requestID, func(r *servicerequest.ServiceRequest, _ time.Time) error {
		return r.Withdraw(memberID, strings.TrimSpace(reason))
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return res, nil
}

// ProvideInformation records member memberID's answer to the information requested on request requestID; the
// legal clock restarts. Errors: servicerequest.not_found (also for another member's request), .closed,
// .not_awaiting_information, .information_late (the deadline passed: the lapse reaction closes the request),
// .information_answer_invalid.
func (h *Cases) ProvideInformation(ctx context.Context, m Meta, memberID, requestID uuid.UUID, what string) (Result, error) {
	const op = "command.ProvideInformation"
	res, err := h.onRequestAsMember(ctx, m, memberID, requestID, func(r *servicerequest.ServiceRequest, now time.Time) error {
		return r.ReceiveInformation(memberID, what, now)
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return res, nil
}

// onRequestAsMember runs a member's decision on their request; anyone else's request (or none) is
// servicerequest.ErrNotFound, so members never learn that another member's request exists.
func (h *Cases) onRequestAsMember(ctx context.Context, m Meta, memberID, requestID uuid.UUID,
	decide func(r *servicerequest.ServiceRequest, now time.Time) error) (Result, error) {
	if memberID == uuid.Nil || requestID == uuid.Nil {
		return Result{}, servicerequest.ErrNotFound
	}
	m = withActor(h.withCommandID(m), memberID)
	now := h.clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = caseRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
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

// LapseInformationDeadline closes request requestID whose awaited information did not come by its deadline
// (InformationDeadlineLapsed, Closed{lapsed}). The scheduled reaction calls it at the deadline; a case already
// lapsed records nothing and succeeds. The actor defaults to the system component "reactions/information-deadline".
// Errors (the reaction treats them as done, except deadline_not_reached which it schedules again):
// servicerequest.deadline_not_reached (before the deadline), .not_awaiting_information (the member answered),
// .closed (closed otherwise), .not_found.
func (h *Cases) LapseInformationDeadline(ctx context.Context, m Meta, requestID uuid.UUID) (Result, error) {
	const op = "command.LapseInformationDeadline"
	if requestID == uuid.Nil {
		return Result{}, failure.Op(op, servicerequest.ErrNotFound)
	}
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: lapseActor, Role: event.RoleSystem}
	}
	m = h.withCommandID(m)
	now := h.clock().UTC()
	stream := servicerequest.StreamID(requestID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = caseRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := servicerequest.Rehydrate(requestID, history)
		if err := r.LapseInformationDeadline(now); err != nil {
			return nil, err
		}
		return r.Events(), nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position, Revision: commit.Revision}, nil
}
