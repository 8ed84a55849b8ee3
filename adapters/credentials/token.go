package credentials

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/msa-dossier/dossier/domain/failure"
)

// TokenBytes is the entropy of a session token: 256 bits, far beyond guessing even with many sessions open.
const TokenBytes = 32

// TokenLength is the length of a token in characters: TokenBytes in unpadded base64url.
const TokenLength = 43

// ErrMalformedToken is a presented session token that cannot be one we issued (wrong length or alphabet); the
// caller answers it like an unknown token.
var ErrMalformedToken = failure.New(failure.Unauthenticated, "session.malformed_token", "malformed session token")

// NewToken returns a new session token, to give to the client (cookie or Bearer), and its SHA-256 digest, the
// only form stored server-side: a leaked sessions table then opens no session. It reads crypto/rand, which in Go
// 1.24 and later never fails (the program crashes if the system's generator does).
func NewToken() (token string, digest [32]byte) {
	var b [TokenBytes]byte
	_, _ = rand.Read(b[:]) // documented to never return an error
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, DigestOf(token)
}

// NewTokenFrom is NewToken with another random source, which may fail.
func NewTokenFrom(random io.Reader) (string, [32]byte, error) {
	var b [TokenBytes]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("credentials: new token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	return token, DigestOf(token), nil
}

// DigestOf returns the SHA-256 of token as presented, the key to look a session up. A plain hash suffices: the
// token has 256 bits of entropy, so nothing can be learnt by guessing from a digest.
func DigestOf(token string) [32]byte {
	return sha256.Sum256([]byte(token))
}

// ParseToken checks that token has the shape of one we issue and returns its digest, so that a malformed header
// is refused before any lookup: ErrMalformedToken otherwise.
func ParseToken(token string) ([32]byte, error) {
	if len(token) != TokenLength {
		return [32]byte{}, ErrMalformedToken
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != TokenBytes {
		return [32]byte{}, ErrMalformedToken
	}
	return DigestOf(token), nil
}
