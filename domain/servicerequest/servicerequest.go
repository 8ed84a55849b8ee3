// Package servicerequest is the service request (demande): a member's request for a service of the catalog, and the
// case caseworkers work on from its queue until it is closed.
//
// # Lifecycle
//
//	Submit ──► Submitted, Acknowledged, Queued          (one command: the acknowledgement is immediate)
//	Claim ──► Claimed            only when unclaimed (Reassign is the supervisor's way to take it from someone)
//	Release ──► Released         by the caseworker who has it
//	Reassign ──► Reassigned      by a supervisor, from whoever has it (or nobody) to a caseworker
//	RequestInformation ──► InformationRequested    by the caseworker who has it, when nothing is awaited
//	ReceiveInformation ──► InformationReceived     by the member, before the deadline
//	LapseInformationDeadline ──► InformationDeadlineLapsed, Closed{lapsed}    a scheduled reaction, after the deadline
//	Decide ──► Decided, Closed{decided}           by the caseworker who has it, when nothing is awaited
//	Withdraw ──► Withdrawn, Closed{withdrawn}     by the member, while undecided
//	AddNote ──► NoteAdded        staff only, at any time, even closed
//
// Nothing but notes happens to a closed case. Who may act as supervisor or caseworker of a queue is the command
// layer's check (staff roles, queue membership); this package checks who holds the case.
//
// # The legal clock
//
// Clock is a pure projection of the events: receipt, the silence rule of the catalog version, requests for pieces
// (CRPA L114-5: a restart under acceptance, a suspension under rejection), closure. Its calendar rules are
// documented there; EndOfDay is the one definition of when a day-counted deadline passes. Silence means acceptance or rejection
// after a period, or nothing at all (NoImplicitDecision: a document delivered by right, a declaration): such a
// request has a handling target but no implicit-decision day.
//
// The package imports only the standard library, google/uuid and domain packages. It takes what it needs from the
// catalog as plain values (Service), so it does not depend on domain/catalog.
package servicerequest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Decision is the outcome of an express decision. Its values are stored: never rename them.
type Decision string

// The decisions.
const (
	Approved Decision = "approved"
	Rejected Decision = "rejected"
)

// The reasons of Closed. They are stored: never rename them.
const (
	CloseDecided   = "decided"
	CloseWithdrawn = "withdrawn"
	CloseLapsed    = "lapsed"
)

// Status is where a request stands, derived from its events.
type Status string

// The statuses, in lifecycle order.
const (
	StatusNone                Status = ""
	StatusQueued              Status = "queued"
	StatusClaimed             Status = "claimed"
	StatusAwaitingInformation Status = "awaiting_information"
	StatusClosed              Status = "closed"
)

// Limits on free text.
const (
	MaxItems        = 20
	MaxItemLength   = 500
	MaxAnswerLength = 4000
	MaxReasonLength = 4000
	MaxNoteLength   = 4000
)

// Service is what a request needs from its catalog entry, as plain values of one catalog version.
type Service struct {
	Code           string
	CatalogVersion string
	Queue          string
	Deadlines      Deadlines
	// AppealRoutes is the text the acknowledgement carries (R112-5): délais et voies de recours for a silence that
	// means rejection, the right to an attestation (L232-3) for acceptance; for a rule without implicit decision,
	// the routes against the express decision that may follow (optional).
	AppealRoutes string
	// InCharge is the service handling the queue's requests, named by the acknowledgement (R112-5 2°); required.
	InCharge ServiceInCharge
}

// Submission is a member's request as the command layer received and validated it.
type Submission struct {
	MemberID  uuid.UUID
	Form      json.RawMessage // a JSON object, already validated against the catalog version's form
	CommandID uuid.UUID       // the idempotency key
	Reference string          // claimed by the command layer, see DeriveReference
	// FromSubmission is the deposit a caseworker opened the request from, on the member's behalf (none otherwise).
	FromSubmission uuid.UUID
}

// ServiceRequest is one request as its events left it. Behaviour methods validate, then record events: the
// recorded events are applied at once and returned by Events, for the command layer to append.
type ServiceRequest struct {
	id    uuid.UUID
	state State

	pending []any
}

// Rehydrate rebuilds the request id from its stream's history (empty for a request not submitted yet). Events of
// unknown types are ignored (a tolerant reader).
func Rehydrate(id uuid.UUID, history []event.Envelope) *ServiceRequest {
	return &ServiceRequest{id: id, state: Fold(history)}
}

// apply moves the state by one event (State.Apply, the one fold of the events); it never fails.
func (r *ServiceRequest) apply(e any) { r.state, _ = r.state.Apply(e) }

