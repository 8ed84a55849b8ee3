// Package nir parses and validates the French social security number (NIR, numéro d'inscription au répertoire):
// the 15-character form with its key, asked at registration and found in the fund's files, and the 13-character
// login identifier without a key.
//
// # Layout
//
//	pos.   1    2-3   4-5    6-7 (6-8)        8-10 (9-10)      11-13   14-15
//	       sex  year  month  department       commune          order   key
//
// Overseas departments take three characters (97x, 98x) and leave two to the commune; 99 means born abroad and
// the next three characters are the INSEE country code. Corsica is 2A/2B for births since 1976 (20 before).
// The key is 97 − (N mod 97), N being the 13 first characters read as a number after replacing 2A with 19 and 2B
// with 18, so a key is always 01-97.
//
// # Decisions
//
//   - Sex digit: only 1 and 2, the certified NIR, are accepted, in both forms. 3/4 and 7/8 are provisional or
//     waiting numbers (NIA, NNP): they change once the person is certified, so an account keyed on one would be lost;
//     they are refused with their own code (ErrProvisional) so that the member is told to contact the fund rather
//     than that the number is mistyped. 0, 5, 6 and 9 are ErrSex.
//   - Month: 01-12; 20-30 and 50-99 are fictitious (month unknown); 31-42 are pseudo-fictitious (31 = January …
//     42 = December: the month is known). 00, 13-19 and 43-49 are refused. The health-insurance validator that
//     accepts only 01-12 would lock out real people.
//   - Department: any two digits but 00 (this includes the historic 91-96 for Algeria, Morocco and Tunisia), 2A and
//     2B, 97x and 98x with any third digit. Membership in the official geographic code is not checked here: the
//     insured-person reference settles existence. The rule "2A/2B for births since 1976, 20 before" is not
//     enforced either: the registry has exceptions, and refusing would lock a real person out.
//   - Commune (or country): any three digits, checked syntactically only.
//   - Order number: 001-999; 000 is never allocated and is refused.
//
// # Personal data
//
// A NIR is personal data and must never reach a log. NIR's String, Format and LogValue print a redacted form (the
// sex digit and the order number only: "1*********042**"); the clear value is only given by Body and Full, which
// callers use deliberately (an event payload, a keyed hash). NIR has no JSON or text marshalling: a DTO must carry
// Body() or Full() explicitly. One gap remains: fmt cannot call methods on a value held in an unexported struct
// field, so printing a struct that keeps a NIR in an unexported field with %v shows it; do not log such structs.
//
// The package imports only the standard library and domain/failure.
package nir

import (
	"strconv"
	"strings"
	"time"
)

// Sex is the sex a person declared, for the consistency check with the first digit of their NIR.
type Sex uint8

// The sexes. SexUnknown skips the check.
const (
	SexUnknown Sex = 0
	SexMale    Sex = 1
	SexFemale  Sex = 2
)

// maxInput bounds the raw input looked at, so that a huge string costs nothing.
const maxInput = 64

// NIR is a validated social security number: its 13-character body in canonical form (upper case, no separators).
// The key is not stored: it is a function of the body. The zero NIR is not valid (IsZero); NIR values are
// comparable with ==.
type NIR struct {
	body string
}

// Parse parses the 15-character form (13 characters and the 2-digit key), after normalisation (spaces, including
// non-breaking ones, dots and dashes removed; lower case made upper), checks every field and the key. Errors are the
// package sentinels, in the order of the checks (see ErrLength and below).
func Parse(s string) (NIR, error) {
	c, err := normalise(s)
	if err != nil {
		return NIR{}, err
	}
	if len(c) != 15 {
		return NIR{}, ErrLength
	}
	k, ok := twoDigits(c[13:])
	if !ok {
		return NIR{}, ErrFormat // syntax before field domains
	}
	n, err := parseBody(c[:13])
	if err != nil {
		return NIR{}, err
	}
	if k != n.Key() {
		return NIR{}, ErrKey
	}
	return n, nil
}

// ParseLogin parses the 13-character login identifier (no key), after the same normalisation as Parse, and checks
// every field. Without a key a typing mistake cannot be detected: a well-formed identifier may belong to someone
// else, so callers must give the same answer whether or not it is known.
func ParseLogin(s string) (NIR, error) {
	c, err := normalise(s)
	if err != nil {
		return NIR{}, err
	}
	if len(c) != 13 {
		return NIR{}, ErrLoginLength
	}
	return parseBody(c)
}

// normalise removes separators and upper-cases ASCII letters; any other character is ErrFormat.
func normalise(s string) (string, error) {
	if len(s) > maxInput {
		return "", ErrLength
	}
	var b strings.Builder
	b.Grow(15)
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r == ' ', r == '\t', r == '.', r == '-', r == '\u00a0', r == '\u202f', r == '\u2009', r == '\u2010', r == '\u2011', r == '\u2013':
			// separators people type or paste: space, tab, dot, dash, no-break and thin spaces, typographic dashes
		default:
			return "", ErrFormat
		}
	}
	return b.String(), nil
}

