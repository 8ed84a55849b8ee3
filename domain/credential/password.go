package credential

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
)

// PasswordPolicyVersion names the rules of CurrentPasswordPolicy. It is recorded in every PasswordSet event. Any
// change to the rules or to the embedded lists needs a new version (a test compares the lists' digest).
const PasswordPolicyVersion = "2026-12-pw2"

// The password errors. Each has a stable code for API clients; the French sentence shown to the member, in
// domain/messages, says what to do, not only what is wrong. All are of kind failure.Invalid (a field of the
// request cannot be accepted as it is).
var (
	// ErrPasswordInvalidCharacter refuses invalid UTF-8 and control characters (tabulation, line feed, NUL, ...).
	ErrPasswordInvalidCharacter = failure.New(failure.Invalid, "password.invalid_character",
		"password holds a control character")
	// ErrPasswordTooShort refuses fewer than MinLength characters.
	ErrPasswordTooShort = failure.New(failure.Invalid, "password.too_short", "password too short")
	// ErrPasswordTooLong refuses more than MaxLength characters.
	ErrPasswordTooLong = failure.New(failure.Invalid, "password.too_long", "password too long")
	// ErrPasswordDigitsOnly refuses a password made only of digits that is too short to reach MinBits.
	ErrPasswordDigitsOnly = failure.New(failure.Invalid, "password.digits_only", "digits-only password too short")
	// ErrPasswordTooCommon refuses a listed common password, a listed word padded with digits or signs, a short
	// pattern repeated, a plain sequence, or anything else the guess estimate finds too easy (keyboard walks on
	// QWERTY or AZERTY, dictionary words and dates put together).
	ErrPasswordTooCommon = failure.New(failure.Invalid, "password.too_common", "password too easy to guess")
	// ErrPasswordPersonalData refuses a password that contains the member's NIR, name or email address.
	ErrPasswordPersonalData = failure.New(failure.Invalid, "password.contains_personal_data",
		"password contains personal data")
)

// maxEstimatedLength is the longest password (in code points) the guess estimate reads.
const maxEstimatedLength = 64

// PasswordPolicy is the password rules as data. The zero value is not usable: start from CurrentPasswordPolicy.
type PasswordPolicy struct {
	// Version is recorded with each password set under this policy.
	Version string
	// MinLength and MaxLength bound the length in code points (ASVS 2.1.1 and 2.1.2).
	MinLength, MaxLength int
	// MinBits is the CNIL 2022-100 floor (case 2, with access restriction): length × log2(alphabet size).
	MinBits float64
	// MinGuesses is the floor of the guess estimate (Estimator): zxcvbn's score 3, "safely unguessable" against an
	// online attack and a slow hash offline. Keyboard walks land far below it (azertyuiopqsdfghjklm: about 3e7).
	MinGuesses float64
	// Estimator estimates the guesses a password needs (adapters/credentials.Strength: zxcvbn, with the AZERTY
	// layout). It is a port, the domain being pure: nil skips the estimate (WithEstimator sets it; the commands take
	// it from their password hasher).
	Estimator GuessEstimator
	// MinContextLength is the shortest piece of personal data (name part, email local part) looked for inside a
	// password; shorter pieces ("Li", "Eva") would refuse ordinary words.
	MinContextLength int
	// ListDigest is the hex SHA-256 of the embedded lists (commonpasswords.txt then commonpasswords-fr.txt), so
	// that the version identifies the list too.
	ListDigest string
}

// GuessEstimator estimates how many guesses an attacker trying the likeliest patterns first (words, names, the
// person's own data in userInputs, keyboard walks, dates) needs to find a password.
type GuessEstimator interface {
	Guesses(password string, userInputs []string) float64
}

// WithEstimator returns the policy with the guess estimate of e (nil: none).
func (p PasswordPolicy) WithEstimator(e GuessEstimator) PasswordPolicy {
	p.Estimator = e
	return p
}

// CurrentPasswordPolicy returns the policy in force, version PasswordPolicyVersion, without its estimator (a port:
// WithEstimator).
func CurrentPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{
		Version:          PasswordPolicyVersion,
		MinLength:        12,
		MaxLength:        128,
		MinBits:          50,
		MinGuesses:       1e8,
		MinContextLength: 4,
		ListDigest:       "7c9afaa24f702585e904b0b1745a1a2e1759d90fde8226a7548dd71982ed6abd",
	}
}

