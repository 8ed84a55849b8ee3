package command

import (
	"context"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// ChangePassword replaces the member's password, made in session sessionID: the new one is checked first
// ("new_password": password.* with the member's NIR, names and email as personal data, or password.unchanged,
// Invalid), then the current one is verified. A wrong current password counts as a failed login (LoginFailed,
// and Locked at the fifth in a row): otherwise a stolen session would be an unthrottled oracle for the password.
// It answers "current_password": auth.invalid_credentials (Unauthenticated); during a lock, *member.LockedError
// (auth.locked, Forbidden). Right: PasswordSet{reason "change", session sessionID}. The HTTP layer ends every
// other session of the member; this command only records. Errors also: member.not_found (NotFound).
func (h *Members) ChangePassword(ctx context.Context, m Meta, memberID uuid.UUID, current, next string, sessionID uuid.UUID) (Result, error) {
	const op = "command.ChangePassword"
	if memberID == uuid.Nil {
		return Result{}, failure.Op(op, member.ErrNotFound)
	}
	now := h.clock().UTC()
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(member.Category, memberID)
	cmdID := h.command(m, stream).Metadata.CommandID
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if recorded := recordedBy(history, cmdID); len(recorded) > 0 { // a retry of this very call
		if err := passwordChangeOutcome(recorded); err != nil {
			return Result{}, failure.Op(op, err)
		}
		return Result{Position: history[len(history)-1].Position}, nil
	}
	mm := member.Rehydrate(history)
	if err := mm.CheckLogin(now); err != nil {
		return Result{}, failure.Op(op, lockedError(mm, err))
	}
	id := mm.Identity()
	if err := credential.CheckPassword(credential.EstimatorOf(h.hasher), next, id.NIR, id.LastName, id.FirstName, id.Email); err != nil {
		return Result{}, failure.Op(op, failure.Field("new_password", err))
	}
	if next == current {
		return Result{}, failure.Op(op, failure.Field("new_password", member.ErrPasswordUnchanged))
	}
	hash := mm.PasswordHash()
	ok, err := h.hasher.Verify(ctx, current, hash)
	if err != nil {
		return Result{}, failure.Opf(op, "verify password: %w", err)
	}
	if !ok {
		policy := member.CurrentLoginPolicy()
		_, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
			return lockedError(mm, mm.LoginFailed(now, policy))
		}, passwordChangeOutcome)
		if err == nil {
			err = member.ErrInvalidCredentials
		}
		return Result{}, failure.Op(op, failure.Field("current_password", err))
	}
	newHash, err := h.hasher.Hash(ctx, next)
	if err != nil {
		return Result{}, failure.Opf(op, "hash password: %w", err)
	}
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.SetPassword(newHash, credential.PasswordPolicyVersion, member.ReasonChange, hash, sessionID, now)
	}, passwordChangeOutcome)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// passwordChangeOutcome is the outcome of a password change from the events it recorded.
func passwordChangeOutcome(recorded []any) error {
	for _, e := range recorded {
		if _, ok := e.(member.LoginFailed); ok {
			return failure.Field("current_password", member.ErrInvalidCredentials)
		}
	}
	return nil
}
