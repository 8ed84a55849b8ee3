// Package member is the member account: identity and contact details, the password, logins and their failures,
// temporary locks, and the changes of address, phone and email (the last confirmed by a code sent to the new
// address). Two helper aggregates live here too: the NIR claim (one account per NIR, and the login lookup NIR →
// member) and the forgotten-password procedure (Reset).
//
// Decisions take time, ids and policies as arguments, validate, then record events; Events returns what to
// append. Apply never fails. Personal data (names, NIR, email, phone, address, password hashes) is held in
// unexported fields and never printed: String describes the state without it.
package member

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Reasons recorded in PasswordSet, Locked and LoggedOut.
const (
	ReasonActivation = "activation"
	ReasonChange     = "change"
	ReasonReset      = "reset"

	LockTooManyFailures = "too_many_failures" // MaxConsecutiveFailures reached
	LockHourlyLimit     = "hourly_limit"      // MaxFailuresPerHour reached

	LogoutByMember = "logout"
)

// The errors of member decisions, each with a stable code; the French sentences are in domain/messages.
var (
	// ErrNotFound: no member has this id, or the stream holds no registered account.
	ErrNotFound = failure.New(failure.NotFound, "member.not_found", "member not found")
	// ErrInvalidCredentials: unknown NIR or wrong password (the two are never told apart).
	ErrInvalidCredentials = failure.New(failure.Unauthenticated, "auth.invalid_credentials", "invalid credentials")
	// ErrAccountLocked: logins are suspended after repeated failures; see LockedUntil for the end of the lock.
	ErrAccountLocked = failure.New(failure.Forbidden, "auth.locked", "account locked after repeated failures")
	// ErrEmailUnchanged: the new email address is the current one.
	ErrEmailUnchanged = failure.New(failure.Rule, "email.unchanged", "email unchanged")
	// ErrNoEmailChange: a confirmation code but no change of email waiting for one.
	ErrNoEmailChange = failure.New(failure.Rule, "email_change.none", "no email change awaiting confirmation")
	// ErrAlreadyExists: Register on an account opened by another registration (a bug: member ids derive from
	// registration ids).
	ErrAlreadyExists = failure.New(failure.Conflict, "member.already_exists", "member already exists")
	// ErrNIRClaimed: the NIR already belongs to another member.
	ErrNIRClaimed = failure.New(failure.Conflict, "member.nir_claimed", "NIR already claimed by another member")
	// ErrPasswordUnchanged: a password change to the current password.
	ErrPasswordUnchanged = failure.New(failure.Invalid, "password.unchanged", "new password equals the current one")
	// ErrPasswordChanged: the password changed between its verification and the decision (a concurrent change);
	// the caller may start again.
	ErrPasswordChanged = failure.New(failure.Conflict, "member.password_changed", "password changed concurrently")
	// ErrErased: the member's personal data was erased (DataErased); nothing of the account can change any more.
	// Login answers ErrInvalidCredentials instead, as for an unknown account.
	ErrErased = failure.New(failure.Rule, "member.erased", "member data erased")
	// ErrLegalHold: an erasure while a legal hold is in force.
	ErrLegalHold = failure.New(failure.Rule, "member.legal_hold", "member data under a legal hold")
	// ErrOpenRequests: an erasure while a request of the member is still open (not decided, withdrawn nor lapsed).
	ErrOpenRequests = failure.New(failure.Rule, "member.open_requests", "member has open requests")
	// ErrErasureReason: an erasure reason other than ErasureRequested and ErasureRetentionEnded.
	ErrErasureReason = failure.New(failure.Invalid, "erasure.reason_invalid", "invalid erasure reason")
	// ErrTicketInvalid: a ticket (the reference of an erasure or a legal hold in the fund's records) that is empty,
	// longer than 64 characters or not made of letters, digits and . _ / : -.
	ErrTicketInvalid = failure.New(failure.Invalid, "ticket.invalid", "invalid ticket")
	// ErrLegalHoldReason: a legal hold reason that is not one of LegalHoldReasons.
	ErrLegalHoldReason = failure.New(failure.Invalid, "legal_hold.reason_invalid", "invalid legal hold reason")
	// ErrLegalHoldNotFound: lifting a legal hold whose ticket is not in force.
	ErrLegalHoldNotFound = failure.New(failure.NotFound, "legal_hold.not_found", "no legal hold with this ticket")
)

