package eventtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// MemorySealer is an in-memory event.Sealer for tests: one random AES-256-GCM key per subject, created on first
// Seal and kept in a map; Erase destroys a subject's key, after which Seal and Open say event.ErrErased. Opening for
// a subject that never had a key is an error (not ErrErased), as in the real key store. Safe for concurrent use.
type MemorySealer struct {
	mu     sync.Mutex
	keys   map[uuid.UUID]cipher.AEAD
	erased map[uuid.UUID]bool
}

// NewMemorySealer returns a sealer without keys.
func NewMemorySealer() *MemorySealer {
	return &MemorySealer{keys: map[uuid.UUID]cipher.AEAD{}, erased: map[uuid.UUID]bool{}}
}

// errNoKey is Open for a subject that never had a key.
var errNoKey = errors.New("eventtest: no data key for this subject")

// Seal encrypts plaintext under subject's key (nonce || ciphertext), creating the key on first use.
func (s *MemorySealer) Seal(subject uuid.UUID, aad, plaintext []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.erased[subject] {
		return nil, event.ErrErased
	}
	aead, ok := s.keys[subject]
	if !ok {
		key := make([]byte, 32)
		rand.Read(key)
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
		s.keys[subject] = aead
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts what Seal returned for subject and aad.
func (s *MemorySealer) Open(subject uuid.UUID, aad, sealed []byte) ([]byte, error) {
	s.mu.Lock()
	aead, ok := s.keys[subject]
	erased := s.erased[subject]
	s.mu.Unlock()
	switch {
	case erased:
		return nil, event.ErrErased
	case !ok:
		return nil, fmt.Errorf("%w: %s", errNoKey, subject)
	case len(sealed) < aead.NonceSize():
		return nil, errors.New("eventtest: sealed value too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// Erase destroys the keys of subjects: what was sealed for them reads as erased from then on.
func (s *MemorySealer) Erase(subjects ...uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range subjects {
		delete(s.keys, id)
		s.erased[id] = true
	}
}

// Has reports whether subject has a key (Seal was called for it and it was not erased).
func (s *MemorySealer) Has(subject uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[subject]
	return ok
}