func (r *ServiceRequest) record(events ...any) {
	for _, e := range events {
		r.apply(e)
		r.pending = append(r.pending, e)
	}
}

// Events returns the events the decisions recorded, to append.
func (r *ServiceRequest) Events() []any { return r.pending }

// bug is an error of the caller (the command layer must have checked): internal, never shown as is.
func bug(op, format string, args ...any) error {
	return failure.Errorf(failure.Internal, "servicerequest.%s: %s", op, fmt.Sprintf(format, args...))
}

// Submit records a request received at now, its acknowledgement of receipt and its queue, all at once. The
// acknowledgement's dates are computed by the calendar of loc (see Clock); under a silence rule without implicit
// decision (NoImplicitDecision) it announces none (an empty ImplicitDecisionOn), only the handling target. Submitting again with the same command
// id records nothing (a retry); with another one it is ErrAlreadySubmitted. A form that is not a JSON object is
// ErrFormInvalid; an incomplete Service or Submission is a bug of the caller (internal).
func (r *ServiceRequest) Submit(s Submission, svc Service, now time.Time, loc *time.Location) error {
	if r.state.Submitted {
		if s.CommandID != uuid.Nil && s.CommandID == r.state.CommandID {
			return nil
		}
		return ErrAlreadySubmitted
	}
	switch {
	case loc == nil:
		return bug("Submit", "no location")
	case s.MemberID == uuid.Nil || s.CommandID == uuid.Nil:
		return bug("Submit", "no member or command id")
	case svc.Code == "" || svc.CatalogVersion == "" || svc.Queue == "":
		return bug("Submit", "incomplete service %q (version %q, queue %q)", svc.Code, svc.CatalogVersion, svc.Queue)
	case !validReference(s.Reference):
		return bug("Submit", "reference %q is not canonical", s.Reference)
	case svc.Deadlines.Silence.Outcome == Rejection && strings.TrimSpace(svc.AppealRoutes) == "":
		return bug("Submit", "service %q: a silence that means rejection needs its appeal routes", svc.Code)
	case !svc.InCharge.Complete():
		return bug("Submit", "service %q: no complete service in charge (R112-5)", svc.Code)
	}
	if err := svc.Deadlines.Validate(); err != nil {
		return bug("Submit", "service %q: %v", svc.Code, err)
	}
	form, err := compactObject(s.Form)
	if err != nil {
		return err
	}
	due, implicit := dates(dayOf(now, loc), 0, svc.Deadlines, loc)
	implicitOn := "" // no implicit decision (NoImplicitDecision): no day to announce
	if !implicit.IsZero() {
		implicitOn = dayOf(implicit, loc).String()
	}
	r.record(
		Submitted{MemberID: s.MemberID, ServiceCode: svc.Code, CatalogVersion: svc.CatalogVersion, Form: form,
			CommandID: s.CommandID, FromSubmission: s.FromSubmission},
		Acknowledged{Reference: s.Reference, ReceivedAt: now, HandlingTime: svc.Deadlines.HandlingTime,
			DueOn: dayOf(due, loc).String(), Silence: svc.Deadlines.Silence,
			ImplicitDecisionOn: implicitOn, TimeZone: loc.String(), AppealRoutes: svc.AppealRoutes,
			ServiceInCharge: svc.InCharge},
		Queued{Queue: svc.Queue},
	)
	return nil
}

// compactObject returns form compacted, or ErrFormInvalid if it is not a JSON object.
func compactObject(form json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if len(form) == 0 || json.Unmarshal(form, &obj) != nil || obj == nil {
		return nil, ErrFormInvalid
	}
	var b bytes.Buffer
	if err := json.Compact(&b, form); err != nil {
		return nil, ErrFormInvalid
	}
	return b.Bytes(), nil
}

// open reports whether the case still takes decisions: ErrNotFound before Submit, ErrClosed after Closed.
func (r *ServiceRequest) open() error {
	switch {
	case !r.state.Submitted:
		return ErrNotFound
	case r.state.Closed:
		return ErrClosed
	}
	return nil
}

// holder reports whether caseworker holds the case: ErrNotClaimed if nobody does, ErrNotYours if someone else
// does.
func (r *ServiceRequest) holder(caseworker uuid.UUID) error {
	switch {
	case r.state.Assignee == uuid.Nil:
		return ErrNotClaimed
	case r.state.Assignee != caseworker:
		return ErrNotYours
	}
	return nil
}