// Errors returns every sentinel of the package.
func Errors() []*failure.Error {
	return []*failure.Error{ErrNotFound, ErrInvalidCredentials, ErrAccountLocked, ErrEmailUnchanged, ErrNoEmailChange,
		ErrAlreadyExists, ErrNIRClaimed, ErrPasswordUnchanged, ErrPasswordChanged, ErrResetNotFound, ErrResetCompleted,
		ErrErased, ErrLegalHold, ErrOpenRequests, ErrErasureReason, ErrTicketInvalid, ErrLegalHoldReason,
		ErrLegalHoldNotFound}
}

// LoginPolicy is the access restriction that lets member passwords meet CNIL 2022-100 case 2: a temporary lock
// after repeated failures, longer for each lock in a day, and a hard ceiling of failures per hour.
type LoginPolicy struct {
	// MaxConsecutiveFailures wrong passwords in a row (since the last success or lock) lock the account.
	MaxConsecutiveFailures int
	// LockBase is the first lock's length; it doubles for each other lock within LockWindow, up to LockMax.
	LockBase, LockMax, LockWindow time.Duration
	// MaxFailuresPerHour bounds the failures of any sliding hour (the issue's "at most 100 failures per hour per
	// account"): the failure that reaches it locks until the oldest of them is an hour old. With the consecutive
	// rule in force it is never reached; it holds even if that rule is loosened.
	MaxFailuresPerHour int
}

// CurrentLoginPolicy returns the policy in force: 5 failures lock for 15 minutes, doubling with each lock in 24
// hours up to 24 hours; never more than 100 failures in an hour.
func CurrentLoginPolicy() LoginPolicy {
	return LoginPolicy{
		MaxConsecutiveFailures: 5,
		LockBase:               15 * time.Minute,
		LockMax:                24 * time.Hour,
		LockWindow:             24 * time.Hour,
		MaxFailuresPerHour:     100,
	}
}

// lockFor is the length of a new lock when previous locks happened within the window.
func (p LoginPolicy) lockFor(previous int) time.Duration {
	d := p.LockBase
	for range previous {
		if d >= p.LockMax {
			break
		}
		d *= 2
	}
	return min(d, p.LockMax)
}

// Member is one member stream: its folded State and the events its decisions recorded.
type Member struct {
	state   State
	pending []any
}

// State is a member's account as its events left it: the one fold of the member events. The aggregate decides on
// it, and the accounts projection loads its stored fields into one, applies the event and writes back, so that the
// rules (a reset ends the lock, a rejection that uses up the attempts voids the email change, a confirmed change
// closes it) are stated here only. Apply returns the next state and never changes its receiver. The credentials'
// state (hashes, failures) is unexported: only the aggregate reads it.
type State struct {
	Registered bool
	// Erased: the member's personal data was erased (DataErased); their personal fields read event.ErasedText.
	Erased bool
	// LegalHolds are the tickets of the legal holds in force: no erasure while one is.
	LegalHolds     map[string]bool
	RegistrationID uuid.UUID
	Identity       Registered // identity as registered, contact details as of the last change
	Address        AddressChanged
	LockedUntil    time.Time
	LastLogin      time.Time

	EmailChange     EmailChangeRequested // the last email change requested
	EmailChangeAt   time.Time
	EmailChangeOpen bool
	EmailAttempts   int
	EmailVoid       bool // a recorded verdict said the attempts were used up
	EmailNoVerdict  bool // the last wrong code was recorded without a verdict (before verdicts existed)

	erasedTicket string // the ticket of the erasure, to tell a repeat of it from another one

	passwordHash   string
	passwordPolicy string
	// rehashedFrom holds the earlier hashes of the current password (replaced by PasswordRehashed): a login or a
	// change verified against one of them was verified against the current password.
	rehashedFrom map[string]bool
	failures     int         // consecutive wrong passwords since the last success or lock
	failureTimes []time.Time // failures within the hour before the latest one
	lockTimes    []time.Time // locks within LockWindow before the latest one (window of the current policy)
}

