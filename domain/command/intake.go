package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// intakeCaseCommand is the command id of the case opened from deposit submissionID: derived from the deposit, so a
// deposit opens one case at most, whoever repeats the command and with whatever Idempotency-Key.
func intakeCaseCommand(submissionID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(submissionID, []byte("intake-case"))
}

// IntakeCaseID is the id of the request a caseworker opens from deposit submissionID of member memberID.
func IntakeCaseID(memberID, submissionID uuid.UUID) uuid.UUID {
	return requestIDFor(intakeCaseCommand(submissionID), memberID)
}

// OpenCaseFromDeposit is the intake's other way out: staff member staffID opens a new case for member memberID
// from deposit submissionID, waiting in the intake queue. The case is a request for service in.Service of the
// current catalogue with its form in.Form, checked exactly as a member's submission is (the caseworker transcribes
// what the deposit asks for; a service whose form requires nothing takes an empty form), recorded as filed on the
// member's behalf: Submitted names the deposit (FromSubmission) and the caseworker is its actor. It then follows the
// normal lifecycle (Acknowledged, Queued in the service's queue) with its clock running from the deposit's receipt,
// and the deposit is in its case file (DocumentsSubmissionAttached).
//
// The deposit is claimed first, on the member's deposits stream (a concurrent attachment or opening loses there),
// then the request is filed; a retry (any Idempotency-Key, the request id derives from the deposit) completes what a
// failure left and answers the same acknowledgement. Errors: the submission's ("service", request.form_invalid),
// queue.medical_only (a confidential queue outside the medical service), document.not_found (no such deposit of the
// member), document.not_in_intake (already in a case file).
func (h *Documents) OpenCaseFromDeposit(ctx context.Context, m Meta, staffID, memberID, submissionID uuid.UUID,
	in SubmitInput) (SubmitResult, error) {
	const op = "command.OpenCaseFromDeposit"
	if memberID == uuid.Nil || submissionID == uuid.Nil {
		return SubmitResult{}, failure.Op(op, document.ErrNotFound)
	}
	rs, raw, err := checkSubmission(in)
	if err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	access, err := h.cases.QueueAccess(ctx, staffID)
	if err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	if err := access.Check(rs.Queue); errors.Is(err, ErrQueueMedicalOnly) {
		return SubmitResult{}, failure.Op(op, failure.Field("service", err))
	}

	id := IntakeCaseID(memberID, submissionID)
	// The claim: DocumentsSubmissionAttached to the new case, unless a retry recorded it already.
	claim := m
	claim.CommandID, claim.RequestHash = uuid.NewSHA1(submissionID, []byte("intake-case-attach")), ""
	var receivedAt time.Time
	stream := document.StreamID(memberID)
	cmd := h.command(claim, stream)
	cmd.RetryOnConflict = 3
	if _, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		var st document.State
		for _, env := range history {
			st.Apply(env.Event, env.Metadata.OccurredAt)
		}
		dep := st.Deposits[submissionID]
		switch {
		case dep == nil:
			return nil, document.ErrNotFound
		case dep.CaseID == id:
			receivedAt = dep.SubmittedAt
			return nil, nil
		case dep.Disposition != document.DispositionIntake:
			return nil, document.ErrNotInIntake
		}
		receivedAt = dep.SubmittedAt
		return []any{document.Attached{SubmissionID: submissionID, RequestID: id}}, nil
	}); err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	if receivedAt.IsZero() { // the store replayed the claim without running the decision: read the deposit
		history, err := h.store.Load(ctx, stream)
		if err != nil {
			return SubmitResult{}, failure.Op(op, err)
		}
		var st document.State
		for _, env := range history {
			st.Apply(env.Event, env.Metadata.OccurredAt)
		}
		if dep := st.Deposits[submissionID]; dep != nil {
			receivedAt = dep.SubmittedAt
		}
	}

	file := m
	file.CommandID, file.RequestHash = intakeCaseCommand(submissionID), ""
	res, err := h.cases.file(ctx, file, id, servicerequest.Submission{MemberID: memberID, Form: raw,
		CommandID: file.CommandID, FromSubmission: submissionID}, rs, func() time.Time { return receivedAt.UTC() })
	if err != nil {
		return SubmitResult{}, failure.Op(op, err)
	}
	return res, nil
}
