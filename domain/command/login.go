package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// LoginResult is a successful login: the member the caller opens session sessionID for.
type LoginResult struct {
	Result
	MemberID uuid.UUID
}

// Login checks a member's 13-character NIR and password and records the outcome on the member's stream:
//
//   - a malformed NIR is "nir": nir.* (Invalid): syntax tells nothing about accounts;
//   - an unknown NIR (no claim, or no open account) spends the time of a password verification
//     (Hasher.VerifyDummy) and answers member.ErrInvalidCredentials (auth.invalid_credentials, Unauthenticated);
//   - during a lock: exactly the answer of an unknown NIR (the time of a password verification, then
//     member.ErrInvalidCredentials, with no end of lock), nothing checked nor recorded, even for the right password:
//     a different answer would tell whoever tries NIRs which ones have an account (OWASP). The account's owner
//     learns of the lock by mail (adapters/membermail reacts to member.Locked);
//   - a wrong password: LoginFailed{consecutive failures} and auth.invalid_credentials; the fifth in a row also
//     records Locked (15 minutes, doubling with each lock in 24 hours, at most 24 hours), and a hundredth failure
//     within an hour locks too (member.LoginPolicy);
//   - a right password: LoggedIn{sessionID}, which restarts the count; when the stored hash was made with other
//     argon2id parameters than the hasher's current ones, also PasswordRehashed with a new hash of the password
//     (see PasswordRehasher).
//
// The command id of the member stream derives from Meta.CommandID and sessionID: each attempt (a new session id)
// is its own fact, and a retry of one attempt returns its recorded outcome.
func (h *Members) Login(ctx context.Context, m Meta, nirLogin, password string, sessionID uuid.UUID) (LoginResult, error) {
	const op = "command.Login"
	n, err := nir.ParseLogin(nirLogin)
	if err != nil {
		return LoginResult{}, failure.Op(op, failure.Field("nir", err))
	}
	if sessionID == uuid.Nil {
		return LoginResult{}, failure.Opf(op, "no session id")
	}
	now := h.clock().UTC()
	memberID, mm, err := h.memberByNIR(ctx, h.keys, n)
	if err != nil {
		return LoginResult{}, failure.Op(op, err)
	}
	if mm != nil {
		if err := mm.CheckLogin(now); err != nil && !errors.Is(err, member.ErrAccountLocked) {
			return LoginResult{}, failure.Op(op, err)
		} else if err != nil {
			mm = nil // locked: answered exactly as an unknown NIR
		}
	}
	if mm == nil {
		if err := h.hasher.VerifyDummy(ctx, password); err != nil {
			return LoginResult{}, failure.Op(op, err)
		}
		return LoginResult{}, failure.Op(op, member.ErrInvalidCredentials)
	}
	hash := mm.PasswordHash()
	ok, err := h.hasher.Verify(ctx, password, hash)
	if err != nil {
		return LoginResult{}, failure.Opf(op, "verify password: %w", err)
	}
	rehash := ""
	if ok {
		if rehash, err = rehashFor(ctx, h.hasher, password, hash); err != nil {
			return LoginResult{}, failure.Op(op, err)
		}
	}
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(member.Category, memberID)
	cmd := h.commandAt(m, stream, now)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, []byte("login "+sessionID.String()))
	cmd.RetryOnConflict = memberRetries
	policy := member.CurrentLoginPolicy()
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		mm := member.Rehydrate(history)
		var err error
		if ok {
			err = mm.LoginSucceeded(sessionID, hash, now)
			if err == nil {
				err = mm.RehashPassword(hash, rehash, now)
			}
		} else {
			err = mm.LoginFailed(now, policy)
		}
		return mm.Events(), err
	}, loginOutcome)
	if err != nil {
		if errors.Is(err, member.ErrPasswordChanged) || errors.Is(err, member.ErrNotFound) {
			err = member.ErrInvalidCredentials // verified against a password that is no longer the account's
		}
		if errors.Is(err, member.ErrAccountLocked) {
			err = member.ErrInvalidCredentials // locked meanwhile: answered like any failed login
		}
		err = erasedAsUnknown(err) // erased meanwhile: as an unknown account
		return LoginResult{}, failure.Op(op, err)
	}
	return LoginResult{Result: Result{Position: commit.Position}, MemberID: memberID}, nil
}

