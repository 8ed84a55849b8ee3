package nir

import (
	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of this package. Each is a failure.Invalid sentinel with a stable machine code ("nir.…"):
// failure.CodeOf(err) gives the code even when err wraps the sentinel, and domain/messages the French sentence to
// show the member. Parse and friends return the sentinels bare, never wrapped with the input, so that an error
// message can be logged without leaking a NIR.
//
// Checks run in a fixed order — length, characters, field domains, then the key — and the first failure is
// returned: a NIR with a valid key but a month of 13 fails with ErrMonth, not ErrKey.
var (
	// ErrLength: the input, once normalised, is not 15 characters long (Parse).
	ErrLength = failure.New(failure.Invalid, "nir.invalid_length", "NIR with key is not 15 characters")
	// ErrLoginLength: the input, once normalised, is not 13 characters long (ParseLogin).
	ErrLoginLength = failure.New(failure.Invalid, "nir.invalid_login_length", "login NIR is not 13 characters")
	// ErrFormat: a character other than a digit where a digit is expected, or any character that is neither a digit
	// nor a letter nor a separator (space, dot, dash).
	ErrFormat = failure.New(failure.Invalid, "nir.invalid_format", "NIR holds characters other than digits (and 2A/2B)")
	// ErrSex: the first digit is not a sex digit of any kind (0, 5, 6, 9).
	ErrSex = failure.New(failure.Invalid, "nir.invalid_sex", "invalid sex digit")
	// ErrProvisional: the first digit is 3, 4, 7 or 8, a provisional or waiting number rather than a certified NIR
	// (see Parse).
	ErrProvisional = failure.New(failure.Invalid, "nir.provisional", "provisional number, not a certified NIR")
	// ErrMonth: the month of birth is 00, 13-19 or 43-49.
	ErrMonth = failure.New(failure.Invalid, "nir.invalid_month", "invalid month of birth")
	// ErrDepartment: the department of birth is 00, or holds letters other than 2A or 2B.
	ErrDepartment = failure.New(failure.Invalid, "nir.invalid_department", "invalid department of birth")
	// ErrOrder: the order number (characters 11-13) is 000.
	ErrOrder = failure.New(failure.Invalid, "nir.invalid_order", "invalid order number")
	// ErrKey: the key is not 01-97, or does not match the 13 first characters.
	ErrKey = failure.New(failure.Invalid, "nir.invalid_key", "NIR key does not match")
	// ErrBirthYear: the year of birth in the NIR is not that of the declared birth date (Check).
	ErrBirthYear = failure.New(failure.Invalid, "nir.birth_year_mismatch", "birth year does not match the NIR")
	// ErrBirthMonth: the month of birth in the NIR is not that of the declared birth date (Check).
	ErrBirthMonth = failure.New(failure.Invalid, "nir.birth_month_mismatch", "birth month does not match the NIR")
	// ErrSexMismatch: the sex digit is not that of the declared sex (Check).
	ErrSexMismatch = failure.New(failure.Invalid, "nir.sex_mismatch", "sex does not match the NIR")
)

// sentinels lists every error of the package, for Errors.
var sentinels = []*failure.Error{
	ErrLength, ErrLoginLength, ErrFormat, ErrSex, ErrProvisional, ErrMonth, ErrDepartment, ErrOrder, ErrKey,
	ErrBirthYear, ErrBirthMonth, ErrSexMismatch,
}

// Errors returns every sentinel of the package (for documentation and API error catalogues).
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}
