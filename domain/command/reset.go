package command

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// ResetResult is the answer to a forgotten-password request: always a procedure id, whether or not a code was sent.
type ResetResult struct {
	Result
	ResetID uuid.UUID
}

// RequestPasswordReset opens a forgotten-password procedure passwordreset-<id>. Only when the NIR has an open
// account whose email is email (compared without case) is it ResetRequested{member, sequence 1, expiry} — the
// mail reaction then sends ResetCode to that address; otherwise it is ResetRefused, with no code. Both append one
// event after the same reads, and the answer is the same: nobody learns whether the NIR or the email is known.
// Errors (input syntax only): "nir": nir.* (Invalid), "email": email.required, email.invalid (Invalid).
//
// The procedure id derives from Meta.CommandID: a retry returns the same procedure. The endpoint must be
// throttled: each call may send a mail to a member.
func (h *Members) RequestPasswordReset(ctx context.Context, m Meta, nirLogin, email string) (ResetResult, error) {
	const op = "command.RequestPasswordReset"
	n, err := nir.ParseLogin(nirLogin)
	if err != nil {
		return ResetResult{}, failure.Op(op, failure.Field("nir", err))
	}
	email, err = member.NormalizeEmail(email)
	if err != nil {
		return ResetResult{}, failure.Op(op, failure.Field("email", err))
	}
	now := h.clock().UTC()
	m = h.withCommandID(m)
	id := resetIDFor(m.CommandID)
	m = withActor(m, id)
	memberID, mm, err := h.memberByNIR(ctx, h.keys, n)
	if err != nil {
		return ResetResult{}, failure.Op(op, err)
	}
	reason := ""
	switch {
	case mm == nil:
		reason = member.ResetRefusedUnknownAccount
		// Read a member stream anyway (one that does not exist), as the known case does.
		if _, err := h.loadMember(ctx, memberIDFor(id)); err != nil {
			return ResetResult{}, failure.Op(op, err)
		}
	case !strings.EqualFold(mm.Email(), email):
		reason = member.ResetRefusedEmailMismatch
	}
	stream := event.NewStreamID(member.PasswordResetCategory, id)
	commit, err := h.decideOn(ctx, stream, h.commandAt(m, stream, now), func(history []event.Envelope) ([]any, error) {
		r := member.RehydrateReset(history)
		var err error
		if reason == "" {
			err = r.Request(memberID, now, credential.CurrentCodePolicy())
		} else {
			err = r.Refuse(reason, now)
		}
		return r.Events(), err
	}, nil)
	if err != nil {
		return ResetResult{}, failure.Op(op, err)
	}
	return ResetResult{Result: Result{Position: commit.Position}, ResetID: id}, nil
}

// ResetCompletedResult is a completed password reset.
type ResetCompletedResult struct {
	Result
	MemberID uuid.UUID
}

// CompletePasswordReset checks the code of a forgotten-password procedure, then sets the new password:
//
//  1. "code": code.malformed (Invalid); password_reset.not_found (NotFound); password_reset.completed (Rule);
//  2. the code: code.expired (Rule); a wrong one appends ResetCodeRejected ("code": code.wrong, Rule), the fifth
//     also ResetLocked (code.attempts_exhausted, Rule, as for any code after it). A refused procedure has no
//     code: every code is wrong there, counted and locked the same way;
//  3. only then the password, against the member's NIR, names and email ("password": password.*, Invalid;
//     nothing appended, the code stays usable): checking it first would let a password holding a guessed name
//     tell a real procedure from a refused one;
//  4. member PasswordSet{reason "reset"} (it also ends a login lock), then ResetCompleted.
//
// The HTTP layer ends every session of the member. A retry with the same Meta.CommandID completes what is
// missing and writes nothing twice.
func (h *Members) CompletePasswordReset(ctx context.Context, m Meta, resetID uuid.UUID, code, password string) (ResetCompletedResult, error) {
	const op = "command.CompletePasswordReset"
	typed, err := credential.NormalizeCode(code)
	if err != nil {
		return ResetCompletedResult{}, failure.Op(op, fieldForCode(err))
	}
	if resetID == uuid.Nil {
		return ResetCompletedResult{}, failure.Op(op, member.ErrResetNotFound)
	}
	now := h.clock().UTC()
	m = h.withCommandID(m)
	stream := event.NewStreamID(member.PasswordResetCategory, resetID)
	cmd := h.commandAt(withActor(m, resetID), stream, now)
	cmd.RetryOnConflict = memberRetries
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return ResetCompletedResult{}, failure.Op(op, err)
	}
	rs := member.RehydrateReset(history)
	if recorded := recordedBy(history, cmd.Metadata.CommandID); len(recorded) > 0 { // a retry of this very call
		for _, e := range recorded {
			if _, ok := e.(member.ResetCompleted); ok {
				return ResetCompletedResult{Result: Result{Position: history[len(history)-1].Position}, MemberID: rs.Member()}, nil
			}
		}
		return ResetCompletedResult{}, failure.Opf(op, "%w",
			fieldForCode(codeOutcome(credential.ErrCodeAttemptsExhausted, recorded)))
	}

	codeOf := func(seq int) string { return ResetCode(h.keys, resetID, seq) }
	if err := verifyCode(ctx, &h.core, stream, cmd, member.RehydrateReset, codeOf, typed, now,
		credential.ErrCodeAttemptsExhausted); err != nil {
		return ResetCompletedResult{}, failure.Op(op, err)
	}

	memberID := rs.Member()
	mm, err := h.loadMember(ctx, memberID)
	if err != nil {
		return ResetCompletedResult{}, failure.Op(op, err)
	}
	if !mm.Registered() {
		return ResetCompletedResult{}, failure.Opf(op, "procedure names member %s without an account", memberID)
	}
	if mm.Erased() { // erased after the procedure began
		return ResetCompletedResult{}, failure.Op(op, member.ErrErased)
	}
	id := mm.Identity()
	if err := credential.CheckPassword(credential.EstimatorOf(h.hasher), password, id.NIR, id.LastName, id.FirstName, id.Email); err != nil {
		return ResetCompletedResult{}, failure.Op(op, failure.Field("password", err))
	}
	hash, err := h.hasher.Hash(ctx, password)
	if err != nil {
		return ResetCompletedResult{}, failure.Opf(op, "hash password: %w", err)
	}
	if _, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.SetPassword(hash, credential.PasswordPolicyVersion, member.ReasonReset, "", uuid.Nil, now)
	}, nil); err != nil {
		return ResetCompletedResult{}, failure.Op(op, err)
	}
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		r := member.RehydrateReset(history)
		err := r.Complete(now)
		return r.Events(), err
	}, nil)
	if err != nil {
		return ResetCompletedResult{}, failure.Op(op, err)
	}
	return ResetCompletedResult{Result: Result{Position: commit.Position}, MemberID: memberID}, nil
}
