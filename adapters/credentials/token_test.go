package credentials

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/msa-dossier/dossier/domain/failure"
)

func TestNewToken(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		token, digest := NewToken()
		if len(token) != TokenLength {
			t.Fatalf("token %q has %d characters, want %d", token, len(token), TokenLength)
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != TokenBytes {
			t.Fatalf("token %q is not %d bytes of base64url: %v", token, TokenBytes, err)
		}
		if digest != sha256.Sum256([]byte(token)) || digest != DigestOf(token) {
			t.Fatal("digest is not the SHA-256 of the token")
		}
		if got, err := ParseToken(token); err != nil || got != digest {
			t.Fatalf("ParseToken(%q) = %x, %v", token, got, err)
		}
		if seen[token] {
			t.Fatal("the same token twice")
		}
		seen[token] = true
	}
}

func TestNewTokenFrom(t *testing.T) {
	seq := make([]byte, TokenBytes)
	for i := range seq {
		seq[i] = byte(i)
	}
	token, digest, err := NewTokenFrom(bytes.NewReader(seq))
	if err != nil || token != "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" || digest != DigestOf(token) {
		t.Fatalf("NewTokenFrom = %q, %x, %v", token, digest, err)
	}
	if _, _, err := NewTokenFrom(bytes.NewReader(seq[:10])); err == nil {
		t.Fatal("a short random source must fail")
	}
}

func TestParseTokenMalformed(t *testing.T) {
	good, _, _ := NewTokenFrom(bytes.NewReader(make([]byte, TokenBytes))) // "AAAA...A"
	for _, tok := range []string{
		"",
		good[:TokenLength-1],
		good + "A",
		good[:TokenLength-1] + "B", // non-zero padding bits: not a canonical encoding
		"+" + good[1:],             // standard base64 alphabet
		"/" + good[1:],
		good[:TokenLength-1] + "=",
		"Bearer " + good[7:],
	} {
		_, err := ParseToken(tok)
		if !errors.Is(err, ErrMalformedToken) || !errors.Is(err, failure.Unauthenticated) {
			t.Errorf("ParseToken(%q) = %v, want ErrMalformedToken", tok, err)
		}
	}
}