// CheckPassword checks pw against CurrentPasswordPolicy with the guess estimate of est (nil: without it; the
// commands pass their password hasher's, see EstimatorOf). context holds the member's personal data that must not
// appear in the password: the NIR (13 or 15 characters), last and first names, the email address (only its local
// part is used). It returns nil or one of the ErrPassword* errors, wrapped; test with errors.Is.
func CheckPassword(est GuessEstimator, pw string, context ...string) error {
	return CurrentPasswordPolicy().WithEstimator(est).Check(pw, context...)
}

// EstimatorOf returns port's guess estimator when it has one (a password hasher may: *credentials.Hasher does),
// else nil.
func EstimatorOf(port any) GuessEstimator {
	e, _ := port.(GuessEstimator)
	return e
}

// Check checks pw against the policy; see CheckPassword. The checks run in this order, so that the member is
// told the most basic problem first: characters, length, personal data, digits only, common or patterned, then
// the guess estimate (keyboard walks, words put together).
func (p PasswordPolicy) Check(pw string, context ...string) error {
	// A quick bound before any scan: no valid password has more than 4 bytes per code point.
	if len(pw) > utf8.UTFMax*p.MaxLength {
		return ErrPasswordTooLong
	}
	if !utf8.ValidString(pw) {
		return ErrPasswordInvalidCharacter
	}
	for _, r := range pw {
		if unicode.IsControl(r) {
			return ErrPasswordInvalidCharacter
		}
	}
	n := utf8.RuneCountInString(pw)
	if n < p.MinLength {
		return ErrPasswordTooShort
	}
	if n > p.MaxLength {
		return ErrPasswordTooLong
	}
	if containsPersonalData(pw, context, p.MinContextLength) {
		return ErrPasswordPersonalData
	}
	lower := strings.ToLower(pw)
	if estimateBits(lower) < p.MinBits && isDigits(lower) {
		return ErrPasswordDigitsOnly
	}
	if isCommon(lower) || isRepetition(lower, p.MinBits) || isSequence(lower) {
		return ErrPasswordTooCommon
	}
	// The estimate's cost grows with the length (about 1 ms at 30 characters, 23 ms at 128): past
	// maxEstimatedLength, length alone puts a password far beyond the floor unless it repeats, which isRepetition
	// refused already.
	if p.Estimator != nil && p.MinGuesses > 0 && n <= maxEstimatedLength && p.Estimator.Guesses(pw, context) < p.MinGuesses {
		return ErrPasswordTooCommon
	}
	// Not reachable with MinLength 12 (a non-digit alphabet has at least 26 symbols) but kept for policies with a
	// lower MinLength: whatever the cause, the password is too easy to guess.
	if estimateBits(pw) < p.MinBits {
		return ErrPasswordTooCommon
	}
	return nil
}

// estimateBits is the CNIL's estimate: length × log2(size of the union of the character classes used). Classes:
// digits (10), ASCII lower case (26), ASCII upper case (26), everything else (33: the printable ASCII signs and
// space; an under-estimate for accented letters and other scripts, which is the safe side).
func estimateBits(s string) float64 {
	var digit, lower, upper, other bool
	n := 0
	for _, r := range s {
		n++
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		default:
			other = true
		}
	}
	size := 0
	for _, c := range []struct {
		used bool
		size int
	}{{digit, 10}, {lower, 26}, {upper, 26}, {other, 33}} {
		if c.used {
			size += c.size
		}
	}
	if size < 2 {
		return 0
	}
	return float64(n) * math.Log2(float64(size))
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// isRepetition reports whether s is a shorter unit repeated ("azertyazerty", "abababababab", twelve spaces) whose
// own strength is below minBits, or whose unit is a common password: guessing the unit guesses the whole.
func isRepetition(s string, minBits float64) bool {
	r := []rune(s)
	n := len(r)
	for period := 1; period <= n/2; period++ {
		if n%period != 0 {
			continue
		}
		repeats := true
		for i := period; i < n; i++ {
			if r[i] != r[i-period] {
				repeats = false
				break
			}
		}
		if repeats {
			unit := string(r[:period])
			return estimateBits(unit) < minBits || isCommon(unit)
		}
	}
	return false
}

// isSequence reports whether every character of s follows the previous one by the same step of +1 or -1
// ("abcdefghijkl", "zyxwvutsrqpo"); digits wrap around ("7890123456789012").
func isSequence(s string) bool {
	r := []rune(s)
	if len(r) < 3 {
		return false
	}
	digits := isDigits(s)
	stepAt := func(i int) rune {
		d := r[i] - r[i-1]
		if digits {
			d = (d + 10) % 10
			if d == 9 {
				d = -1
			}
		}
		return d
	}
	step := stepAt(1)
	if step != 1 && step != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if stepAt(i) != step {
			return false
		}
	}
	return true
}
