package staff

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
)

// Login and name bounds.
const (
	LoginMinLength = 3
	LoginMaxLength = 64
	MaxNameLength  = 100
)

// PasswordMinLength is the staff minimum: two more characters than the members' 12. Staff accounts open every
// member's file, so they are the higher risk; with the TOTP second factor every staff login needs, this goes beyond
// CNIL deliberation 2022-100, which asks for MFA on administrator accounts.
const PasswordMinLength = 14

// PasswordPolicyVersion names the staff password rules (the member policy, minimum length raised to
// PasswordMinLength); it is recorded in every staff PasswordSet event.
const PasswordPolicyVersion = credential.PasswordPolicyVersion + "+staff14"

// The login lock: after MaxConsecutiveFailures failed logins in a row (wrong password or wrong TOTP code) the
// account is locked for FirstLock; each further lock before a successful login lasts twice the previous one, up to
// MaxLock.
const (
	MaxConsecutiveFailures = 5
	FirstLock              = 15 * time.Minute
	MaxLock                = 24 * time.Hour
)

// The values of LoginFailed.Reason and Locked.Reason.
const (
	ReasonPassword     = "password"
	ReasonTOTP         = "totp"
	ReasonTOTPReplayed = "totp_replayed"
	ReasonNotEnrolled  = "not_enrolled"
	LockReasonFailures = "too_many_failures"
)

// AllRoles lists the staff roles in their canonical order (the order NormalizeRoles returns): the working roles,
// then RoleMedical.
func AllRoles() []string {
	return []string{RoleCaseworker, RoleSupervisor, RoleAuditor, RoleAdmin, RoleMedical}
}

// ValidRole reports whether role is a staff role.
func ValidRole(role string) bool { return slices.Contains(AllRoles(), role) }

// MedicalService reports whether roles include RoleMedical: the staff member belongs to the medical service.
func MedicalService(roles []string) bool { return slices.Contains(roles, RoleMedical) }

// Keys derives lookup stream ids (adapters/keyedhash.Hasher implements it).
type Keys interface {
	StreamFor(purpose, canonical string) uuid.UUID
}

// StreamFor returns the stream of the staff account id.
func StreamFor(id uuid.UUID) event.StreamID { return event.NewStreamID(Category, id) }

// LoginStreamFor returns the login-claim stream of a canonical login (see CanonicalLogin): its id is a keyed hash,
// so stream names do not list the staff logins.
func LoginStreamFor(keys Keys, login string) event.StreamID {
	return event.NewStreamID(LoginCategory, keys.StreamFor(LoginCategory, login))
}

// AccessStreamFor returns the log of staff reads of member memberID's data.
func AccessStreamFor(memberID uuid.UUID) event.StreamID {
	return event.NewStreamID(AccessCategory, memberID)
}

// SearchStreamFor returns the stream of the member directory searches of staff member staffID.
func SearchStreamFor(staffID uuid.UUID) event.StreamID {
	return event.NewStreamID(SearchCategory, staffID)
}

// NewDirectorySearch validates the record of a member directory search: who (staff id and the working role they
// acted in), the kind of query (SearchKindNIR or SearchKindName) and the members returned. ErrAccessInvalid or
// ErrRoleUnknown otherwise.
func NewDirectorySearch(staffID uuid.UUID, role, kind string, memberIDs []uuid.UUID) (MemberDirectorySearched, error) {
	if staffID == uuid.Nil || kind != SearchKindNIR && kind != SearchKindName || slices.Contains(memberIDs, uuid.Nil) {
		return MemberDirectorySearched{}, ErrAccessInvalid
	}
	if !ValidRole(role) || role == RoleMedical {
		return MemberDirectorySearched{}, ErrRoleUnknown
	}
	return MemberDirectorySearched{StaffID: staffID, Role: role, Kind: kind, Results: len(memberIDs),
		MemberIDs: append([]uuid.UUID{}, memberIDs...)}, nil
}

// CanonicalLogin returns login without surrounding spaces and lower-cased, or ErrLoginInvalid if it is not
// LoginMinLength to LoginMaxLength ASCII lower-case letters, digits, '.' or '-'. Creation and login both use it,
// so "J.Dupont" logs in as "j.dupont".
func CanonicalLogin(login string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(login))
	if len(l) < LoginMinLength || len(l) > LoginMaxLength {
		return "", ErrLoginInvalid
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "", ErrLoginInvalid
		}
	}
	return l, nil
}