// parseBody checks a normalised 13-character body: characters (digits everywhere but in the department), then the
// field domains in layout order: sex, month, department, order.
func parseBody(b string) (NIR, error) {
	for i := 0; i < len(b); i++ {
		if i == 5 || i == 6 {
			continue // the department, checked below
		}
		if !isDigit(b[i]) {
			return NIR{}, ErrFormat
		}
	}
	switch b[0] {
	case '1', '2':
	case '3', '4', '7', '8':
		return NIR{}, ErrProvisional
	default:
		return NIR{}, ErrSex
	}
	m, _ := twoDigits(b[3:5])
	if m == 0 || (m >= 13 && m <= 19) || (m >= 43 && m <= 49) {
		return NIR{}, ErrMonth
	}
	switch dept := b[5:7]; {
	case dept == "2A", dept == "2B":
	case isDigit(dept[0]) && isDigit(dept[1]):
		if dept == "00" {
			return NIR{}, ErrDepartment
		}
	default:
		return NIR{}, ErrDepartment // letters other than 2A/2B: "2C" is no department
	}
	if b[10:13] == "000" {
		return NIR{}, ErrOrder
	}
	return NIR{body: b}, nil
}

// Key computes the key of the body: 97 − (N mod 97), with 2A read as 19 and 2B as 18. It is 1-97; 0 for the zero NIR.
func (n NIR) Key() int {
	if n.body == "" {
		return 0
	}
	digits := n.body
	switch n.body[5:7] {
	case "2A":
		digits = n.body[:5] + "19" + n.body[7:]
	case "2B":
		digits = n.body[:5] + "18" + n.body[7:]
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0 // unreachable for a parsed NIR
	}
	return 97 - int(v%97)
}

// IsZero reports whether n is the zero NIR (not parsed).
func (n NIR) IsZero() bool { return n.body == "" }

// Body returns the canonical 13-character body, in clear: the login identifier and the input of keyed hashes.
// Personal data: never log it.
func (n NIR) Body() string { return n.body }

// Full returns the canonical 15-character form, body and key, in clear. Personal data: never log it.
func (n NIR) Full() string {
	if n.body == "" {
		return ""
	}
	return n.body + twoDigitString(n.Key())
}

// Sex returns the sex of the first digit.
func (n NIR) Sex() Sex {
	if n.body == "" {
		return SexUnknown
	}
	return Sex(n.body[0] - '0')
}

// BirthYear returns the two digits of the year of birth (0-99). The century is not in the NIR.
func (n NIR) BirthYear() int {
	if n.body == "" {
		return 0
	}
	y, _ := twoDigits(n.body[1:3])
	return y
}

// BirthMonth returns the month of birth and whether the NIR states it: false for the fictitious months 20-30 and
// 50-99; the pseudo-fictitious 31-42 state January to December.
func (n NIR) BirthMonth() (time.Month, bool) {
	if n.body == "" {
		return 0, false
	}
	m, _ := twoDigits(n.body[3:5])
	switch {
	case m >= 1 && m <= 12:
		return time.Month(m), true
	case m >= 31 && m <= 42:
		return time.Month(m - 30), true
	}
	return 0, false
}

// Department returns the department of birth: two characters ("75", "2A", "99" for abroad) or three for overseas
// ("971").
func (n NIR) Department() string {
	if n.body == "" {
		return ""
	}
	if d := n.body[5:7]; d == "97" || d == "98" {
		return n.body[5:8]
	}
	return n.body[5:7]
}

// Commune returns the commune of birth within the department (three characters, two overseas), or the INSEE
// country code for a person born abroad (department 99).
func (n NIR) Commune() string {
	if n.body == "" {
		return ""
	}
	return n.body[5+len(n.Department()) : 10]
}

// Order returns the order number (1-999).
func (n NIR) Order() int {
	if n.body == "" {
		return 0
	}
	o, _ := strconv.Atoi(n.body[10:13])
	return o
}

// Check reports whether the NIR is consistent with a declared birth date and sex: the year of birth modulo 100,
// the month unless the NIR's month is fictitious, and the sex unless it is SexUnknown. Only the calendar date of
// birth in its own location counts. Errors are ErrBirthYear, ErrBirthMonth and ErrSexMismatch, in that order.
func (n NIR) Check(birth time.Time, sex Sex) error {
	if birth.Year()%100 != n.BirthYear() {
		return ErrBirthYear
	}
	if m, known := n.BirthMonth(); known && m != birth.Month() {
		return ErrBirthMonth
	}
	if sex != SexUnknown && sex != n.Sex() {
		return ErrSexMismatch
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// twoDigits reads a two-character decimal string.
func twoDigits(s string) (int, bool) {
	if len(s) != 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func twoDigitString(v int) string {
	return string([]byte{byte('0' + v/10), byte('0' + v%10)})
}