// Rehydrate folds a member stream's history into its state. Events of other types are ignored.
func Rehydrate(history []event.Envelope) *Member { return &Member{state: Fold(history)} }

// Fold returns the state a member stream's history leaves, from the zero state. Events of other types are ignored.
func Fold(history []event.Envelope) State {
	var s State
	for _, env := range history {
		s, _ = s.Apply(env.Event, env.Metadata.OccurredAt)
	}
	return s
}

// EmailAsOf returns the member's email as it stood when the event at position pos was committed: the fold of the
// member stream's history up to pos. Events committed after it do not count, so that a repeat of a mail goes where
// the first copy went. pos 0 (or an event not yet stored) reads the whole history. It is "" when the history holds
// no email; event.ErasedText once the member's data is erased.
func EmailAsOf(history []event.Envelope, pos uint64) string {
	upto := history
	for i, e := range history {
		if e.Position != 0 && pos != 0 && e.Position > pos {
			upto = history[:i]
			break
		}
	}
	return Fold(upto).Identity.Email
}

// window bounds the memory of failures and locks kept in the state (the longest window a policy may use).
const (
	failureMemory = time.Hour
	lockMemory    = 24 * time.Hour
)

func (m *Member) apply(e any, at time.Time) { m.state, _ = m.state.Apply(e, at) }

// State returns the member's folded state.
func (m *Member) State() State { return m.state }

// Apply returns the state after the event e (a value of one of the package's event types) that occurred at at, and
// whether e is one of them; an event of another type leaves the state as it is (a tolerant reader).
func (s State) Apply(e any, at time.Time) (State, bool) {
	switch e := e.(type) {
	case Registered:
		s.Registered, s.RegistrationID, s.Identity = true, e.RegistrationID, e
	case PasswordSet:
		s.passwordHash, s.passwordPolicy, s.rehashedFrom = e.Hash, e.PolicyVersion, nil
		if e.Reason == ReasonReset { // whoever reset the password proved they hold the mailbox: the lock ends
			s.failures, s.LockedUntil = 0, time.Time{}
		}
	case PasswordRehashed:
		from := make(map[string]bool, len(s.rehashedFrom)+1) // a copy: the receiver's map stays as it was
		for h := range s.rehashedFrom {
			from[h] = true
		}
		from[s.passwordHash] = true
		s.rehashedFrom, s.passwordHash = from, e.Hash
	case LoggedIn:
		s.failures, s.LastLogin = 0, at
	case LoginFailed:
		s.failures = e.Failures
		s.failureTimes = append(since(s.failureTimes, at.Add(-failureMemory)), at)
	case Locked:
		s.failures, s.LockedUntil = 0, e.Until
		s.lockTimes = append(since(s.lockTimes, at.Add(-lockMemory)), at)
	case AddressChanged:
		s.Address = e
	case PhoneChanged:
		s.Identity.MobilePhone = e.MobilePhone
	case EmailChangeRequested:
		s.EmailChange, s.EmailChangeAt = e, at
		s.EmailChangeOpen, s.EmailAttempts, s.EmailVoid, s.EmailNoVerdict = true, 0, false, false
	case EmailChangeRejected:
		s.EmailAttempts = max(s.EmailAttempts, e.Attempt)
		exhausted, recorded := e.Verdict()
		s.EmailVoid = s.EmailVoid || exhausted
		s.EmailNoVerdict = !recorded
	case EmailChanged:
		s.Identity.Email, s.EmailChangeOpen = e.Email, false
	case LoggedOut:
		// Sessions are not the stream's state: nothing changes.
	case DataErased:
		s.Erased, s.erasedTicket = true, e.Ticket
	case LegalHoldPlaced:
		holds := make(map[string]bool, len(s.LegalHolds)+1) // a copy: the receiver's map stays as it was
		for t := range s.LegalHolds {
			holds[t] = true
		}
		holds[e.Ticket] = true
		s.LegalHolds = holds
	case LegalHoldLifted:
		holds := make(map[string]bool, len(s.LegalHolds))
		for t := range s.LegalHolds {
			if t != e.Ticket {
				holds[t] = true
			}
		}
		s.LegalHolds = holds
	default:
		return s, false // also the events of the reset and claim streams (Reset.apply folds the reset's)
	}
	return s, true
}

