package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
)

// memberRetries is how many times a member-side command is decided again after losing a race on its stream: each
// decision is checked again over the newer history (a failure count, a code attempt, a profile change), so
// re-deciding is safe.
const memberRetries = 3

// RegisterResult is the answer to a registration form: the same shape whether or not the registration can go on.
type RegisterResult struct {
	Result
	RegistrationID uuid.UUID
}

// Register validates a registration form (see RegisterInput.Normalize for the errors; nothing is written when one
// is returned) and records it on registration-<id>. The identity must match the insured-person reference and the
// NIR must not have an account yet; otherwise the registration is recorded as Refused, with no code, and the
// answer is exactly that of a success (same shape, same reads and the same number of events appended): nobody
// learns from it whether a NIR is known or registered. A registration that can go on gets its first activation
// code (CodeIssued, sequence 1), which the mail reaction sends.
//
// The registration id derives from Meta.CommandID: a retry with the same command id returns the same registration
// and appends nothing.
func (h *Members) Register(ctx context.Context, m Meta, in RegisterInput) (RegisterResult, error) {
	const op = "command.Register"
	now := h.clock().UTC()
	applicant, n, birth, err := in.applicant(now)
	if err != nil {
		return RegisterResult{}, failure.Op(op, err)
	}
	applicant.TermsVersion = TermsVersion
	if h.insured == nil {
		return RegisterResult{}, failure.Opf(op, "no insured-person reference configured")
	}
	m = h.withCommandID(m)
	id := registrationIDFor(m.CommandID)
	m = withActor(m, id)

	// Both checks always run, so a refused registration costs the same reads as an accepted one.
	insured, err := h.insured.Match(ctx, n, applicant.LastName, applicant.FirstName, birth)
	if err != nil {
		return RegisterResult{}, failure.Opf(op, "insured reference: %w", err)
	}
	claim, err := h.store.Load(ctx, claimStream(h.keys, n))
	if err != nil {
		return RegisterResult{}, failure.Op(op, err)
	}
	_, claimed := member.RehydrateClaim(claim).Member()
	refusal := ""
	switch {
	case !insured:
		refusal = registration.RefusedNotInsured
	case claimed:
		refusal = registration.RefusedAlreadyRegistered
	}

	stream := event.NewStreamID(registration.Category, id)
	cmd := h.commandAt(m, stream, now)
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := registration.Rehydrate(history)
		err := r.Start(applicant, refusal, now, credential.CurrentCodePolicy())
		return r.Events(), err
	}, nil)
	if err != nil {
		return RegisterResult{}, failure.Op(op, err)
	}
	return RegisterResult{Result: Result{Position: commit.Position}, RegistrationID: id}, nil
}

// ResendActivationCode issues a new activation code (CodeIssued with the next sequence and a new expiry; the
// count of wrong codes is kept). Errors: registration.not_found (NotFound), registration.locked,
// registration.completed, code.resend_too_soon (Rule; a *WaitError: RetryAt gives when a new code may be asked).
// A refused registration answers like a success and issues nothing. Position is always 0: a resend changes
// nothing the portal reads, and the position of a real resend would tell it from a refused one.
func (h *Members) ResendActivationCode(ctx context.Context, m Meta, registrationID uuid.UUID) (Result, error) {
	const op = "command.ResendActivationCode"
	if registrationID == uuid.Nil {
		return Result{}, failure.Op(op, registration.ErrNotFound)
	}
	now := h.clock().UTC()
	p := credential.CurrentCodePolicy()
	m = withActor(h.withCommandID(m), registrationID)
	stream := event.NewStreamID(registration.Category, registrationID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = memberRetries
	if _, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := registration.Rehydrate(history)
		err := r.Resend(now, p)
		if errors.Is(err, credential.ErrCodeResendTooSoon) {
			err = &WaitError{Err: err, Until: r.ResendAllowedAt(p)}
		}
		return r.Events(), err
	}, nil); err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{}, nil
}

