// Package staff is the staff account: caseworkers, supervisors, auditors and administrators of the fund, who log in
// with a password and a TOTP code (RFC 6238) and whose every read of a member's data is recorded. Some of them
// belong to the medical service (RoleMedical), the only staff who see and work confidential (medical) cases.
//
// # Streams
//
//   - "staff-<staff id>": the account (Created, PasswordSet, PasswordRehashed, TOTPEnrolled, TOTPConfirmed,
//     TOTPReset, LoggedIn, LoginFailed, Locked, LoggedOut, RolesChanged), rebuilt by Rehydrate into a Staff;
//   - "stafflogin-<keyed hash of the login>": one LoginClaimed, appended on an empty stream only, which makes
//     logins unique and maps a login to its staff id (ClaimLogin, ClaimedBy);
//   - "memberaccess-<member id>": MemberDataOpened, one per staff read of that member's data (NewAccess);
//   - "staffsearch-<staff id>": MemberDirectorySearched, one per member directory search by that staff member
//     (NewDirectorySearch);
//   - "staffadmins-<AdminRegistryID>": the administrators' registry (Admins), through which every removal of the
//     admin role passes, so that at least one administrator always remains.
//
// # Second factor
//
// Every staff login needs a TOTP code: CNIL deliberation 2022-100 asks for MFA on administrator accounts, and every
// staff role opens members' files, so all of them get it. The secret is never stored, in an event or elsewhere: it
// is derived from the server key, the staff id and the enrolment's sequence number (TOTPEnrolled.Sequence), and
// computed again to check a code. A first valid code confirms the enrolment (TOTPConfirmed). The step of every
// accepted code is recorded (TOTPConfirmed.Step, LoggedIn.Step) and a code of that step or an earlier one is refused,
// so a code seen over a shoulder cannot be used again. An administrator resets a lost factor (ResetTOTP: TOTPReset,
// then TOTPEnrolled of the next sequence): the old secret stops working, every open session ends, and the staff
// member enrols the new secret at the next login as on the first.
//
// # Lock
//
// MaxConsecutiveFailures failed logins in a row (wrong password or wrong code) lock the account for FirstLock,
// doubling with each further lock until a successful login, up to MaxLock (LockDuration). Attempts during a lock
// are refused without checking anything and are not counted.
//
// The package imports only the standard library, google/uuid and domain packages; hashing and TOTP arithmetic are
// ports implemented in adapters/credentials, reached through the command layer.
package staff