// PasswordRehasher is implemented by password hashers whose parameters can change (*credentials.Hasher does): a
// hash made with other parameters than the current ones is replaced after a successful login, when the password is
// at hand. A hasher without it never rehashes.
type PasswordRehasher interface {
	NeedsRehash(encoded string) bool
}

// rehashFor returns a new hash of password when encoded (which password was just verified against) was made with
// other parameters than the hasher's current ones, or "" when it needs none. The hash is made before the decision
// (hashing is slow and stays outside it); the aggregate records it only if encoded is still the stored hash.
func rehashFor(ctx context.Context, hasher PasswordHasher, password, encoded string) (string, error) {
	r, ok := hasher.(PasswordRehasher)
	if !ok || !r.NeedsRehash(encoded) {
		return "", nil
	}
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("rehash password: %w", err)
	}
	return hash, nil
}

// loginOutcome is the outcome of a login attempt from the events it recorded.
func loginOutcome(recorded []any) error {
	for _, e := range recorded {
		if _, ok := e.(member.LoggedIn); ok {
			return nil
		}
	}
	return member.ErrInvalidCredentials
}

// lockedError gives ErrAccountLocked the end of the lock.
func lockedError(mm *member.Member, err error) error {
	if errors.Is(err, member.ErrAccountLocked) {
		return &member.LockedError{Until: mm.LockedUntil()}
	}
	return err
}

// memberByNIR returns the open account a NIR names, or a nil member when there is none (no claim, a claim whose
// account stream holds no registration: an interrupted activation, or an account whose data was erased: the login
// and the password reset answer for it as for an unknown NIR, and nothing is recorded on its stream).
func (c *core) memberByNIR(ctx context.Context, keys Keys, n nir.NIR) (uuid.UUID, *member.Member, error) {
	claim, err := c.store.Load(ctx, claimStream(keys, n))
	if err != nil {
		return uuid.Nil, nil, err
	}
	id, ok := member.RehydrateClaim(claim).Member()
	if !ok {
		return uuid.Nil, nil, nil
	}
	mm, err := c.loadMember(ctx, id)
	if err != nil || !mm.Registered() || mm.Erased() {
		return uuid.Nil, nil, err
	}
	return id, mm, nil
}

// loadMember rehydrates member-<id>.
func (c *core) loadMember(ctx context.Context, id uuid.UUID) (*member.Member, error) {
	history, err := c.store.Load(ctx, event.NewStreamID(member.Category, id))
	if err != nil {
		return nil, err
	}
	return member.Rehydrate(history), nil
}

// Logout records the end of session sessionID of member memberID (LoggedOut{sessionID, reason}); reason is
// "logout" when empty, otherwise a short lower-case word ("password_changed", "password_reset", "expired").
// Errors: member.not_found (NotFound) for an unknown member or one without an open account.
func (h *Members) Logout(ctx context.Context, m Meta, memberID, sessionID uuid.UUID, reason string) (Result, error) {
	const op = "command.Logout"
	if !validReason(reason) {
		return Result{}, failure.Opf(op, "invalid logout reason")
	}
	now := h.clock().UTC()
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.Logout(sessionID, reason, now)
	}, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// validReason accepts "" or up to 32 lower-case ASCII letters and underscores.
func validReason(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '_' {
			return false
		}
	}
	return true
}

// onMember runs one decision of an open account's own command on member-<memberID>: the actor defaults to the
// member, the decision is retried over a newer history after a lost race, and an unknown member is
// member.ErrNotFound (the member aggregate refuses a stream without an open account).
func (h *Members) onMember(ctx context.Context, m Meta, memberID uuid.UUID, now time.Time,
	decide func(*member.Member) error, replay func(recorded []any) error) (event.Commit, error) {
	if memberID == uuid.Nil {
		return event.Commit{}, member.ErrNotFound
	}
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(member.Category, memberID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = memberRetries
	return h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		mm := member.Rehydrate(history)
		err := decide(mm)
		return mm.Events(), err
	}, replay)
}
