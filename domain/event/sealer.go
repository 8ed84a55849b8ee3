package event

import (
	"errors"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Personal data in events is sealed (crypto-shredding): every field that identifies or describes a person carries the
// struct tag `personal:"yes"`, every other field whose value holds text carries `personal:"no"` (a test fails for a
// string-holding field with neither). When the Registry has a Sealer, NewRecord moves the personal fields of an event
// out of its clear JSON into one sealed value under the key of the event's data subject (Metadata.Subject), and Open
// puts them back; once the subject's key is destroyed, Open gives every personal text ErasedText instead, and marks
// the envelope Erased. Identifiers, types, statuses, dates of facts, amounts without a name and keyed hashes stay in
// clear, so that streams, projections and proofs work on them without any key.

// ErasedText is what a personal text reads as once its subject's key was destroyed: what every projection, rebuild
// and API answer shows in place of the old value ("données effacées").
const ErasedText = "données effacées"

// ErrErased is returned by a Sealer for a subject whose key was destroyed: its personal data can no longer be read,
// nor new personal data sealed for it. It is a Rule failure: appending personal data about an erased person (a note
// on their closed case) is refused with a clear answer, not an internal error.
var ErrErased = failure.New(failure.Rule, "personal_data.erased", "personal data erased")

// ErrSealed is returned by Open for a record holding sealed personal data when the Registry has no Sealer.
var ErrSealed = errors.New("sealed personal data and no sealer")

// Sealer seals and opens the personal part of an event under the data key of its subject (the key store implements
// it; keys are created on first use). aad is authenticated with the data and never stored by the Sealer.
type Sealer interface {
	// Seal encrypts plaintext under subject's data key (created when the subject has none yet); ErrErased when the
	// subject's key was destroyed.
	Seal(subject uuid.UUID, aad, plaintext []byte) ([]byte, error)
	// Open decrypts what Seal returned; ErrErased when the subject's key was destroyed.
	Open(subject uuid.UUID, aad, sealed []byte) ([]byte, error)
}
