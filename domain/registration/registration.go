// Package registration is the registration saga of a member account: the form as submitted, the activation code
// sent by email, the wrong attempts, the lock after too many, and the completion that opens the member account.
//
// A registration that cannot go on (the person is not in the insured-person reference, or the NIR already has an
// account) is Refused but otherwise behaves like any other: it has an id, accepts resend requests and counts wrong
// codes up to the same lock, so that nobody learns from the answers whether a NIR is known (no enumeration). No
// code is ever issued for it, so no code can match.
//
// The activation code is never in an event: it is derived from the server key, the registration id and the
// Sequence of the CodeIssued event (see domain/command.ActivationCode), and a decision receives a function that
// compares the typed code with the code of a sequence.
package registration

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Reasons recorded in Refused and Locked, and the channel of CodeIssued.
const (
	RefusedNotInsured        = "not_insured"
	RefusedAlreadyRegistered = "already_registered"
	LockedTooManyAttempts    = "too_many_attempts"
	ChannelEmail             = "email"
)

// The errors of registration decisions, each with a stable code; the French sentences are in domain/messages.
var (
	// ErrNotFound: no registration has this id.
	ErrNotFound = failure.New(failure.NotFound, "registration.not_found", "registration not found")
	// ErrLocked: too many wrong codes; the registration accepts nothing any more.
	ErrLocked = failure.New(failure.Rule, "registration.locked", "registration locked after too many wrong codes")
	// ErrCompleted: the registration already opened its account.
	ErrCompleted = failure.New(failure.Rule, "registration.completed", "registration already completed")
	// ErrAlreadyRegistered: the NIR got an account between the form and the activation (two registrations of the
	// same person; the first activated wins).
	ErrAlreadyRegistered = failure.New(failure.Rule, "registration.already_registered", "NIR already registered")
	// ErrAlreadyStarted: Start on a registration that already holds a form (a bug: registration ids are fresh).
	ErrAlreadyStarted = failure.New(failure.Conflict, "registration.already_started", "registration already started")
)

// Errors returns every sentinel of the package.
func Errors() []*failure.Error {
	return []*failure.Error{ErrNotFound, ErrLocked, ErrCompleted, ErrAlreadyRegistered, ErrAlreadyStarted}
}

// Registration is the state of one registration stream. The zero value (or Rehydrate of an empty history) is a
// registration not started.
type Registration struct {
	started   bool
	applicant Started
	startedAt time.Time
	refused   bool
	refusal   string
	sequence  int       // of the last code issued; 0 if none
	sentAt    time.Time // when the last code was issued (for a refused registration: when it started)
	expiresAt time.Time // of the last code issued
	attempts  int       // wrong codes over the whole registration
	locked    bool
	completed bool
	memberID  uuid.UUID

	pending []any
}

// Rehydrate folds a registration stream's history into its state. Events of other types are ignored (a tolerant
// reader: a later version may add some).
func Rehydrate(history []event.Envelope) *Registration {
	r := &Registration{}
	for _, env := range history {
		r.apply(env.Event, env.Metadata.OccurredAt)
	}
	return r
}

// apply mutates the state; it never fails. at is the business time of the event.
func (r *Registration) apply(e any, at time.Time) {
	switch e := e.(type) {
	case Started:
		r.started, r.applicant, r.startedAt, r.sentAt = true, e, at, at
	case Refused:
		r.refused, r.refusal = true, e.Reason
	case CodeIssued:
		r.sequence, r.expiresAt, r.sentAt = e.Sequence, e.ExpiresAt, at
	case CodeRejected:
		r.attempts = max(r.attempts, e.Attempt)
	case Locked:
		r.locked = true
	case Completed:
		r.completed, r.memberID = true, e.MemberID
	}
}

func (r *Registration) record(at time.Time, events ...any) {
	for _, e := range events {
		r.apply(e, at)
		r.pending = append(r.pending, e)
	}
}

// Events returns the events the decisions recorded, to append.
func (r *Registration) Events() []any { return r.pending }

// Start records a submitted form. refusal is "" when the registration may go on (a first code is issued, valid
// until p.ExpiresAt(now)), or the reason it cannot (RefusedNotInsured, RefusedAlreadyRegistered): then nothing is
// issued. The applicant's data must have been validated by the caller.
func (r *Registration) Start(applicant Started, refusal string, now time.Time, p credential.CodePolicy) error {
	if r.started {
		return ErrAlreadyStarted
	}
	if len(applicant.NIR) != 13 || applicant.Email == "" || applicant.LastName == "" || applicant.FirstName == "" {
		return failure.Errorf(failure.Internal, "registration.Start: applicant not validated")
	}
	switch refusal {
	case "":
		r.record(now, applicant, CodeIssued{Sequence: 1, ExpiresAt: p.ExpiresAt(now), Channel: ChannelEmail,
			PolicyVersion: p.Version})
	case RefusedNotInsured, RefusedAlreadyRegistered:
		r.record(now, applicant, Refused{Reason: refusal})
	default:
		return failure.Errorf(failure.Internal, "registration.Start: unknown refusal %q", refusal)
	}
	return nil
}

