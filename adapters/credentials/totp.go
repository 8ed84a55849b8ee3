package credentials

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/domain/failure"
)

// TOTPIssuer is the issuer shown by authenticator applications next to the staff login.
const TOTPIssuer = "Dossier MSA"

// The TOTP settings (RFC 6238): the defaults every authenticator application supports (Google Authenticator
// ignores other algorithms and lengths), with a 160-bit secret as RFC 4226 §4 recommends.
const (
	TOTPPeriod     = 30 * time.Second
	TOTPDigits     = 6
	TOTPSecretSize = 20
	// TOTPSkew is how many steps before and after the current one are accepted, for clocks that drift and codes
	// typed near the end of their step.
	TOTPSkew = 1
)

// TOTP errors. Both are failure.Unauthenticated; the HTTP layer should answer both with the same message, so that
// a guesser learns nothing from the difference, which is there for the audit events.
var (
	// ErrTOTPInvalid is a code that matches none of the accepted steps (or is not six digits, spaces aside).
	ErrTOTPInvalid = failure.New(failure.Unauthenticated, "totp.invalid", "TOTP code wrong or expired")
	// ErrTOTPReplayed is a correct code of a step already used (or older than one used): RFC 6238 §5.2 forbids
	// accepting the same code twice, which would let a code seen over a shoulder be used again.
	ErrTOTPReplayed = failure.New(failure.Unauthenticated, "totp.replayed", "TOTP code already used")
)

// TOTP enrols and checks time-based one-time passwords (RFC 6238) with github.com/pquerna/otp. It keeps no state:
// the caller stores each staff member's secret (encrypted at rest, never in an event in clear) and the last step
// accepted.
type TOTP struct {
	rand io.Reader
}

// NewTOTP returns a TOTP whose secrets come from random; nil means crypto/rand.
func NewTOTP(random io.Reader) *TOTP {
	if random == nil {
		random = rand.Reader
	}
	return &TOTP{rand: random}
}

// Enrolment is what a staff member needs to set up an authenticator: the secret, to store, and the otpauth:// URL
// (to show as a QR code, or the secret typed by hand).
type Enrolment struct {
	// Secret is the shared key in unpadded base32 (RFC 4648), as authenticator applications expect it.
	Secret string
	// URL is the otpauth://totp/Dossier%20MSA:<login>?... key URI.
	URL string
}

// Enrol generates a new secret for the staff member whose login is account. The enrolment is complete only once
// the staff member has typed a first valid code (Validate with lastStep 0); store the step it returns.
func (t *TOTP) Enrol(account string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      TOTPIssuer,
		AccountName: account,
		Period:      uint(TOTPPeriod / time.Second),
		SecretSize:  TOTPSecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        t.rand,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("credentials: totp enrolment: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// TOTPStep is the RFC 6238 time step (counter) of instant now: floor(unix seconds / 30).
func TOTPStep(now time.Time) int64 {
	return floorDiv(now.Unix(), int64(TOTPPeriod/time.Second))
}

// Validate checks code against secret at now, accepting the current step and TOTPSkew steps on either side, and
// refuses a step at or before lastStep (the step of the last code accepted for this staff member; 0 if none). It
// returns the step that matched, which the caller must record (with the login event) before answering, so that
// the same code cannot be accepted twice. Errors: ErrTOTPInvalid, ErrTOTPReplayed, or an internal error for a
// secret that is not base32.
func (t *TOTP) Validate(secret, code string, now time.Time, lastStep int64) (int64, error) {
	opts := totp.ValidateOpts{
		Period:    uint(TOTPPeriod / time.Second),
		Skew:      0, // we try the steps ourselves, to know which one matched
		Digits:    otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1,
	}
	// Applications show the code as "123 456"; people copy it that way.
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' {
			return -1
		}
		return r
	}, code)
	current := TOTPStep(now)
	replayed := false
	// Oldest step first: should a code match two steps (one chance in a million), take the first one that is
	// still unused.
	for step := current - TOTPSkew; step <= current+TOTPSkew; step++ {
		if step < 0 {
			continue
		}
		ok, err := totp.ValidateCustom(code, secret, stepStart(step), opts)
		if errors.Is(err, otp.ErrValidateInputInvalidLength) {
			return 0, ErrTOTPInvalid
		}
		if err != nil {
			return 0, fmt.Errorf("credentials: totp validate: %w", err)
		}
		if !ok {
			continue
		}
		if step <= lastStep {
			replayed = true
			continue
		}
		return step, nil
	}
	if replayed {
		return 0, ErrTOTPReplayed
	}
	return 0, ErrTOTPInvalid
}

// stepStart is the first instant of step.
func stepStart(step int64) time.Time {
	return time.Unix(step*int64(TOTPPeriod/time.Second), 0)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
