package command

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
)

// The purposes of the keyed digests the one-time codes derive from: one per kind of code, so a code is good for
// one purpose and one subject only.
const (
	activationPurpose  = "activation-code"
	emailChangePurpose = "email-change-code"
	resetPurpose       = "password-reset-code"
)

// The name-spaces of the ids this package derives (uuid.NewSHA1(namespace, parent id)), so that a retried command
// (same Meta.CommandID) names the same registration, member or reset procedure. Stored stream names depend on
// them: never change them.
var (
	registrationNamespace = uuid.MustParse("3efe0a14-e0f1-44b0-8841-701873d92f29")
	memberNamespace       = uuid.MustParse("f71b9a49-5de6-48d9-85ae-28d049c510dd")
	resetNamespace        = uuid.MustParse("d6fb1c18-1599-4669-971a-fcf0e7d03f0d")
)

// registrationIDFor is the registration a Register command creates: derived from its command id, so a retry
// returns the same registration.
func registrationIDFor(commandID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(registrationNamespace, commandID[:])
}

// memberIDFor is the member account a registration opens: derived from the registration id, so every retry of
// an activation writes the same account.
func memberIDFor(registrationID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(memberNamespace, registrationID[:])
}

// resetIDFor is the forgotten-password procedure a RequestPasswordReset command opens, derived from its command id.
func resetIDFor(commandID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(resetNamespace, commandID[:])
}

// ActivationCode is the activation code of a registration's sequence-th CodeIssued, for the mail reaction and the
// check. Codes are never stored: each is derived from the server key (see derivedCode).
func ActivationCode(k Keys, registrationID uuid.UUID, sequence int) string {
	return derivedCode(k, activationPurpose, registrationID, sequence)
}

// EmailChangeCode is the code of a member's sequence-th EmailChangeRequested, sent to the new address.
func EmailChangeCode(k Keys, memberID uuid.UUID, sequence int) string {
	return derivedCode(k, emailChangePurpose, memberID, sequence)
}

// ResetCode is the code of a forgotten-password procedure's sequence-th code (ResetRequested is sequence 1).
func ResetCode(k Keys, resetID uuid.UUID, sequence int) string {
	return derivedCode(k, resetPurpose, resetID, sequence)
}

// derivedCode is credential.CodeLength decimal digits taken from the keyed digest of (purpose, subject, sequence):
// the first 8 bytes read as an integer, modulo 10^8 (the bias, under 10^-11, is immaterial). Without the server key
// a code cannot be computed from anything an event holds.
func derivedCode(k Keys, purpose string, subject uuid.UUID, sequence int) string {
	d := k.Digest(purpose, subject.String(), strconv.Itoa(sequence))
	const space = 100_000_000 // 10^CodeLength
	return fmt.Sprintf("%0*d", credential.CodeLength, binary.BigEndian.Uint64(d[:8])%space)
}

// codeMatcher returns the comparison a decision runs: whether typed (normalised) is the code of a sequence, in
// constant time.
func codeMatcher(code func(sequence int) string, typed string) func(sequence int) bool {
	return func(sequence int) bool {
		return subtle.ConstantTimeCompare([]byte(code(sequence)), []byte(typed)) == 1
	}
}

// codeVerifier is an aggregate whose one-time code a command checks: a registration, a password reset.
type codeVerifier interface {
	VerifyCode(matches func(sequence int) bool, now time.Time, p credential.CodePolicy) error
	Events() []any
}

// verifyCode checks typed against the code of the aggregate on stream (rehydrate folds its history; code gives the
// code of a sequence) under the current code policy: a wrong code is recorded (with the lock it may bring), then
// refused. A retry of cmd answers what its recorded events stand for: locked for a lock, a wrong code, or success.
// Code errors name the "code" field.
func verifyCode[A codeVerifier](ctx context.Context, c *core, stream event.StreamID, cmd event.Command,
	rehydrate func([]event.Envelope) A, code func(sequence int) string, typed string, now time.Time, locked error) error {
	p := credential.CurrentCodePolicy()
	matches := codeMatcher(code, typed)
	_, err := c.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a := rehydrate(history)
		err := a.VerifyCode(matches, now, p)
		return a.Events(), err
	}, func(recorded []any) error { return codeOutcome(locked, recorded) })
	return fieldForCode(err)
}