// NormalizeName returns the staff member's display name with spaces collapsed, or ErrNameInvalid.
func NormalizeName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", ErrNameInvalid
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ErrNameInvalid
		}
	}
	n := strings.Join(strings.Fields(name), " ")
	if n == "" || utf8.RuneCountInString(n) > MaxNameLength {
		return "", ErrNameInvalid
	}
	return n, nil
}

// NormalizeRoles returns roles lower-cased, without duplicates, in the canonical order of AllRoles: ErrRolesEmpty
// when there is no working role (none at all, or RoleMedical alone, which is an attribute of a working role),
// ErrRoleUnknown for a role outside AllRoles.
func NormalizeRoles(roles []string) ([]string, error) {
	seen := map[string]bool{}
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if !ValidRole(r) {
			return nil, ErrRoleUnknown
		}
		seen[r] = true
	}
	var out []string
	for _, r := range AllRoles() {
		if seen[r] {
			out = append(out, r)
		}
	}
	if len(out) == 0 || (len(out) == 1 && out[0] == RoleMedical) {
		return nil, ErrRolesEmpty
	}
	return out, nil
}

// CheckPassword checks a staff password: the member policy of domain/credential (characters, no personal data,
// not common or patterned, at most 128 characters), with at least PasswordMinLength characters. context holds the
// login and the name, which must not appear in the password. Errors are credential's ErrPassword* or
// ErrPasswordTooShort; test with errors.Is. est is the guess estimate (nil: none), as for credential.CheckPassword.
func CheckPassword(est credential.GuessEstimator, pw string, context ...string) error {
	err := credential.CheckPassword(est, pw, context...)
	if (err == nil && utf8.RuneCountInString(pw) < PasswordMinLength) || errors.Is(err, credential.ErrPasswordTooShort) {
		return ErrPasswordTooShort
	}
	return err
}

// LockDuration is how long the n-th lock since the last successful login lasts (n from 1): FirstLock doubled for
// every earlier lock, at most MaxLock.
func LockDuration(n int) time.Duration {
	d := FirstLock
	for i := 1; i < n && d < MaxLock; i++ {
		d *= 2
	}
	return min(d, MaxLock)
}

// MaxAccessSubjectLength bounds MemberDataOpened.Subject.
const MaxAccessSubjectLength = 64

// NewAccess validates a member-data access record: who (staff id and the working role they acted in), which view,
// and which item of it. what is a short name of the view ("member.profile", "member.directory"): 1 to 64 lower-case
// letters, digits, '.', '_' or '-'. subject is empty (the view is the whole of it, the account) or the item's
// reference as the member knows it ("MSA-2026-7KQ2-M9XD-3F0A" for a case file): 1 to MaxAccessSubjectLength ASCII
// letters, digits, '.', '_' or '-'. It is shown to the member, so nothing else gets in: no spaces, no markup.
func NewAccess(staffID uuid.UUID, role, what, subject string) (MemberDataOpened, error) {
	if staffID == uuid.Nil || len(what) == 0 || len(what) > 64 || len(subject) > MaxAccessSubjectLength {
		return MemberDataOpened{}, ErrAccessInvalid
	}
	for i := 0; i < len(what); i++ {
		c := what[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return MemberDataOpened{}, ErrAccessInvalid
		}
	}
	for i := 0; i < len(subject); i++ {
		c := subject[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return MemberDataOpened{}, ErrAccessInvalid
		}
	}
	if !ValidRole(role) || role == RoleMedical { // medical is an attribute, never the role one acts in
		return MemberDataOpened{}, ErrRoleUnknown
	}
	return MemberDataOpened{StaffID: staffID, Role: role, What: what, Subject: subject}, nil
}

// ClaimLogin decides the login-claim stream's append: LoginClaimed for staffID on an empty stream, ErrLoginTaken
// otherwise.
func ClaimLogin(history []event.Envelope, staffID uuid.UUID) ([]any, error) {
	if len(history) > 0 {
		return nil, ErrLoginTaken
	}
	return []any{LoginClaimed{StaffID: staffID}}, nil
}

// ClaimedBy returns the staff id a login-claim stream names, if any.
func ClaimedBy(history []event.Envelope) (uuid.UUID, bool) {
	for _, env := range history {
		if c, ok := env.Event.(LoginClaimed); ok && c.StaffID != uuid.Nil {
			return c.StaffID, true
		}
	}
	return uuid.Nil, false
}
