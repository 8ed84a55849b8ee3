package staff

import (
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of staff accounts. Each has a stable code and, as its message, the French sentence shown to the staff
// member or the administrator.
var (
	// ErrLoginInvalid refuses a login that is not 3 to 64 lower-case letters, digits, '.' or '-'.
	ErrLoginInvalid = failure.New(failure.Invalid, "staff.login_invalid",
		"L'identifiant doit comporter de 3 à 64 caractères : lettres minuscules sans accent, chiffres, points ou tirets.")
	// ErrLoginTaken refuses a login already given to another staff member.
	ErrLoginTaken = failure.New(failure.Conflict, "staff.login_taken",
		"Cet identifiant est déjà attribué à un autre agent. Choisissez-en un autre.")
	// ErrNameInvalid refuses an empty name, one longer than MaxNameLength or one with control characters.
	ErrNameInvalid = failure.New(failure.Invalid, "staff.name_invalid",
		"Le nom de l'agent est obligatoire (100 caractères au plus, sans caractère de contrôle).")
	// ErrRolesEmpty refuses an account without a working role (no role at all, or only medical).
	ErrRolesEmpty = failure.New(failure.Invalid, "staff.roles_empty",
		"Un agent doit avoir au moins un rôle : conseiller (caseworker), superviseur (supervisor), auditeur (auditor) "+
			"ou administrateur (admin). Le rôle service médical (medical) s'ajoute à l'un d'eux.")
	// ErrRoleUnknown refuses a role outside caseworker, supervisor, auditor, admin, medical.
	ErrRoleUnknown = failure.New(failure.Invalid, "staff.role_unknown",
		"Rôle inconnu. Les rôles possibles sont caseworker, supervisor, auditor, admin et medical (service médical).")
	// ErrPasswordTooShort refuses a staff password shorter than PasswordMinLength (the members' minimum is 12).
	ErrPasswordTooShort = failure.New(failure.Invalid, "staff.password_too_short",
		"Le mot de passe d'un agent doit contenir au moins 14 caractères. Une courte phrase facile à retenir fait un "+
			"bon mot de passe.")
	// ErrNotFound is a staff id that names no staff account.
	ErrNotFound = failure.New(failure.NotFound, "staff.not_found", "Ce compte d'agent est introuvable.")
	// ErrAlreadyCreated refuses to create an account twice on the same stream.
	ErrAlreadyCreated = failure.New(failure.Conflict, "staff.already_created", "Ce compte d'agent existe déjà.")
	// ErrSessionUnknown is a logout for a session this staff member never opened.
	ErrSessionUnknown = failure.New(failure.NotFound, "staff.session_unknown", "Cette session est inconnue.")
	// ErrAccessInvalid refuses a member-data access record without staff id, member id or a valid view name.
	ErrAccessInvalid = failure.New(failure.Invalid, "staff.access_invalid",
		"L'enregistrement de la consultation est incomplet (agent, adhérent ou objet consulté manquant).")

	// ErrSessionEnded refuses a staff session the account's stream does not show open: it ended (logout, or a reset
	// of the second factor by an administrator), or no recorded login opened it.
	ErrSessionEnded = failure.New(failure.Unauthenticated, "staff.session_ended",
		"Votre session a pris fin (déconnexion, ou réinitialisation de votre second facteur par un administrateur). "+
			"Merci de vous reconnecter.")

	// ErrInvalidCredentials is the one answer to a failed staff login, whatever failed (unknown login, password,
	// TOTP code, replayed code): telling a wrong code from a wrong password would confirm the password to a guesser.
	// The events say which (LoginFailed.Reason).
	ErrInvalidCredentials = failure.New(failure.Unauthenticated, "auth.invalid_credentials",
		"Identifiant, mot de passe ou code de vérification incorrect.")
	// ErrLocked refuses a login while the account is locked after repeated failures; see LockedError for the end.
	ErrLocked = failure.New(failure.Unauthenticated, "staff.locked",
		"Trop de tentatives de connexion incorrectes : votre compte est bloqué temporairement. Réessayez plus tard "+
			"ou contactez un administrateur.")
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

// sentinels are the errors whose message is meant for people (the reasons of failed logins are not).
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

// Messages returns the French sentence of every error of Errors, by stable code, for the HTTP layer's table.
func Messages() map[string]string {
	m := make(map[string]string, len(sentinels))
	for _, e := range sentinels {
		m[e.Code] = e.Err.Error()
	}
	return m
}