// Claim gives the case to caseworker. Claiming a case one already holds records nothing; a case held by someone
// else is ErrAlreadyClaimed (only a supervisor's Reassign takes it). Errors: ErrNotFound, ErrClosed.
func (r *ServiceRequest) Claim(caseworker uuid.UUID) error {
	if err := r.open(); err != nil {
		return err
	}
	switch {
	case caseworker == uuid.Nil:
		return bug("Claim", "no caseworker")
	case r.state.Assignee == caseworker:
		return nil
	case r.state.Assignee != uuid.Nil:
		return ErrAlreadyClaimed
	}
	r.record(Claimed{Caseworker: caseworker})
	return nil
}

// Release gives the case back to its queue. Errors: ErrNotFound, ErrClosed, ErrNotClaimed, ErrNotYours.
func (r *ServiceRequest) Release(caseworker uuid.UUID) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := r.holder(caseworker); err != nil {
		return err
	}
	r.record(Released{Caseworker: caseworker})
	return nil
}

// Reassign gives the case to caseworker to, by supervisor's decision, whoever held it. Reassigning to the current
// holder records nothing. Errors: ErrNotFound, ErrClosed, ErrAssigneeInvalid.
func (r *ServiceRequest) Reassign(supervisor, to uuid.UUID) error {
	if err := r.open(); err != nil {
		return err
	}
	switch {
	case supervisor == uuid.Nil:
		return bug("Reassign", "no supervisor")
	case to == uuid.Nil:
		return ErrAssigneeInvalid
	case to == r.state.Assignee:
		return nil
	}
	r.record(Reassigned{Supervisor: supervisor, From: r.state.Assignee, To: to})
	return nil
}

// RequestInformation asks the member for the listed items by deadline, which must be after now; the legal clock
// stops. Errors: ErrNotFound, ErrClosed, ErrNotClaimed, ErrNotYours, ErrAwaitingInformation,
// ErrInformationItemsInvalid, ErrInformationDeadlineInvalid.
func (r *ServiceRequest) RequestInformation(caseworker uuid.UUID, items []string, deadline, now time.Time) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := r.holder(caseworker); err != nil {
		return err
	}
	if r.state.Awaiting {
		return ErrAwaitingInformation
	}
	if len(items) == 0 || len(items) > MaxItems {
		return ErrInformationItemsInvalid
	}
	clean := make([]string, len(items))
	for i, item := range items {
		clean[i] = strings.TrimSpace(item)
		if clean[i] == "" || utf8.RuneCountInString(clean[i]) > MaxItemLength {
			return failure.Field(fmt.Sprintf("items[%d]", i), ErrInformationItemsInvalid)
		}
	}
	if !deadline.After(now) {
		return failure.Field("deadline", ErrInformationDeadlineInvalid)
	}
	r.record(InformationRequested{Caseworker: caseworker, Items: clean, Deadline: deadline})
	return nil
}

// ReceiveInformation records the member's answer; the legal clock restarts. Another member gets ErrNotFound.
// Errors: ErrNotFound, ErrClosed, ErrNotAwaitingInformation, ErrInformationLate (now after the deadline: the
// request lapses), ErrInformationAnswerInvalid.
func (r *ServiceRequest) ReceiveInformation(member uuid.UUID, what string, now time.Time) error {
	if !r.state.Submitted || member != r.state.MemberID {
		return ErrNotFound
	}
	if err := r.open(); err != nil {
		return err
	}
	if !r.state.Awaiting {
		return ErrNotAwaitingInformation
	}
	if now.After(r.state.Deadline) {
		return ErrInformationLate
	}
	what = strings.TrimSpace(what)
	if what == "" || utf8.RuneCountInString(what) > MaxAnswerLength {
		return failure.Field("what", ErrInformationAnswerInvalid)
	}
	r.record(InformationReceived{What: what})
	return nil
}

