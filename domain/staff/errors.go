package staff

import (
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of staff accounts. Each has a stable code; domain/messages holds the French sentence shown to the
// staff member or the administrator.
var (
	// ErrLoginInvalid refuses a login that is not 3 to 64 lower-case letters, digits, '.' or '-'.
	ErrLoginInvalid = failure.New(failure.Invalid, "staff.login_invalid", "invalid staff login")
	// ErrLoginTaken refuses a login already given to another staff member.
	ErrLoginTaken = failure.New(failure.Conflict, "staff.login_taken", "staff login taken")
	// ErrNameInvalid refuses an empty name, one longer than MaxNameLength or one with control characters.
	ErrNameInvalid = failure.New(failure.Invalid, "staff.name_invalid", "invalid staff name")
	// ErrRolesEmpty refuses an account without a working role (no role at all, or only medical).
	ErrRolesEmpty = failure.New(failure.Invalid, "staff.roles_empty", "no working role")
	// ErrRoleUnknown refuses a role outside caseworker, supervisor, auditor, admin, medical.
	ErrRoleUnknown = failure.New(failure.Invalid, "staff.role_unknown", "unknown role")
	// ErrPasswordTooShort refuses a staff password shorter than PasswordMinLength (the members' minimum is 12).
	ErrPasswordTooShort = failure.New(failure.Invalid, "staff.password_too_short", "staff password too short")
	// ErrNotFound is a staff id that names no staff account.
	ErrNotFound = failure.New(failure.NotFound, "staff.not_found", "staff member not found")
	// ErrAlreadyCreated refuses to create an account twice on the same stream.
	ErrAlreadyCreated = failure.New(failure.Conflict, "staff.already_created", "staff account already created")
	// ErrSessionUnknown is a logout for a session this staff member never opened.
	ErrSessionUnknown = failure.New(failure.NotFound, "staff.session_unknown", "unknown session")
	// ErrAccessInvalid refuses a member-data access record without staff id, member id or a valid view name.
	ErrAccessInvalid = failure.New(failure.Invalid, "staff.access_invalid", "incomplete member-data access record")

	// ErrSessionEnded refuses a staff session the account's stream does not show open: it ended (logout, or a reset
	// of the second factor by an administrator), or no recorded login opened it.
	ErrSessionEnded = failure.New(failure.Unauthenticated, "staff.session_ended", "session ended")

	// ErrInvalidCredentials is the one answer to a failed staff login, whatever failed (unknown login, password,
	// TOTP code, replayed code): telling a wrong code from a wrong password would confirm the password to a guesser.
	// The events say which (LoginFailed.Reason).
	ErrInvalidCredentials = failure.New(failure.Unauthenticated, "auth.invalid_credentials", "invalid credentials")
	// ErrLocked refuses a login while the account is locked after repeated failures; see LockedError for the end.
	ErrLocked = failure.New(failure.Unauthenticated, "staff.locked", "account locked after repeated failures")
)

// The reasons a login attempt failed, returned by Staff.Authenticate (and recorded in LoginFailed.Reason). The
// command layer answers all of them with ErrInvalidCredentials.
var (
	// ErrWrongPassword is a wrong password.
	ErrWrongPassword = failure.New(failure.Unauthenticated, "staff.password_wrong", "wrong password")
	// ErrTOTPInvalid is a TOTP code that matches none of the accepted steps.
	ErrTOTPInvalid = failure.New(failure.Unauthenticated, "staff.totp_invalid", "wrong TOTP code")
	// ErrTOTPReplayed is a correct TOTP code of a step already used (RFC 6238 §5.2).
	ErrTOTPReplayed = failure.New(failure.Unauthenticated, "staff.totp_replayed", "TOTP code already used")
	// ErrNotEnrolled is a login by an account without a TOTP enrolment.
	ErrNotEnrolled = failure.New(failure.Unauthenticated, "staff.totp_not_enrolled", "no TOTP enrolment")
)

// LockedError is the error of a login refused because the account is locked: errors.Is(err, ErrLocked) holds and
// errors.As gives Until, for a Retry-After header.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s (until %s)", ErrLocked.Error(), e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// sentinels are the errors that reach people (the reasons of failed logins do not).
var sentinels = []*failure.Error{
	ErrLoginInvalid, ErrLoginTaken, ErrNameInvalid, ErrRolesEmpty, ErrRoleUnknown, ErrPasswordTooShort, ErrNotFound,
	ErrAlreadyCreated, ErrSessionUnknown, ErrAccessInvalid, ErrInvalidCredentials, ErrLocked, ErrSessionEnded, ErrLastAdmin,
}

// Errors returns the errors of the package that reach callers (for documentation and API error catalogues).
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}
