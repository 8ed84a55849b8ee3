// Package credentials implements the secrets of domain/credential: password hashing with argon2id, TOTP second
// factors for staff (RFC 6238) and random session tokens.
package credentials

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrMalformedHash is a stored password hash that is not an argon2id PHC string this package can verify: a
// corrupted row or an event written by something else. It is an internal error, never the member's fault.
var ErrMalformedHash = failure.New(failure.Internal, "credentials.malformed_hash", "malformed password hash")

// ErrWeakParams refuses argon2id parameters below the OWASP minimum.
var ErrWeakParams = errors.New("credentials: argon2id parameters below the OWASP Password Storage Cheat Sheet minimum")

// Params are argon2id's cost parameters (RFC 9106) and output sizes.
type Params struct {
	// Memory is the memory cost in KiB (m).
	Memory uint32
	// Time is the number of passes over the memory (t).
	Time uint32
	// Threads is the degree of parallelism (p).
	Threads uint8
	// SaltLen and KeyLen are the salt and derived key lengths in bytes.
	SaltLen, KeyLen uint32
}

// DefaultParams are the parameters of new hashes: m = 64 MiB, t = 3, p = 1, 16-byte salt, 32-byte key.
//
// Sources: the OWASP Password Storage Cheat Sheet asks for argon2id with at least m = 19 MiB, t = 2, p = 1 (or an
// equivalent trade of memory for passes, see OWASPMinimum); RFC 9106 §4 recommends m = 64 MiB, t = 3 for memory
// constrained settings. We take RFC 9106's memory and passes, above the OWASP floor, and p = 1 because the servers
// have 2 cores that concurrent logins already share (p > 1 only shortens one hash by using more cores at once).
//
// Measured on the project machine (AMD EPYC, 2 cores, Go 1.26, load about 2 from other jobs, November 2026):
// 115 to 160 ms per hash (BenchmarkHash; the OWASP minimum takes 22 to 28 ms, BenchmarkHashOWASPMinimum), within
// the 250 ms we allow a login. Re-measure with go test -run '^$' -bench . ./adapters/credentials on new hardware.
// Each hash in flight holds 64 MiB; Hasher bounds how many run at once.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// OWASPMinimum reports whether p reaches one of the equivalent argon2id configurations of the OWASP Password
// Storage Cheat Sheet (m=46 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4, m=7 MiB t=5, all p=1), with a salt of
// at least 16 bytes and a key of at least 16.
func (p Params) OWASPMinimum() bool {
	floors := []struct{ memory, time uint32 }{{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5}}
	strong := false
	for _, f := range floors {
		if p.Memory >= f.memory && p.Time >= f.time {
			strong = true
		}
	}
	return strong && p.Threads >= 1 && p.SaltLen >= 16 && p.KeyLen >= 16
}

// Limits on parameters read back from a stored hash, so that a corrupted or hostile row cannot make the server
// allocate gigabytes or spin for minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 64
	maxThreads = 64
	maxSaltLen = 64
	maxKeyLen  = 128
)

// sane reports whether p can be computed at all and stays within the limits above.
func (p Params) sane() bool {
	return p.Time >= 1 && p.Time <= maxTime && p.Threads >= 1 && p.Threads <= maxThreads &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxMemory &&
		p.SaltLen >= 8 && p.SaltLen <= maxSaltLen && p.KeyLen >= 16 && p.KeyLen <= maxKeyLen
}

// Config configures a Hasher.
type Config struct {
	// Params for new hashes; the zero value means DefaultParams. Below the OWASP minimum, NewHasher fails.
	Params Params
	// MaxConcurrent bounds the hashes computed at once (each holds Params.Memory); 0 means GOMAXPROCS. Callers
	// beyond it wait, or give up when their context ends.
	MaxConcurrent int
	// Rand is the salt source; nil means crypto/rand.
	Rand io.Reader
}

// Hasher hashes and verifies passwords with argon2id, in the PHC string format
//
//	$argon2id$v=19$m=65536,t=3,p=1$<salt>$<key>
//
// (salt and key in unpadded standard base64), the format of the reference implementation and of libsodium, so
// that hashes can move to another stack. The whole password is hashed after Unicode NFC normalisation (the same
// text typed on two keyboards may arrive composed or decomposed); nothing is truncated. Safe for concurrent use.
type Hasher struct {
	params Params
	rand   io.Reader
	slots  chan struct{}
	dummy  func() (string, error)
}

// NewHasher returns a Hasher for cfg.
func NewHasher(cfg Config) (*Hasher, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if !cfg.Params.sane() {
		return nil, fmt.Errorf("credentials: argon2id parameters %+v out of range", cfg.Params)
	}
	if !cfg.Params.OWASPMinimum() {
		return nil, fmt.Errorf("%w: %+v", ErrWeakParams, cfg.Params)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	h := &Hasher{params: cfg.Params, rand: cfg.Rand, slots: make(chan struct{}, cfg.MaxConcurrent)}
	h.dummy = sync.OnceValues(func() (string, error) {
		return h.Hash(context.Background(), "dummy password, never a member's")
	})
	return h, nil
}

// Params returns the parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password with a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("credentials: read salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches the PHC string encoded, comparing in constant time. A wrong password is
// (false, nil); a malformed hash is ErrMalformedHash; a context that ends while waiting for a slot is its error.
// A hash made with other parameters than the current ones still verifies (see NeedsRehash).
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy does the work of a Verify against a hash of nothing and returns its error only. Call it when the
// login names no known account, so that an unknown NIR answers as slowly as a known one (no enumeration by
// timing).
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	encoded, err := h.dummy()
	if err != nil {
		return err
	}
	_, err = h.Verify(ctx, password, encoded)
	return err
}

// NeedsRehash reports whether encoded was made with other parameters than the current ones (or cannot be read):
// after a successful login, hash the password again and record the new hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decodePHC(encoded)
	return err != nil || p != h.params
}

// ParamsOf returns the parameters recorded in a PHC string.
func ParamsOf(encoded string) (Params, error) {
	p, _, _, err := decodePHC(encoded)
	return p, err
}

// derive runs argon2id in one of the hasher's slots.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("credentials: waiting to hash: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(norm.NFC.String(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

var b64 = base64.RawStdEncoding

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses a PHC argon2id string strictly: version 19 only, parameters in the order m, t, p, unpadded
// base64, values within the sanity limits.
func decodePHC(encoded string) (Params, []byte, []byte, error) {
	malformed := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" {
		return malformed("not a PHC string")
	}
	if f[1] != "argon2id" {
		return malformed("algorithm is not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed("unsupported argon2 version")
	}
	var p Params
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return malformed("parameters are not m, t, p")
	}
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(kv[i], "=")
		if !ok || k != name || v == "" || (len(v) > 1 && v[0] == '0') {
			return malformed("parameters are not m, t, p")
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return malformed("parameter " + name + " out of range")
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			p.Threads = uint8(n)
		}
	}
	salt, err := b64.Strict().DecodeString(f[4])
	if err != nil {
		return malformed("salt is not unpadded base64")
	}
	key, err := b64.Strict().DecodeString(f[5])
	if err != nil {
		return malformed("hash is not unpadded base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if !p.sane() {
		return malformed("parameters out of range")
	}
	return p, salt, key, nil
}
