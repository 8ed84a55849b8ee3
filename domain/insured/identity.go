package insured

import (
	"strings"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Errors about one person's data (a line of an import). Each has a stable code (its French sentence in
// domain/messages); an import reports the code with the line number. A NIR that does not parse is reported with the
// nir package's codes (nir.invalid_key, …), and a birth date inconsistent with the NIR with nir.birth_year_mismatch
// or nir.birth_month_mismatch.
var (
	ErrLastNameMissing  = failure.New(failure.Invalid, "insured.last_name_missing", "last name missing")
	ErrLastNameInvalid  = failure.New(failure.Invalid, "insured.last_name_invalid", "invalid last name")
	ErrFirstNameMissing = failure.New(failure.Invalid, "insured.first_name_missing", "first name missing")
	ErrFirstNameInvalid = failure.New(failure.Invalid, "insured.first_name_invalid", "invalid first name")
	ErrBirthDateFormat  = failure.New(failure.Invalid, "insured.birth_date_format",
		"invalid birth date (want YYYY-MM-DD)")
	ErrBirthDateFuture      = failure.New(failure.Invalid, "insured.birth_date_in_future", "birth date in the future")
	ErrBirthDateImplausible = failure.New(failure.Invalid, "insured.birth_date_implausible", "implausible birth date")
	ErrEncoding             = failure.New(failure.Invalid, "insured.invalid_encoding", "text is not UTF-8")
)

// maxAge bounds a plausible birth date: no one covered by the fund was born more than this many years ago.
const maxAge = 130

// dateLayout is how birth dates are written in files and events.
const dateLayout = "2006-01-02"

// Identity is one person of the reference, validated: the NIR with its key, the names as given (trimmed, runs of
// spaces collapsed) and the date of birth (midnight UTC).
type Identity struct {
	NIR       nir.NIR
	LastName  string
	FirstName string
	BirthDate time.Time
}

// NewIdentity validates a person's data, checks in column order (names, then the birth date: a valid date, not
// after today, not more than maxAge years before it, consistent with the NIR's year and month) and returns the
// first problem. today is the importer's business date.
func NewIdentity(n nir.NIR, lastName, firstName string, birthDate time.Time, today time.Time) (Identity, error) {
	last, p := cleanName(lastName)
	switch p {
	case nameMissing:
		return Identity{}, ErrLastNameMissing
	case nameInvalid:
		return Identity{}, ErrLastNameInvalid
	case nameEncoding:
		return Identity{}, ErrEncoding
	}
	first, p := cleanName(firstName)
	switch p {
	case nameMissing:
		return Identity{}, ErrFirstNameMissing
	case nameInvalid:
		return Identity{}, ErrFirstNameInvalid
	case nameEncoding:
		return Identity{}, ErrEncoding
	}
	birth := civil(birthDate)
	t := civil(today)
	switch {
	case birth.After(t):
		return Identity{}, ErrBirthDateFuture
	case birth.Before(t.AddDate(-maxAge, 0, 0)):
		return Identity{}, ErrBirthDateImplausible
	}
	if err := n.Check(birth, nir.SexUnknown); err != nil {
		return Identity{}, err
	}
	return Identity{NIR: n, LastName: last, FirstName: first, BirthDate: birth}, nil
}

// ParseDate parses a calendar date written YYYY-MM-DD (surrounding spaces ignored) into midnight UTC.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, ErrBirthDateFormat
	}
	return d, nil
}

// civil returns the calendar date of t, in t's own location, as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// formatDate writes a date as events store it.
func formatDate(t time.Time) string { return t.Format(dateLayout) }