// EmailChangeVoid reports whether the open email change can no longer be confirmed because its attempts are used
// up: by the verdicts recorded, or, for a rejection recorded without one, by p's maximum.
func (s State) EmailChangeVoid(p credential.CodePolicy) bool {
	return s.EmailVoid || (s.EmailNoVerdict && p.AttemptsExhausted(s.EmailAttempts))
}

// since returns the times of ts after from (ts is in order).
func since(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(from) {
		i++
	}
	return append(ts[:0:0], ts[i:]...)
}

func (m *Member) record(at time.Time, events ...any) {
	for _, e := range events {
		m.apply(e, at)
		m.pending = append(m.pending, e)
	}
}

// Events returns the events the decisions recorded, to append.
func (m *Member) Events() []any { return m.pending }

// Register opens the account from a completed registration, with its first password (hash and policy version).
// Registering again from the same registration records nothing (a retried activation); from another one it is
// ErrAlreadyExists; on an erased account, ErrErased.
func (m *Member) Register(r Registered, hash, policyVersion string, now time.Time) error {
	if m.state.Erased {
		return ErrErased
	}
	if m.state.Registered {
		if m.state.RegistrationID == r.RegistrationID {
			return nil
		}
		return ErrAlreadyExists
	}
	if r.RegistrationID == uuid.Nil || len(r.NIR) != 13 || r.Email == "" || hash == "" || policyVersion == "" {
		return failure.Errorf(failure.Internal, "member.Register: incomplete registration")
	}
	m.record(now, r, PasswordSet{Hash: hash, PolicyVersion: policyVersion, Reason: ReasonActivation})
	return nil
}

// CheckLogin says whether a login may be attempted at now: ErrNotFound for an account that is not registered,
// ErrErased for an account whose data was erased, ErrAccountLocked during a lock (LockedUntil tells until when).
//
// Every decision of the account refuses an erased one with ErrErased and records nothing (the login and the
// password reset commands answer for it as for an unknown account).
func (m *Member) CheckLogin(now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if m.state.LockedUntil.After(now) {
		return ErrAccountLocked
	}
	return nil
}

// LoginSucceeded records a login with a password verified against verifiedHash (which must still be the
// account's: ErrPasswordChanged otherwise) into session sessionID; the count of failures restarts.
func (m *Member) LoginSucceeded(sessionID uuid.UUID, verifiedHash string, now time.Time) error {
	if err := m.CheckLogin(now); err != nil {
		return err
	}
	if !m.isCurrentPassword(verifiedHash) {
		return ErrPasswordChanged
	}
	if sessionID == uuid.Nil {
		return failure.Errorf(failure.Internal, "member.LoginSucceeded: no session id")
	}
	m.record(now, LoggedIn{SessionID: sessionID})
	return nil
}

// LoginFailed records a wrong password and, when p says so, a lock; it returns ErrInvalidCredentials. During a lock
// it records nothing and returns ErrAccountLocked (the login command answers it as a wrong password, so that a lock
// does not tell that the account exists; the owner is told by mail).
func (m *Member) LoginFailed(now time.Time, p LoginPolicy) error {
	if err := m.CheckLogin(now); err != nil {
		return err
	}
	n := m.state.failures + 1
	m.record(now, LoginFailed{Failures: n})
	if n >= p.MaxConsecutiveFailures {
		previous := len(since(m.state.lockTimes, now.Add(-p.LockWindow)))
		m.record(now, Locked{Until: now.Add(p.lockFor(previous)), Reason: LockTooManyFailures})
		return ErrInvalidCredentials
	}
	if hour := since(m.state.failureTimes, now.Add(-time.Hour)); len(hour) >= p.MaxFailuresPerHour {
		m.record(now, Locked{Until: hour[0].Add(time.Hour), Reason: LockHourlyLimit})
	}
	return ErrInvalidCredentials
}

