package keystore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// must not be readable by group or others.
func LoadOrCreateKEKFile(path string) ([]byte, error) {
	k, err := loadKEKFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := createKEKFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return loadKEKFile(path)
}

func loadKEKFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data KEK file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("data KEK file %s: not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("data KEK file %s: mode %04o lets others read it; want 0600 (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data KEK file: %w", err)
	}
	k, err := ParseKEK(string(b))
	if err != nil {
		return nil, fmt.Errorf("data KEK file %s: %w", path, err)
	}
	return k, nil
}

func createKEKFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data KEK directory: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("generate a data KEK: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".data-kek-*")
	if err != nil {
		return fmt.Errorf("create the data KEK file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(k) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the data KEK file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create the data KEK file: %w", err) // fs.ErrExist: another process won the race
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}
