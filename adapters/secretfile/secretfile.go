// Package secretfile keeps a secret key in a file that only its owner may read: the embedded default's server key
// (adapters/keyedhash) and data KEK (adapters/keystore). It reads and creates the file; what the bytes mean is the
// caller's (parse).
package secretfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreate returns parse of the contents of the file at path, creating the file with a new random key of size
// bytes (written as hexadecimal characters and a newline, mode 0600; its directory is created with mode 0700 if
// missing) when it does not exist. Creation is atomic: the key is written to a temporary file that is then linked
// to path, so two processes starting together agree on one key and none reads a half-written file. An existing file
// must be a regular file not readable by group or others.
//
// what names the key in errors ("data KEK", "server key": "data KEK file: …", "create the server key file: …");
// parse's errors are given the prefix "<what> file <path>: " (they must not echo the key).
func LoadOrCreate[T any](path, what string, size int, parse func([]byte) (T, error)) (T, error) {
	v, err := load(path, what, parse)
	if !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	if err := create(path, what, size); err != nil && !errors.Is(err, fs.ErrExist) {
		var zero T
		return zero, err
	}
	return load(path, what, parse)
}

func load[T any](path, what string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	info, err := os.Stat(path)
	if err != nil {
		return zero, fmt.Errorf("%s file: %w", what, err)
	}
	if !info.Mode().IsRegular() {
		return zero, fmt.Errorf("%s file %s: not a regular file", what, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return zero, fmt.Errorf("%s file %s: mode %04o lets others read it; want 0600 (chmod 600 %s)", what, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("%s file: %w", what, err)
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s file %s: %w", what, path, err)
	}
	return v, nil
}

func create(path, what string, size int) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%s directory: %w", what, err)
	}
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate a %s: %w", what, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("create the %s file: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
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
		return fmt.Errorf("write the %s file: %w", what, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create the %s file: %w", what, err) // fs.ErrExist: another process won the race
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return nil
}
