package command

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
)

// ActivateResult is an opened account.
type ActivateResult struct {
	Result
	MemberID uuid.UUID
}

// Activate checks a registration's activation code and, if it is right, opens the member account with password:
//
//  1. the code must be 8 digits ("code": code.malformed, Invalid); the registration must exist
//     (registration.not_found, NotFound), be neither completed (registration.completed, Rule) nor locked
//     (registration.locked, Rule);
//  2. the password must pass the policy with the registration's NIR, names and email as personal data
//     ("password": password.*, Invalid) — checked before anything is appended;
//  3. the code must not be expired ("code": code.expired, Rule) and must be that of the last code issued: a wrong
//     one appends CodeRejected ("code": code.wrong, Rule), and the one that uses up the 5 attempts of the
//     registration (resends do not reset them) also appends Locked (registration.locked);
//  4. then nirclaim-<keyed hash of the NIR> gets Claimed{member} (a new stream: registration.already_registered,
//     Rule, when another account claimed the NIR meanwhile), member-<id> gets Registered and PasswordSet
//     ("activation"), and the registration gets Completed.
//
// The member id derives from the registration id and each stream's command id from Meta.CommandID, so a retried
// activation (after a lost answer, or a failure between the appends) completes what is missing and writes nothing
// twice. A refused registration has no code: every code is wrong there, counted and locked the same way.
func (h *Members) Activate(ctx context.Context, m Meta, registrationID uuid.UUID, code, password string) (ActivateResult, error) {
	const op = "command.Activate"
	typed, err := credential.NormalizeCode(code)
	if err != nil {
		return ActivateResult{}, failure.Op(op, fieldForCode(err))
	}
	if registrationID == uuid.Nil {
		return ActivateResult{}, failure.Op(op, registration.ErrNotFound)
	}
	now := h.clock().UTC()
	memberID := memberIDFor(registrationID)
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(registration.Category, registrationID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = memberRetries

	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return ActivateResult{}, failure.Op(op, err)
	}
	if recorded := recordedBy(history, cmd.Metadata.CommandID); len(recorded) > 0 { // a retry of this very call
		for _, e := range recorded {
			if _, ok := e.(registration.Completed); ok {
				return ActivateResult{Result: Result{Position: history[len(history)-1].Position}, MemberID: memberID}, nil
			}
		}
		return ActivateResult{}, failure.Op(op, fieldForCode(codeOutcome(registration.ErrLocked, recorded)))
	}
	r := registration.Rehydrate(history)
	if err := r.Activatable(); err != nil {
		return ActivateResult{}, failure.Op(op, err)
	}
	a := r.Applicant()
	if err := credential.CheckPassword(credential.EstimatorOf(h.hasher), password, a.NIR, a.LastName, a.FirstName, a.Email); err != nil {
		return ActivateResult{}, failure.Op(op, failure.Field("password", err))
	}

	codeOf := func(seq int) string { return ActivationCode(h.keys, registrationID, seq) }
	if err := verifyCode(ctx, &h.core, stream, cmd, registration.Rehydrate, codeOf, typed, now,
		registration.ErrLocked); err != nil {
		return ActivateResult{}, failure.Op(op, err)
	}

	hash, err := h.hasher.Hash(ctx, password)
	if err != nil {
		return ActivateResult{}, failure.Opf(op, "hash password: %w", err)
	}
	n, err := nir.ParseLogin(a.NIR)
	if err != nil {
		return ActivateResult{}, failure.Opf(op, "stored NIR: %w", err)
	}
	claim := claimStream(h.keys, n)
	claimCmd := h.commandAt(m, claim, now)
	claimCmd.RetryOnConflict = 1 // a lost race for a new claim stream is decided again: the winner's claim shows
	if _, err := h.decideOn(ctx, claim, claimCmd, func(history []event.Envelope) ([]any, error) {
		c := member.RehydrateClaim(history)
		err := c.Claim(memberID, now)
		return c.Events(), err
	}, nil); err != nil {
		if errors.Is(err, member.ErrNIRClaimed) {
			err = registration.ErrAlreadyRegistered
		}
		return ActivateResult{}, failure.Op(op, err)
	}

	account := event.NewStreamID(member.Category, memberID)
	accountCmd := h.commandAt(m, account, now)
	accountCmd.RetryOnConflict = memberRetries // a concurrent activation of the same registration: seen as done
	if _, err := h.decideOn(ctx, account, accountCmd, func(history []event.Envelope) ([]any, error) {
		mm := member.Rehydrate(history)
		err := mm.Register(member.Registered{
			RegistrationID: registrationID,
			NIR:            a.NIR,
			Key:            a.Key,
			LastName:       a.LastName,
			FirstName:      a.FirstName,
			BirthDate:      a.BirthDate,
			Email:          a.Email,
			MobilePhone:    a.MobilePhone,
		}, hash, credential.PasswordPolicyVersion, now)
		return mm.Events(), err
	}, nil); err != nil {
		return ActivateResult{}, failure.Op(op, err)
	}

	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := registration.Rehydrate(history)
		err := r.Complete(memberID, now)
		return r.Events(), err
	}, nil)
	if err != nil {
		return ActivateResult{}, failure.Op(op, err)
	}
	return ActivateResult{Result: Result{Position: commit.Position}, MemberID: memberID}, nil
}