// Logout records the end of session sessionID, for reason (LogoutByMember, "password_changed", ...).
func (m *Member) Logout(sessionID uuid.UUID, reason string, now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if reason == "" {
		reason = LogoutByMember
	}
	m.record(now, LoggedOut{SessionID: sessionID, Reason: reason})
	return nil
}

// ChangeAddress records a new postal address (validated by the caller); the same address with the same date
// records nothing.
func (m *Member) ChangeAddress(a AddressChanged, now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if a.Line1 == "" || a.City == "" || a.Country == "" || a.EffectiveFrom == "" {
		return failure.Errorf(failure.Internal, "member.ChangeAddress: address not validated")
	}
	if a == m.state.Address {
		return nil
	}
	m.record(now, a)
	return nil
}

// ChangePhone records a new mobile phone (E.164, validated by the caller) or its removal (""); the current phone
// records nothing.
func (m *Member) ChangePhone(phone string, now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if phone == m.state.Identity.MobilePhone {
		return nil
	}
	m.record(now, PhoneChanged{MobilePhone: phone})
	return nil
}

// RequestEmailChange records a request to change the email to newEmail (validated by the caller): a code for the
// next sequence is sent to the new address and must be confirmed before p.ExpiresAt(now). A new request replaces
// the one waiting (with a fresh count of wrong codes), but not within p.ResendCooldown of it
// (credential.ErrCodeResendTooSoon). The current address is ErrEmailUnchanged.
func (m *Member) RequestEmailChange(newEmail string, now time.Time, p credential.CodePolicy) error {
	if err := m.open(); err != nil {
		return err
	}
	if strings.EqualFold(newEmail, m.state.Identity.Email) {
		return ErrEmailUnchanged
	}
	if m.state.EmailChangeOpen {
		if err := p.CanResend(m.state.EmailChangeAt, now); err != nil {
			return err
		}
	}
	m.record(now, EmailChangeRequested{NewEmail: newEmail, Sequence: m.state.EmailChange.Sequence + 1,
		ExpiresAt: p.ExpiresAt(now), PolicyVersion: p.Version})
	return nil
}

// EmailChangeAllowedAt is the first instant at which a new email change may be requested.
func (m *Member) EmailChangeAllowedAt(p credential.CodePolicy) time.Time {
	if !m.state.EmailChangeOpen {
		return time.Time{}
	}
	return p.ResendAllowedAt(m.state.EmailChangeAt)
}

// ConfirmEmailChange checks the code of the change waiting: matches(sequence) compares the typed code with the
// code of that sequence. Right: EmailChanged. Wrong: EmailChangeRejected with p's verdict and credential.ErrCodeWrong,
// or, for the wrong code that uses up p.MaxAttempts, credential.ErrCodeAttemptsExhausted: the request is void and any
// later code gets that error until a new request. Whether a request is void is read from the verdicts recorded
// (p decides only the code being refused); for rejections recorded without one, from p's maximum. Expired:
// credential.ErrCodeExpired, nothing recorded. No request waiting: ErrNoEmailChange.
func (m *Member) ConfirmEmailChange(matches func(sequence int) bool, now time.Time, p credential.CodePolicy) error {
	if err := m.open(); err != nil {
		return err
	}
	if !m.state.EmailChangeOpen {
		return ErrNoEmailChange
	}
	c := m.state.EmailChange
	if m.state.EmailChangeVoid(p) {
		return credential.ErrCodeAttemptsExhausted // checked first: a void request stays void after the expiry
	}
	if credential.CodeExpired(c.ExpiresAt, now) {
		return credential.ErrCodeExpired
	}
	if matches(c.Sequence) {
		m.record(now, EmailChanged{Email: c.NewEmail})
		return nil
	}
	n := m.state.EmailAttempts + 1
	exhausted := p.AttemptsExhausted(n)
	m.record(now, EmailChangeRejected{Attempt: n, Exhausted: &exhausted})
	if exhausted {
		return credential.ErrCodeAttemptsExhausted
	}
	return credential.ErrCodeWrong
}

