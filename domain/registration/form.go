package registration

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of the registration form (besides the nir package's and the contact errors of domain/member). Each
// is failure.Invalid with a stable code; its French sentence is in domain/messages.
var (
	ErrKeyRequired       = failure.New(failure.Invalid, "registration.key_required", "NIR key required")
	ErrLastNameRequired  = failure.New(failure.Invalid, "registration.last_name_required", "last name required")
	ErrLastNameInvalid   = failure.New(failure.Invalid, "registration.last_name_invalid", "invalid last name")
	ErrFirstNameRequired = failure.New(failure.Invalid, "registration.first_name_required", "first name required")
	ErrFirstNameInvalid  = failure.New(failure.Invalid, "registration.first_name_invalid", "invalid first name")
	ErrBirthDateInvalid  = failure.New(failure.Invalid, "birth_date.invalid", "invalid birth date (want YYYY-MM-DD)")
	ErrBirthDateFuture   = failure.New(failure.Invalid, "birth_date.in_future", "birth date in the future")
	ErrBirthDateTooOld   = failure.New(failure.Invalid, "birth_date.too_old", "birth date before 1900")
	ErrTermsNotAccepted  = failure.New(failure.Invalid, "terms.not_accepted", "terms of use not accepted")
)

// FormErrors returns the sentinels of the form.
func FormErrors() []*failure.Error {
	return []*failure.Error{ErrKeyRequired, ErrLastNameRequired, ErrLastNameInvalid, ErrFirstNameRequired,
		ErrFirstNameInvalid, ErrBirthDateInvalid, ErrBirthDateFuture, ErrBirthDateTooOld, ErrTermsNotAccepted}
}

// MaxNameLength bounds a name, in characters (runes), after spaces are collapsed.
const MaxNameLength = 100

// DateLayout is how dates are written in forms and events.
const DateLayout = "2006-01-02"

// NormalizeLastName returns a last name trimmed, with runs of white space collapsed into one space, or
// ErrLastNameRequired / ErrLastNameInvalid. A name is letters (any script, accented, typed composed or with
// combining accents), spaces, hyphens and apostrophes (' and ’), with at least one letter and at most
// MaxNameLength characters. Case is kept: the reference compares names folded (insured.FoldName).
func NormalizeLastName(s string) (string, error) {
	return normalizeName(s, ErrLastNameRequired, ErrLastNameInvalid)
}

// NormalizeFirstName is NormalizeLastName for the first name(s).
func NormalizeFirstName(s string) (string, error) {
	return normalizeName(s, ErrFirstNameRequired, ErrFirstNameInvalid)
}

func normalizeName(s string, missing, invalid error) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid
	}
	clean := strings.Join(strings.Fields(s), " ")
	if clean == "" {
		return "", missing
	}
	if utf8.RuneCountInString(clean) > MaxNameLength {
		return "", invalid
	}
	letter := false
	for _, r := range clean {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.Is(unicode.Mn, r), r == ' ', r == '-', r == '\'', r == '\u2019':
		default:
			return "", invalid
		}
	}
	if !letter {
		return "", invalid
	}
	return clean, nil
}

// ParseBirthDate parses a birth date written YYYY-MM-DD (surrounding spaces ignored) into midnight UTC and checks
// it is not after today's calendar date (in today's location) nor before 1900-01-01: ErrBirthDateInvalid,
// ErrBirthDateFuture, ErrBirthDateTooOld. Consistency with the NIR is nir.NIR.Check's.
func ParseBirthDate(s string, today time.Time) (time.Time, error) {
	d, err := time.Parse(DateLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, ErrBirthDateInvalid
	}
	y, m, dd := today.Date()
	switch {
	case d.After(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)):
		return time.Time{}, ErrBirthDateFuture
	case d.Year() < 1900:
		return time.Time{}, ErrBirthDateTooOld
	}
	return d, nil
}
