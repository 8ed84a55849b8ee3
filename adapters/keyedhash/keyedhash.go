// Package keyedhash derives, from the server's secret key, the values that must reveal nothing without it:
// the ids of lookup streams keyed on a NIR (so that no NIR appears in a stream name) and the digests of one-time
// codes (so that no code is stored in clear).
//
// Every value is an HMAC-SHA256 under the server key of an unambiguous encoding of its inputs (each input
// length-prefixed, after a label that separates stream ids from code digests), so that different purposes never
// share a value: the insured-person stream and the NIR-claim stream of the same person are unlinkable without the
// key. Changing the key changes every derived value: the key is generated once and kept (see LoadOrCreateKeyFile).
//
// cmd loads the key from its configuration (DOSSIER_SECRET_KEY, 64 hexadecimal characters, or its _FILE variant)
// with FromHex, or for the embedded default with LoadOrCreateKeyFile; this package reads no environment.
package keyedhash

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/secretfile"
)

// KeySize is the size of a generated key, and the least accepted.
const KeySize = 32

// Namespace is the name-space of the derived stream UUIDs (uuid.NewSHA1(Namespace, mac)). Stored stream names
// depend on it: never change it.
var Namespace = uuid.MustParse("bd1a9d3c-5d2d-4f4e-8440-07266228daa4")

// Labels that separate the two uses of the key; stored values depend on them: never change them.
const (
	labelStream = "dossier/keyedhash/stream/v1"
	labelDigest = "dossier/keyedhash/digest/v1"
)

// ErrInvalidKey is returned for a key that is too short, all zeros, or not in the expected encoding.
var ErrInvalidKey = errors.New("invalid server key")

// Hasher computes keyed hashes under the server key. It is immutable and safe for concurrent use. It never prints
// its key (String, Format and LogValue are redacted).
type Hasher struct {
	key []byte
}

// New returns a Hasher over key (at least KeySize bytes, not all zeros). The key is copied.
func New(key []byte) (*Hasher, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidKey, len(key), KeySize)
	}
	zero := true
	for _, b := range key {
		zero = zero && b == 0
	}
	if zero {
		return nil, fmt.Errorf("%w: all zeros", ErrInvalidKey)
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// FromHex returns a Hasher over a hexadecimal key (64 characters for 32 bytes; surrounding space ignored).
func FromHex(s string) (*Hasher, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: not hexadecimal", ErrInvalidKey) // never echo the key
	}
	return New(k)
}

// FromBase64 returns a Hasher over a base64 key (standard or URL alphabet, padded or not; surrounding space
// ignored).
func FromBase64(s string) (*Hasher, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return New(k)
		}
	}
	return nil, fmt.Errorf("%w: not base64", ErrInvalidKey)
}

// LoadOrCreateKeyFile returns a Hasher over the key kept in the file at path, creating the file with a new random
// key (KeySize bytes, written as 64 hexadecimal characters and a newline, mode 0600; the directory is created with
// mode 0700 if missing) when it does not exist. Creation is atomic: the key is written to a temporary file that is
// then linked to path, so two processes starting together agree on one key and none reads a half-written file.
// An existing file must not be readable by group or others; it may hold the hexadecimal form (so that
// DOSSIER_SECRET_KEY_FILE can point at it) or exactly KeySize raw bytes.
func LoadOrCreateKeyFile(path string) (*Hasher, error) {
	return secretfile.LoadOrCreate(path, "server key", KeySize, func(b []byte) (*Hasher, error) {
		if len(b) == KeySize {
			return New(b)
		}
		return FromHex(string(b))
	})
}

// mac returns the HMAC-SHA256 of label and parts, each length-prefixed.
func (h *Hasher) mac(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, h.key)
	write(m, label)
	for _, p := range parts {
		write(m, p)
	}
	return m.Sum(nil)
}

func write(m hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	m.Write(n[:])
	m.Write([]byte(s))
}

// StreamFor returns the id of the lookup stream of canonical (a canonical NIR body, say) for purpose (the stream's
// category, such as "insured" or "nirclaim"): uuid.NewSHA1(Namespace, HMAC-SHA256(key, purpose, canonical)).
// The same inputs always give the same id under the same key; without the key, the id tells nothing about them.
// Callers must canonicalise first (nir.NIR.Body()): different spellings give different ids.
func (h *Hasher) StreamFor(purpose, canonical string) uuid.UUID {
	return uuid.NewSHA1(Namespace, h.mac(labelStream, purpose, canonical))
}

// Digest returns the keyed digest (32 bytes) of a one-time code: HMAC-SHA256(key, purpose, subject, code).
// purpose names the kind of code ("activation", "email-change", "password-reset"), subject what it is bound to
// (the registration or member id), so a code is good for one purpose and one subject only.
func (h *Hasher) Digest(purpose, subject, code string) []byte {
	return h.mac(labelDigest, purpose, subject, code)
}

// Verify reports, in constant time, whether digest is the Digest of code for purpose and subject.
func (h *Hasher) Verify(purpose, subject, code string, digest []byte) bool {
	return hmac.Equal(h.Digest(purpose, subject, code), digest)
}

// String hides the key.
func (h *Hasher) String() string { return "keyedhash.Hasher(key redacted)" }

// Format hides the key for every verb.
func (h *Hasher) Format(f fmt.State, _ rune) { fmt.Fprint(f, h.String()) }

// LogValue hides the key.
func (h *Hasher) LogValue() slog.Value { return slog.StringValue(h.String()) }