// RehashPassword records PasswordRehashed with newHash, a hash of the password just verified against verifiedHash,
// made with the current parameters. Nothing is recorded when verifiedHash is no longer the stored hash (another login
// rehashed it first, or the password changed meanwhile) or when newHash is empty.
func (m *Member) RehashPassword(verifiedHash, newHash string, now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if newHash == "" || verifiedHash != m.state.passwordHash || newHash == m.state.passwordHash {
		return nil
	}
	m.record(now, PasswordRehashed{Hash: newHash})
	return nil
}

// isCurrentPassword reports whether hash is the stored hash, or an earlier hash of the same password.
func (m *Member) isCurrentPassword(hash string) bool {
	return hash != "" && (hash == m.state.passwordHash || m.state.rehashedFrom[hash])
}

// SetPassword records a new password hash checked against policy version policyVersion, for reason
// (ReasonChange, ReasonReset). sessionID is the session a change was made in (uuid.Nil for a reset). For a change,
// verifiedHash is the hash the current password was verified against: it must still be the account's
// (ErrPasswordChanged otherwise); a reset passes "".
func (m *Member) SetPassword(hash, policyVersion, reason, verifiedHash string, sessionID uuid.UUID, now time.Time) error {
	if err := m.open(); err != nil {
		return err
	}
	if hash == "" || policyVersion == "" {
		return failure.Errorf(failure.Internal, "member.SetPassword: no hash")
	}
	switch reason {
	case ReasonChange:
		if !m.isCurrentPassword(verifiedHash) {
			return ErrPasswordChanged
		}
	case ReasonReset:
	default:
		return failure.Errorf(failure.Internal, "member.SetPassword: reason %q", reason)
	}
	m.record(now, PasswordSet{Hash: hash, PolicyVersion: policyVersion, Reason: reason, SessionID: sessionID})
	return nil
}

// open says whether the account may be acted on: ErrNotFound for a stream without an open account, ErrErased
// once its data is erased.
func (m *Member) open() error {
	switch {
	case !m.state.Registered:
		return ErrNotFound
	case m.state.Erased:
		return ErrErased
	}
	return nil
}

// Registered reports whether the stream holds an open account.
func (m *Member) Registered() bool { return m.state.Registered }

// Identity returns the identity as registered with the current email and phone. Personal data: never log it.
func (m *Member) Identity() Registered { return m.state.Identity }

// Email is the current email address. Personal data.
func (m *Member) Email() string { return m.state.Identity.Email }

// Address is the current postal address (zero if none was given). Personal data.
func (m *Member) Address() AddressChanged { return m.state.Address }

// PasswordHash is the current password's PHC string.
func (m *Member) PasswordHash() string { return m.state.passwordHash }

// Failures is the number of consecutive wrong passwords since the last success or lock.
func (m *Member) Failures() int { return m.state.failures }

// LockedUntil is the end of the current or last lock (zero if never locked).
func (m *Member) LockedUntil() time.Time { return m.state.LockedUntil }

// PendingEmail returns the email change waiting for its code, if any: the new address and the code's sequence.
func (m *Member) PendingEmail() (email string, sequence int, ok bool) {
	return m.state.EmailChange.NewEmail, m.state.EmailChange.Sequence, m.state.EmailChangeOpen
}

// String describes the state without personal data.
func (m *Member) String() string {
	return fmt.Sprintf("member{registered=%t failures=%d locked_until=%s email_change=%t}",
		m.state.Registered, m.state.failures, m.state.LockedUntil.Format(time.RFC3339), m.state.EmailChangeOpen)
}

// LockedError is ErrAccountLocked with the end of the lock, so that the HTTP layer can send Retry-After:
// errors.Is(err, ErrAccountLocked) holds, and errors.As gives Until.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string { return ErrAccountLocked.Error() }

// Unwrap returns ErrAccountLocked.
func (e *LockedError) Unwrap() error { return ErrAccountLocked }