// claimStream is the nirclaim stream of a NIR: named by a keyed hash, never by the NIR.
func claimStream(keys Keys, n nir.NIR) event.StreamID {
	return event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body()))
}

// WaitError is a refusal that lifts at Until (a new code asked for too soon); errors.Is and failure.CodeOf see Err.
type WaitError struct {
	Err   error
	Until time.Time
}

func (e *WaitError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal.
func (e *WaitError) Unwrap() error { return e.Err }

// RetryAt returns when a refused request may succeed if made again: the end of an account lock
// (*member.LockedError, auth.locked) or of a cooldown (*WaitError, code.resend_too_soon), for a Retry-After header.
func RetryAt(err error) (time.Time, bool) {
	var locked *member.LockedError
	if errors.As(err, &locked) {
		return locked.Until, true
	}
	var wait *WaitError
	if errors.As(err, &wait) {
		return wait.Until, true
	}
	return time.Time{}, false
}

// The plumbing the member commands share.

// withCommandID fixes the command id once for a command that writes several streams, so that each stream's
// derived command id (see core.command) is the same on a retry of this call.
func (c *core) withCommandID(m Meta) Meta {
	if m.CommandID == uuid.Nil {
		m.CommandID = c.newID()
	}
	return m
}

// withActor fills in the actor when the caller (an anonymous form, a login) left it empty: the member, in the
// member role, or for the steps before an account exists the registration or reset procedure acting for the
// person.
func withActor(m Meta, id uuid.UUID) Meta {
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: id.String(), Role: event.RoleMember}
	}
	return m
}

// commandAt is core.command with the business time the decision used, so that rehydrated events carry the
// same instant as the one decided on.
func (c *core) commandAt(m Meta, stream event.StreamID, now time.Time) event.Command {
	cmd := c.command(m, stream)
	cmd.Metadata.OccurredAt = now
	return cmd
}

// decideOn runs one decision on stream. decide returns the events to append and the outcome that goes with them:
// events are appended even when the outcome is an error (a wrong code is recorded, then refused), and the outcome
// is returned once they are stored; with no events, the outcome is returned as it is. When the store finds the
// command's events already there (a retry with the same command id), decide does not run: replay, if not nil,
// gives the outcome from the events that command recorded; otherwise the retry succeeds.
func (c *core) decideOn(ctx context.Context, stream event.StreamID, cmd event.Command,
	decide func(history []event.Envelope) ([]any, error), replay func(recorded []any) error) (event.Commit, error) {
	var (
		decided bool
		outcome error
	)
	commit, err := c.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		decided = true
		events, err := decide(history)
		outcome = err
		if len(events) == 0 {
			return nil, err
		}
		return events, nil
	})
	switch {
	case err != nil:
		return event.Commit{}, err
	case decided:
		return commit, outcome
	case replay == nil:
		return commit, nil
	}
	history, err := c.store.Load(ctx, stream)
	if err != nil {
		return event.Commit{}, err
	}
	return commit, replay(recordedBy(history, cmd.Metadata.CommandID))
}

// recordedBy returns the events command appended to a stream.
func recordedBy(history []event.Envelope, command uuid.UUID) []any {
	var out []any
	for _, env := range history {
		if env.Metadata.CommandID == command {
			out = append(out, env.Event)
		}
	}
	return out
}

// codeOutcome is the outcome a command's recorded code events stand for, on a retry: a lock, a wrong code, or
// (nothing of the sort) success.
func codeOutcome(locked error, recorded []any) error {
	err := error(nil)
	for _, e := range recorded {
		switch e.(type) {
		case registration.Locked, member.ResetLocked:
			return locked
		case registration.CodeRejected, member.ResetCodeRejected:
			err = credential.ErrCodeWrong
		}
	}
	return err
}

// fieldForCode says that a code error is about the "code" field, so a form shows it there.
func fieldForCode(err error) error {
	if errors.Is(err, credential.ErrCodeWrong) || errors.Is(err, credential.ErrCodeExpired) ||
		errors.Is(err, credential.ErrCodeMalformed) {
		return failure.Field("code", err)
	}
	return err
}