import (
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Staff is one staff account as its events left it. Behaviour methods validate, then record events: the recorded
// events are applied at once and kept in Pending, for the command layer to append.
type Staff struct {
	id            uuid.UUID
	created       bool
	login         string
	name          string
	roles         []string
	passwordHash  string
	policyVersion string
	totpSequence  int
	totpConfirmed bool
	lastStep      int64
	failures      int // consecutive failed logins since the last success or lock
	locks         int // locks since the last successful login
	lockedUntil   time.Time
	sessions      map[uuid.UUID]bool // sessions ever opened: true while open, false once logged out

	pending []any
}

// Rehydrate rebuilds the staff account id from its stream's history (empty for an account not created yet).
func Rehydrate(id uuid.UUID, history []event.Envelope) *Staff {
	s := &Staff{id: id, sessions: map[uuid.UUID]bool{}}
	for _, env := range history {
		s.apply(env.Event)
	}
	return s
}

// apply mutates the state by one event; it never fails (unknown events are ignored: a tolerant reader).
func (s *Staff) apply(e any) {
	switch e := e.(type) {
	case Created:
		s.created, s.login, s.name, s.roles = true, e.Login, e.Name, slices.Clone(e.Roles)
	case PasswordSet:
		s.passwordHash, s.policyVersion = e.Hash, e.PolicyVersion
	case TOTPEnrolled:
		s.totpSequence, s.totpConfirmed = e.Sequence, false
	case TOTPReset:
		s.totpConfirmed, s.lastStep = false, 0
		s.failures, s.locks, s.lockedUntil = 0, 0, time.Time{}
		for id, open := range s.sessions {
			if open {
				s.sessions[id] = false
			}
		}
	case PasswordRehashed:
		s.passwordHash = e.Hash
	case TOTPConfirmed:
		if e.Sequence == s.totpSequence {
			s.totpConfirmed = true
		}
		s.lastStep = max(s.lastStep, e.Step)
	case LoggedIn:
		s.failures, s.locks = 0, 0
		s.lastStep = max(s.lastStep, e.Step)
		s.sessions[e.SessionID] = true
	case LoginFailed:
		s.failures = e.Failures
	case Locked:
		s.failures = 0
		s.locks++
		s.lockedUntil = e.Until
	case LoggedOut:
		if _, ok := s.sessions[e.SessionID]; ok {
			s.sessions[e.SessionID] = false
		}
	case RolesChanged:
		s.roles = slices.Clone(e.Roles)
	}
}

// record applies e and keeps it for the append.
func (s *Staff) record(e any) {
	s.apply(e)
	s.pending = append(s.pending, e)
}

// Pending returns the events recorded since Rehydrate, oldest first.
func (s *Staff) Pending() []any { return slices.Clone(s.pending) }

// ID returns the staff id.
func (s *Staff) ID() uuid.UUID { return s.id }

// Exists reports whether the account was created.
func (s *Staff) Exists() bool { return s.created }

// Login returns the canonical login.
func (s *Staff) Login() string { return s.login }

// Name returns the display name.
func (s *Staff) Name() string { return s.name }

// Roles returns the current roles, in canonical order.
func (s *Staff) Roles() []string { return slices.Clone(s.roles) }

// IsAdmin reports whether the staff member currently holds RoleAdmin.
func (s *Staff) IsAdmin() bool { return slices.Contains(s.roles, RoleAdmin) }

// SessionOpen reports whether session id was opened by a recorded login of this account and has not ended since
// (logged out, or ended by a TOTP reset). A session the stream does not know is not open.
func (s *Staff) SessionOpen(id uuid.UUID) bool { return s.sessions[id] }

// MedicalService reports whether the staff member currently belongs to the medical service (RoleMedical).
func (s *Staff) MedicalService() bool { return MedicalService(s.roles) }

// PasswordHash returns the stored password hash (argon2id PHC string).
func (s *Staff) PasswordHash() string { return s.passwordHash }

// TOTPSequence returns the sequence number of the current TOTP enrolment (0: none), from which the secret derives.
func (s *Staff) TOTPSequence() int { return s.totpSequence }

// TOTPConfirmed reports whether a first valid code confirmed the current enrolment.
func (s *Staff) TOTPConfirmed() bool { return s.totpConfirmed }

// LastStep returns the TOTP time step of the last code accepted (0: none).
func (s *Staff) LastStep() int64 { return s.lastStep }

// LockedUntil returns the end of the account's lock at now, and whether it is locked.
func (s *Staff) LockedUntil(now time.Time) (time.Time, bool) {
	return s.lockedUntil, now.Before(s.lockedUntil)
}

// Account is what opens a staff account. Login, Name and Roles must already be normalised (CanonicalLogin,
// NormalizeName, NormalizeRoles); they are checked again. PasswordHash is the hash of a password that passed
// CheckPassword.
type Account struct {
	Login        string
	Name         string
	Roles        []string
	PasswordHash string
}

// Create opens the account: Created, PasswordSet (PasswordPolicyVersion) and TOTPEnrolled with sequence 1.
func (s *Staff) Create(a Account) error {
	if s.created {
		return ErrAlreadyCreated
	}
	if l, err := CanonicalLogin(a.Login); err != nil || l != a.Login {
		return ErrLoginInvalid
	}
	if n, err := NormalizeName(a.Name); err != nil || n != a.Name {
		return ErrNameInvalid
	}
	roles, err := NormalizeRoles(a.Roles)
	if err != nil {
		return err
	}
	if a.PasswordHash == "" {
		return errors.New("staff: create: empty password hash")
	}
	s.record(Created{Login: a.Login, Name: a.Name, Roles: roles})
	s.record(PasswordSet{Hash: a.PasswordHash, PolicyVersion: PasswordPolicyVersion})
	s.record(TOTPEnrolled{Sequence: 1})
	return nil
}

// Attempt is a login attempt whose password was already verified (hashing is slow and stays outside the decision).
type Attempt struct {
	At         time.Time
	SessionID  uuid.UUID
	PasswordOK bool
	// CheckTOTP checks the code typed against the secret of enrolment sequence, refusing the steps at or before
	// lastStep. It returns the step matched, or ErrTOTPInvalid or ErrTOTPReplayed; any other error aborts the
	// attempt with nothing recorded. It must be pure: the decision may run again over a newer history.
	CheckTOTP func(sequence int, lastStep int64) (int64, error)
}

// Authenticate decides a login attempt. On success it records LoggedIn (after TOTPConfirmed for the first code of
// an enrolment) and returns nil. A failure records LoginFailed (and Locked at the MaxConsecutiveFailures-th in a
// row) and returns the reason: ErrWrongPassword, ErrTOTPInvalid, ErrTOTPReplayed or ErrNotEnrolled, with the events
// to append all the same. During a lock it records nothing and returns a *LockedError; an unknown account is
// ErrNotFound.
func (s *Staff) Authenticate(a Attempt) error {
	if !s.created {
		return ErrNotFound
	}
	if until, locked := s.LockedUntil(a.At); locked {
		return &LockedError{Until: until}
	}
	if a.SessionID == uuid.Nil || a.CheckTOTP == nil {
		return errors.New("staff: authenticate: no session id or TOTP check")
	}
	if !a.PasswordOK {
		s.fail(a.At, ReasonPassword)
		return ErrWrongPassword
	}
	if s.totpSequence == 0 {
		s.fail(a.At, ReasonNotEnrolled)
		return ErrNotEnrolled
	}
	step, err := a.CheckTOTP(s.totpSequence, s.lastStep)
	switch {
	case errors.Is(err, ErrTOTPReplayed) || (err == nil && step <= s.lastStep):
		s.fail(a.At, ReasonTOTPReplayed)
		return ErrTOTPReplayed
	case errors.Is(err, ErrTOTPInvalid):
		s.fail(a.At, ReasonTOTP)
		return ErrTOTPInvalid
	case err != nil:
		return err
	}
	if !s.totpConfirmed {
		s.record(TOTPConfirmed{Sequence: s.totpSequence, Step: step})
	}
	s.record(LoggedIn{SessionID: a.SessionID, Step: step})
	return nil
}

// fail records a failed login, and the lock it brings about.
func (s *Staff) fail(at time.Time, reason string) {
	n := s.failures + 1
	s.record(LoginFailed{Failures: n, Reason: reason})
	if n >= MaxConsecutiveFailures {
		s.record(Locked{Until: at.Add(LockDuration(s.locks + 1)).UTC(), Reason: LockReasonFailures})
	}
}

// LogOut ends session sessionID: LoggedOut, nothing if it already ended, ErrSessionUnknown if this staff member never
// opened it.
func (s *Staff) LogOut(sessionID uuid.UUID) error {
	if !s.created {
		return ErrNotFound
	}
	open, ok := s.sessions[sessionID]
	switch {
	case !ok:
		return ErrSessionUnknown
	case open:
		s.record(LoggedOut{SessionID: sessionID})
	}
	return nil
}

// ChangeRoles replaces the roles (normalised by NormalizeRoles); nothing is recorded if they do not change.
func (s *Staff) ChangeRoles(roles []string) error {
	if !s.created {
		return ErrNotFound
	}
	r, err := NormalizeRoles(roles)
	if err != nil {
		return err
	}
	if slices.Equal(r, s.roles) {
		return nil
	}
	s.record(RolesChanged{Roles: r})
	return nil
}

// ResetTOTP revokes the current second factor and starts a new enrolment: TOTPReset, then TOTPEnrolled with the
// next sequence (whose secret the caller hands over once). The old secret stops working, every session opened so far
// ends, the login lock ends; the first valid code of the new secret confirms it at the next login. ErrNotFound for an
// account not created.
func (s *Staff) ResetTOTP() error {
	if !s.created {
		return ErrNotFound
	}
	s.record(TOTPReset{PreviousSequence: s.totpSequence})
	s.record(TOTPEnrolled{Sequence: s.totpSequence + 1})
	return nil
}

// RehashPassword records PasswordRehashed with newHash, a hash of the password just verified against verifiedHash
// under the current parameters. Nothing is recorded when verifiedHash is no longer the stored hash (another login
// rehashed it first, or the password changed meanwhile) or when newHash is empty.
func (s *Staff) RehashPassword(verifiedHash, newHash string) {
	if !s.created || newHash == "" || verifiedHash != s.passwordHash || newHash == s.passwordHash {
		return
	}
	s.record(PasswordRehashed{Hash: newHash})
}