// open says whether the registration still takes requests.
func (r *Registration) open() error {
	switch {
	case !r.started:
		return ErrNotFound
	case r.completed:
		return ErrCompleted
	case r.locked:
		return ErrLocked
	}
	return nil
}

// Activatable reports whether an activation may be attempted at all (ErrNotFound, ErrCompleted, ErrLocked), so
// that a caller can refuse before doing expensive work.
func (r *Registration) Activatable() error { return r.open() }

// Resend issues a new code (sequence + 1, new expiry); the count of wrong attempts is kept. A refused
// registration answers the same but issues nothing. Errors: ErrNotFound, ErrCompleted, ErrLocked,
// credential.ErrCodeResendTooSoon within p.ResendCooldown of the last code (for a refused registration, of its
// start: a refused registration records nothing on resend, so repeated resends are not throttled the same way
// after the first minute).
func (r *Registration) Resend(now time.Time, p credential.CodePolicy) error {
	if err := r.open(); err != nil {
		return err
	}
	if err := p.CanResend(r.sentAt, now); err != nil {
		return err
	}
	if r.refused {
		return nil
	}
	r.record(now, CodeIssued{Sequence: r.sequence + 1, ExpiresAt: p.ExpiresAt(now), Channel: ChannelEmail,
		PolicyVersion: p.Version})
	return nil
}

// ResendAllowedAt is the first instant at which Resend may issue a new code.
func (r *Registration) ResendAllowedAt(p credential.CodePolicy) time.Time {
	return p.ResendAllowedAt(r.sentAt)
}

// VerifyCode checks a typed code: matches(sequence) compares it, in constant time, with the code of that
// sequence. A right code records nothing and returns nil (Complete follows once the account is open). A wrong
// one records CodeRejected and returns credential.ErrCodeWrong, and the one that exhausts p.MaxAttempts also
// records Locked and returns ErrLocked. Other errors record nothing: ErrNotFound, ErrCompleted, ErrLocked,
// credential.ErrCodeExpired. A refused registration has no code: every code is wrong, and it expires like a real
// first code.
func (r *Registration) VerifyCode(matches func(sequence int) bool, now time.Time, p credential.CodePolicy) error {
	if err := r.open(); err != nil {
		return err
	}
	expires := r.expiresAt
	if r.refused {
		expires = p.ExpiresAt(r.startedAt)
	}
	hasCode := !r.refused && r.sequence > 0
	err := p.CheckCode(expires, r.attempts, now, func() bool { return hasCode && matches(r.sequence) },
		func(attempt int, exhausted bool) {
			r.record(now, CodeRejected{Attempt: attempt})
			if exhausted {
				r.record(now, Locked{Reason: LockedTooManyAttempts})
			}
		})
	if errors.Is(err, credential.ErrCodeAttemptsExhausted) {
		return ErrLocked
	}
	return err
}

// Complete records that the account memberID was opened for this registration. Completing again for the same
// member records nothing (a retried activation); for another member it is ErrCompleted. Complete does not check
// the code (VerifyCode did) nor the lock: the account exists by now and the registration must say so.
func (r *Registration) Complete(memberID uuid.UUID, now time.Time) error {
	switch {
	case !r.started:
		return ErrNotFound
	case r.completed && r.memberID == memberID:
		return nil
	case r.completed:
		return ErrCompleted
	case r.refused:
		return failure.Errorf(failure.Internal, "registration.Complete: registration was refused")
	case memberID == uuid.Nil:
		return failure.Errorf(failure.Internal, "registration.Complete: no member id")
	}
	r.record(now, Completed{MemberID: memberID})
	return nil
}

// Started reports whether the registration holds a form.
func (r *Registration) Started() bool { return r.started }

// Applicant returns the form as submitted. Personal data: never log it.
func (r *Registration) Applicant() Started { return r.applicant }

// Refused reports whether the registration was refused, and why.
func (r *Registration) Refused() (bool, string) { return r.refused, r.refusal }

// Sequence is the sequence of the last code issued (0: none).
func (r *Registration) Sequence() int { return r.sequence }

// ExpiresAt is the expiry of the last code issued.
func (r *Registration) ExpiresAt() time.Time { return r.expiresAt }

// Attempts is the number of wrong codes so far.
func (r *Registration) Attempts() int { return r.attempts }

// Locked reports whether too many wrong codes locked the registration.
func (r *Registration) Locked() bool { return r.locked }

// Completed reports whether the registration opened an account, and which.
func (r *Registration) Completed() (uuid.UUID, bool) { return r.memberID, r.completed }

// String describes the state without personal data.
func (r *Registration) String() string {
	return fmt.Sprintf("registration{started=%t refused=%t seq=%d attempts=%d locked=%t completed=%t}",
		r.started, r.refused, r.sequence, r.attempts, r.locked, r.completed)
}
