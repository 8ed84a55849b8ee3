package credential

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

// CodePolicyVersion names the rules of CurrentCodePolicy; record it (with the expiry) in the event that issues a
// code, so that an auditor can check which rule applied.
const CodePolicyVersion = "2026-11-code1"

// CodeLength is the number of decimal digits of a one-time code: 10^8 values, against at most MaxAttempts
// guesses per request (a 5 in 20 million chance for an attacker who exhausts them).
const CodeLength = 8

// The code errors, each with a stable code (the French sentences are in domain/messages).
var (
	// ErrCodeMalformed refuses input that is not CodeLength digits (spaces and dashes aside).
	ErrCodeMalformed = failure.New(failure.Invalid, "code.malformed", "code is not 8 digits")
	// ErrCodeWrong is a well-formed code that does not match.
	ErrCodeWrong = failure.New(failure.Rule, "code.wrong", "wrong code")
	// ErrCodeExpired is a code used after its expiry.
	ErrCodeExpired = failure.New(failure.Rule, "code.expired", "code expired")
	// ErrCodeAttemptsExhausted is any code entered after MaxAttempts wrong ones.
	ErrCodeAttemptsExhausted = failure.New(failure.Rule, "code.attempts_exhausted", "too many wrong codes")
	// ErrCodeResendTooSoon is a request for a new code within ResendCooldown of the previous one.
	ErrCodeResendTooSoon = failure.New(failure.Rule, "code.resend_too_soon", "code resent too soon")
)

// CodePolicy is the rule for one-time codes sent by email, as data. Expiry and attempts are decided from what the
// events recorded (the expiry written when the code was issued, the count of wrong attempts), never from a clock
// read here: every helper takes now as an argument.
//
// Wrong attempts are counted per request (the registration, the password reset), not per code: a resend issues a
// new code but must not give an attacker MaxAttempts new guesses.
type CodePolicy struct {
	// Version is recorded when a code is issued.
	Version string
	// TTL is how long a code stays valid after it is issued.
	TTL time.Duration
	// MaxAttempts is how many wrong codes are accepted before the request is locked.
	MaxAttempts int
	// ResendCooldown is the least time between two codes sent for the same request.
	ResendCooldown time.Duration
}

// CurrentCodePolicy returns the policy in force: codes valid 15 minutes, 5 wrong attempts, one resend a minute.
func CurrentCodePolicy() CodePolicy {
	return CodePolicy{
		Version:        CodePolicyVersion,
		TTL:            15 * time.Minute,
		MaxAttempts:    5,
		ResendCooldown: 60 * time.Second,
	}
}

// ExpiresAt is the expiry to record for a code issued at issuedAt.
func (p CodePolicy) ExpiresAt(issuedAt time.Time) time.Time { return issuedAt.Add(p.TTL) }

// CodeExpired reports whether a code whose recorded expiry is expiresAt is expired at now. The expiry instant
// itself is expired.
func CodeExpired(expiresAt, now time.Time) bool { return !now.Before(expiresAt) }

// AttemptsExhausted reports whether failedAttempts wrong codes lock the request.
func (p CodePolicy) AttemptsExhausted(failedAttempts int) bool {
	return failedAttempts >= p.MaxAttempts
}

// AttemptsLeft is how many wrong codes may still be entered (never negative).
func (p CodePolicy) AttemptsLeft(failedAttempts int) int { return max(p.MaxAttempts-failedAttempts, 0) }

// CanAttempt says whether a code may be compared at all: ErrCodeAttemptsExhausted once the wrong attempts are used
// up (checked first: a locked request stays locked even after the code expires), ErrCodeExpired after expiresAt,
// nil otherwise. The caller then compares the code and records a wrong attempt or the success.
func (p CodePolicy) CanAttempt(expiresAt time.Time, failedAttempts int, now time.Time) error {
	if p.AttemptsExhausted(failedAttempts) {
		return ErrCodeAttemptsExhausted
	}
	if CodeExpired(expiresAt, now) {
		return ErrCodeExpired
	}
	return nil
}

// CheckCode decides one code attempt on a request whose code expires at expiresAt, after failedAttempts wrong
// codes: first CanAttempt (its error, with nothing to record); then nil if matches() (the caller records the
// success, if any); otherwise the code is wrong, and reject(attempt, exhausted) records wrong attempt number
// failedAttempts+1, exhausted when it uses up MaxAttempts (the caller may lock the request), before CheckCode returns
// ErrCodeAttemptsExhausted or ErrCodeWrong. matches runs only when the code may be compared.
func (p CodePolicy) CheckCode(expiresAt time.Time, failedAttempts int, now time.Time, matches func() bool,
	reject func(attempt int, exhausted bool)) error {
	if err := p.CanAttempt(expiresAt, failedAttempts, now); err != nil {
		return err
	}
	if matches() {
		return nil
	}
	n := failedAttempts + 1
	exhausted := p.AttemptsExhausted(n)
	reject(n, exhausted)
	if exhausted {
		return ErrCodeAttemptsExhausted
	}
	return ErrCodeWrong
}

// ResendAllowedAt is the first instant at which a new code may be sent after one sent at lastSentAt.
func (p CodePolicy) ResendAllowedAt(lastSentAt time.Time) time.Time {
	return lastSentAt.Add(p.ResendCooldown)
}

// ResendWait is how long the member must still wait at now before a new code may be sent (0: now is fine). The
// HTTP layer can round it up into a Retry-After header.
func (p CodePolicy) ResendWait(lastSentAt, now time.Time) time.Duration {
	return max(p.ResendAllowedAt(lastSentAt).Sub(now), 0)
}

// CanResend returns nil if a new code may be sent at now, ErrCodeResendTooSoon otherwise.
func (p CodePolicy) CanResend(lastSentAt, now time.Time) error {
	if p.ResendWait(lastSentAt, now) > 0 {
		return ErrCodeResendTooSoon
	}
	return nil
}

// errSkewedSource guards against a broken random source that never yields an acceptable value.
var errSkewedSource = errors.New("credential: random source keeps returning out-of-range values")

// NewCode returns a fresh one-time code of CodeLength decimal digits, uniformly distributed (rejection sampling, no
// modulo bias), read from random. Pass crypto/rand.Reader at the call site. It fails only if random fails.
func NewCode(random io.Reader) (string, error) {
	const space = 100_000_000               // 10^CodeLength
	const limit = (1 << 32) / space * space // largest multiple of space that fits in 32 bits
	var b [4]byte
	for range 64 { // each draw is rejected with probability 2.2%: 64 rejections in a row mean a broken source
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return "", fmt.Errorf("credential: new code: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%0*d", CodeLength, v%space), nil
		}
	}
	return "", errSkewedSource
}

// NormalizeCode returns the code typed by the member without the spaces and dashes people add when copying it
// ("1234 5678"), or ErrCodeMalformed if what remains is not CodeLength ASCII digits.
func NormalizeCode(input string) (string, error) {
	code := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\u00a0', '\t':
			return -1
		}
		return r
	}, input)
	if len(code) != CodeLength || !isDigits(code) {
		return "", ErrCodeMalformed
	}
	return code, nil
}