// LapseInformationDeadline closes the case whose awaited information did not come by its deadline (now at or
// after it). A reaction scheduled at the deadline calls it; when it finds the case already lapsed it records
// nothing. Errors: ErrNotFound, ErrClosed (closed otherwise), ErrNotAwaitingInformation (the member answered),
// ErrDeadlineNotReached (a later request for information is awaited): the reaction treats these as done.
func (r *ServiceRequest) LapseInformationDeadline(now time.Time) error {
	if r.state.Submitted && r.state.Closed && r.state.CloseReason == CloseLapsed {
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	if !r.state.Awaiting {
		return ErrNotAwaitingInformation
	}
	if now.Before(r.state.Deadline) {
		return ErrDeadlineNotReached
	}
	r.record(InformationDeadlineLapsed{Deadline: r.state.Deadline}, Closed{Reason: CloseLapsed})
	return nil
}

// Decide records the express decision d of d.Caseworker and closes the case. A rejection needs its reasons.
// Errors: ErrNotFound, ErrClosed, ErrNotClaimed, ErrNotYours, ErrAwaitingInformation, ErrDecisionInvalid,
// ErrReasonRequired, ErrReasonTooLong.
func (r *ServiceRequest) Decide(d Decided) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := r.holder(d.Caseworker); err != nil {
		return err
	}
	if r.state.Awaiting {
		return ErrAwaitingInformation
	}
	d.Reason = strings.TrimSpace(d.Reason)
	switch {
	case d.Decision != Approved && d.Decision != Rejected:
		return failure.Field("decision", ErrDecisionInvalid)
	case d.CatalogVersion == "" || d.RuleApplied == "":
		return failure.Field("rule_applied", ErrDecisionInvalid)
	case d.Decision == Rejected && d.Reason == "":
		return failure.Field("reason", ErrReasonRequired)
	case utf8.RuneCountInString(d.Reason) > MaxReasonLength:
		return failure.Field("reason", ErrReasonTooLong)
	}
	r.record(d, Closed{Reason: CloseDecided})
	return nil
}

// Withdraw records that the member withdrew the request (reason is optional free text, bounded by the HTTP layer's
// body limit), and closes it. Another member gets ErrNotFound; a decided or otherwise closed case is ErrClosed.
func (r *ServiceRequest) Withdraw(member uuid.UUID, reason string) error {
	if !r.state.Submitted || member != r.state.MemberID {
		return ErrNotFound
	}
	if err := r.open(); err != nil {
		return err
	}
	r.record(Withdrawn{MemberID: member, Reason: strings.TrimSpace(reason)}, Closed{Reason: CloseWithdrawn})
	return nil
}

// AddNote records an internal note by a staff member, also on a closed case. Errors: ErrNotFound, ErrNoteInvalid.
func (r *ServiceRequest) AddNote(author uuid.UUID, text string) error {
	if !r.state.Submitted {
		return ErrNotFound
	}
	if author == uuid.Nil {
		return bug("AddNote", "no author")
	}
	text = strings.TrimSpace(text)
	if text == "" || utf8.RuneCountInString(text) > MaxNoteLength {
		return failure.Field("text", ErrNoteInvalid)
	}
	r.record(NoteAdded{Author: author, Text: text})
	return nil
}

// ID returns the request id.
func (r *ServiceRequest) ID() uuid.UUID { return r.id }

// Submitted reports whether the request exists.
func (r *ServiceRequest) Submitted() bool { return r.state.Submitted }

// MemberID returns the member who submitted the request.
func (r *ServiceRequest) MemberID() uuid.UUID { return r.state.MemberID }

// Service returns the service code and the catalog version the request was submitted under.
func (r *ServiceRequest) Service() (code, catalogVersion string) {
	return r.state.ServiceCode, r.state.CatalogVersion
}

// Reference returns the acknowledgement's reference.
func (r *ServiceRequest) Reference() string { return r.state.Reference }

// Deadlines returns the deadlines the acknowledgement recorded: the ones to give Clock.
func (r *ServiceRequest) Deadlines() Deadlines { return r.state.Deadlines }

// Queue returns the request's queue.
func (r *ServiceRequest) Queue() string { return r.state.Queue }

// Assignee returns the caseworker who holds the case, or uuid.Nil.
func (r *ServiceRequest) Assignee() uuid.UUID { return r.state.Assignee }

// Awaiting returns the items awaited from the member and the deadline, and whether any are.
func (r *ServiceRequest) Awaiting() (items []string, deadline time.Time, ok bool) {
	if !r.state.Awaiting {
		return nil, time.Time{}, false
	}
	return append([]string(nil), r.state.Items...), r.state.Deadline, true
}

// Decision returns the express decision, if any.
func (r *ServiceRequest) Decision() (Decided, bool) { return r.state.Decision, r.state.Decided }

// Closed returns why the case was closed, and whether it is.
func (r *ServiceRequest) Closed() (reason string, ok bool) {
	return r.state.CloseReason, r.state.Closed
}

// Status returns where the request stands (State.Status).
func (r *ServiceRequest) Status() Status { return r.state.Status() }

// State returns the request's folded state.
func (r *ServiceRequest) State() State {
	s := r.state
	s.Items = append([]string(nil), s.Items...)
	return s
}

// String describes the state without personal data (no form, answers or notes).
func (r *ServiceRequest) String() string {
	return fmt.Sprintf("servicerequest{id=%s status=%s service=%s queue=%s assignee=%s notes=%d}",
		r.id, r.Status(), r.state.ServiceCode, r.state.Queue, r.state.Assignee, r.state.Notes)
}
