package member

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Reasons recorded in ResetRefused and ResetLocked.
const (
	ResetRefusedUnknownAccount = "unknown_account"
	ResetRefusedEmailMismatch  = "email_mismatch"
	ResetLockedTooManyAttempts = "too_many_attempts"
)

// The errors of the forgotten-password procedure (with the credential.ErrCode* errors).
var (
	// ErrResetNotFound: no procedure has this id.
	ErrResetNotFound = failure.New(failure.NotFound, "password_reset.not_found", "password reset not found")
	// ErrResetCompleted: the procedure already set a new password.
	ErrResetCompleted = failure.New(failure.Rule, "password_reset.completed", "password reset already completed")
)

// Reset is the state of a passwordreset stream: one forgotten-password procedure. A refused procedure (no
// account, or not its email) behaves like a real one except that no code can match, so that its answers tell
// nothing about the NIR.
type Reset struct {
	started   bool
	refused   bool
	memberID  uuid.UUID
	sequence  int
	expiresAt time.Time
	startedAt time.Time
	attempts  int
	locked    bool
	completed bool
	pending   []any
}

// RehydrateReset folds a passwordreset stream's history.
func RehydrateReset(history []event.Envelope) *Reset {
	r := &Reset{}
	for _, env := range history {
		r.apply(env.Event, env.Metadata.OccurredAt)
	}
	return r
}

// apply folds one event of the reset stream and reports whether it is one.
func (r *Reset) apply(e any, at time.Time) bool {
	switch e := e.(type) {
	case ResetRequested:
		r.started, r.memberID, r.sequence, r.expiresAt, r.startedAt = true, e.MemberID, e.Sequence, e.ExpiresAt, at
	case ResetRefused:
		r.started, r.refused, r.startedAt = true, true, at
	case ResetCodeRejected:
		r.attempts = max(r.attempts, e.Attempt)
	case ResetLocked:
		r.locked = true
	case ResetCompleted:
		r.completed = true
	default:
		return false
	}
	return true
}

func (r *Reset) record(at time.Time, events ...any) {
	for _, e := range events {
		r.apply(e, at)
		r.pending = append(r.pending, e)
	}
}

// Events returns the events the decisions recorded, to append.
func (r *Reset) Events() []any { return r.pending }

// Request opens the procedure for memberID: a first code is sent to the member's email, valid until
// p.ExpiresAt(now).
func (r *Reset) Request(memberID uuid.UUID, now time.Time, p credential.CodePolicy) error {
	if r.started {
		return failure.Errorf(failure.Conflict, "member.Reset: procedure already started")
	}
	if memberID == uuid.Nil {
		return failure.Errorf(failure.Internal, "member.Reset: no member id")
	}
	r.record(now, ResetRequested{MemberID: memberID, Sequence: 1, ExpiresAt: p.ExpiresAt(now), PolicyVersion: p.Version})
	return nil
}

// Refuse opens a procedure that can never succeed, for reason (ResetRefusedUnknownAccount,
// ResetRefusedEmailMismatch); no code is sent.
func (r *Reset) Refuse(reason string, now time.Time) error {
	if r.started {
		return failure.Errorf(failure.Conflict, "member.Reset: procedure already started")
	}
	switch reason {
	case ResetRefusedUnknownAccount, ResetRefusedEmailMismatch:
	default:
		return failure.Errorf(failure.Internal, "member.Reset: refusal %q", reason)
	}
	r.record(now, ResetRefused{Reason: reason})
	return nil
}

// VerifyCode checks a typed code: matches(sequence) compares it with the code of that sequence. Right: nil,
// nothing recorded (SetPassword on the member, then Complete, follow). Wrong: ResetCodeRejected and
// credential.ErrCodeWrong; the wrong code that uses up p.MaxAttempts also records ResetLocked and returns
// credential.ErrCodeAttemptsExhausted, as does any code after it. Expired: credential.ErrCodeExpired. A refused
// procedure has no code: every code is wrong, and it expires like a real one.
func (r *Reset) VerifyCode(matches func(sequence int) bool, now time.Time, p credential.CodePolicy) error {
	switch {
	case !r.started:
		return ErrResetNotFound
	case r.completed:
		return ErrResetCompleted
	case r.locked:
		return credential.ErrCodeAttemptsExhausted
	}
	expires := r.expiresAt
	if r.refused {
		expires = p.ExpiresAt(r.startedAt)
	}
	return p.CheckCode(expires, r.attempts, now, func() bool { return !r.refused && matches(r.sequence) },
		func(attempt int, exhausted bool) {
			r.record(now, ResetCodeRejected{Attempt: attempt})
			if exhausted {
				r.record(now, ResetLocked{Reason: ResetLockedTooManyAttempts})
			}
		})
}

// Complete records the end of the procedure once the new password is set; completing again records nothing.
func (r *Reset) Complete(now time.Time) error {
	switch {
	case !r.started:
		return ErrResetNotFound
	case r.refused:
		return failure.Errorf(failure.Internal, "member.Reset: refused procedure cannot complete")
	case r.completed:
		return nil
	}
	r.record(now, ResetCompleted{})
	return nil
}

// Member is the member whose password the procedure resets (uuid.Nil for a refused one).
func (r *Reset) Member() uuid.UUID { return r.memberID }

// Sequence is the sequence of the code sent (0 for a refused procedure).
func (r *Reset) Sequence() int { return r.sequence }

// Attempts is the number of wrong codes so far.
func (r *Reset) Attempts() int { return r.attempts }

// Completed reports whether the procedure set a new password.
func (r *Reset) Completed() bool { return r.completed }

// Refused reports whether the procedure was refused.
func (r *Reset) Refused() bool { return r.refused }

// String describes the state.
func (r *Reset) String() string {
	return fmt.Sprintf("passwordreset{started=%t refused=%t attempts=%d locked=%t completed=%t}",
		r.started, r.refused, r.attempts, r.locked, r.completed)
}
