package servicerequest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// crockford is Crockford's base-32 alphabet: no I, L, O or U, so a reference read over the phone is not misheard.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// referenceNamespace names the UUIDs of reference streams (ReferenceKey). Never change it: stored streams are named
// after it.
var referenceNamespace = uuid.MustParse("3d6f1c8e-5b7a-4e0f-9c2d-8a4b6e1f0d37")

// DeriveReference returns the human-readable reference of the request id received in year, for the attempt-th
// candidate (0 first): "MSA-2026-7KQ2-M9XD-3F0A", the year of receipt then 60 bits of SHA-256(id, attempt) in
// Crockford base 32 (12 characters, grouped by 4).
//
// Uniqueness. A derived reference is deterministic (a retried submission gets the same one) and collisions are
// rare (about n²/2⁶¹ for n requests in a year: 4·10⁻⁷ for a million) but not impossible, so uniqueness is not left
// to chance: the command layer appends ReferenceClaimed on the stream ReferenceStreamID(reference) expecting no
// stream, in the same command, before the request's own events. If that stream already belongs to another request,
// it tries attempt+1. A reference thus names exactly one request, and the year keeps references short to read.
// A counter ("MSA-2026-000123") would need one hot stream written by every submission; this needs none.
func DeriveReference(id uuid.UUID, year int, attempt int) string {
	sum := sha256.Sum256(append(id[:], strconv.Itoa(attempt)...))
	bits := binary.BigEndian.Uint64(sum[:8]) >> 4 // 60 bits
	var b strings.Builder
	fmt.Fprintf(&b, "MSA-%04d", year)
	for i := range 12 {
		if i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(crockford[(bits>>(55-5*i))&31])
	}
	return b.String()
}

// NormalizeReference returns the canonical form of a reference typed by a person (case, spaces, and the
// letters Crockford reads as digits: O→0, I and L→1), and whether it has the shape of a reference.
func NormalizeReference(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	// "MSA" holds no O, I or L, so the prefix survives the replacements.
	s = strings.NewReplacer(" ", "", "O", "0", "I", "1", "L", "1").Replace(s)
	if !validReference(s) {
		return "", false
	}
	return s, true
}

// validReference reports whether s is exactly "MSA-YYYY-XXXX-XXXX-XXXX" in canonical form.
func validReference(s string) bool {
	if len(s) != len("MSA-2026-XXXX-XXXX-XXXX") || !strings.HasPrefix(s, "MSA-") {
		return false
	}
	for i := 4; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	for i := 8; i < len(s); i++ {
		if (i-8)%5 == 0 {
			if s[i] != '-' {
				return false
			}
			continue
		}
		if !strings.ContainsRune(crockford, rune(s[i])) {
			return false
		}
	}
	return true
}

// ReferenceKey returns the UUID naming the stream that claims reference (canonical form).
func ReferenceKey(reference string) uuid.UUID {
	return uuid.NewSHA1(referenceNamespace, []byte(reference))
}

// ReferenceStreamID returns the stream "servicerequestref-<ReferenceKey(reference)>", which holds one
// ReferenceClaimed: its existence is the claim, and reading it maps a reference to its request.
func ReferenceStreamID(reference string) event.StreamID {
	return event.NewStreamID(ReferenceCategory, ReferenceKey(reference))
}
