package keystore

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/msa-dossier/dossier/adapters/secretfile"
)

// ParseKEK decodes a KEK given as 64 hexadecimal characters (surrounding space ignored); the error never echoes it.
func ParseKEK(s string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("a KEK is %d hexadecimal characters (%d bytes)", 2*KeySize, KeySize)
	}
	return k, nil
}

// LoadOrCreateKEKFile returns the KEK kept in the file at path (64 hexadecimal characters), creating the file with a
// new random KEK (mode 0600, its directory 0700) when it does not exist: the embedded default's KEK. Creation is
// atomic (a temporary file linked to path), so two processes starting together agree on one KEK. An existing file
// must not be readable by group or others (see secretfile.LoadOrCreate).
func LoadOrCreateKEKFile(path string) ([]byte, error) {
	return secretfile.LoadOrCreate(path, "data KEK", KeySize, func(b []byte) ([]byte, error) { return ParseKEK(string(b)) })
}
