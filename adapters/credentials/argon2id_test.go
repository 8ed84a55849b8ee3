package credentials

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

// testParams is the cheapest configuration the OWASP cheat sheet accepts (m = 7 MiB, t = 5): real argon2id, fast
// enough to run many times under the race detector.
var testParams = Params{Memory: 7168, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB, p Params) *Hasher {
	t.Helper()
	h, err := NewHasher(Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=7168,t=5,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams)
	const pw = "correct horse battery staple"
	encoded, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !phcPattern.MatchString(encoded) {
		t.Fatalf("hash %q is not a PHC argon2id string with the configured parameters", encoded)
	}
	again, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if again == encoded {
		t.Fatal("two hashes of the same password are equal: the salt is not random")
	}

	long := strings.Repeat("é", 100) + "la vache rousse broute." + "x" // 124 code points, 228 bytes
	longHash, err := h.Hash(ctx, long)
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, pw, encoded string
		want              bool
	}{
		{"same password", pw, encoded, true},
		{"second hash", pw, again, true},
		{"one character less", pw[:len(pw)-1], encoded, false},
		{"other case", strings.ToUpper(pw), encoded, false},
		{"trailing space is part of the password", pw + " ", encoded, false},
		{"empty", "", encoded, false},
		{"long password", long, longHash, true},
		{"long password, last character differs: no truncation", long[:len(long)-1] + "y", longHash, false},
		{"long password, first character differs", "e" + long[2:], longHash, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, tt.pw, tt.encoded)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
}

// TestVerifyReferenceVectors checks our PHC parsing and derivation against hashes made by the reference
// implementation (the argon2 command of the phc-winner-argon2 project, Debian package argon2 0~20190702):
//
//	printf 'correct horse battery staple' | argon2 saltsaltsaltsalt -id -t 3 -m 13 -p 1 -l 32 -e
//
// The second is the NFC (composed) UTF-8 of "mot de passe élégant"; verifying it with the decomposed form proves
// the normalisation.
func TestVerifyReferenceVectors(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, testParams)
	const (
		horse   = "$argon2id$v=19$m=8192,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$nHTSJkE71CB619DKwa3LBe96xiobDLDrhWGFanKBZHY"
		elegant = "$argon2id$v=19$m=8192,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$GMxUyHXtngJD7Rd+3e8POeRmjfFA55VCM4jgxqZvuUU"
	)
	for _, tt := range []struct {
		name, pw, encoded string
		want              bool
	}{
		{"reference hash", "correct horse battery staple", horse, true},
		{"reference hash, wrong password", "correct horse battery staplE", horse, false},
		{"composed é", "mot de passe \u00e9l\u00e9gant", elegant, true},
		{"decomposed é (e + U+0301) is normalised", "mot de passe e\u0301le\u0301gant", elegant, true},
		{"unaccented is another password", "mot de passe elegant", elegant, false},
	} {
		ok, err := h.Verify(ctx, tt.pw, tt.encoded)
		if err != nil || ok != tt.want {
			t.Errorf("%s: Verify = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	p, err := ParamsOf(horse)
	if err != nil || p != (Params{Memory: 8192, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Fatalf("ParamsOf = %+v, %v", p, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newTestHasher(t, testParams)
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "nHTSJkE71CB619DKwa3LBe96xiobDLDrhWGFanKBZHY"
	for _, encoded := range []string{
		"",
		"correct horse battery staple",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", // bcrypt
		"$argon2i$v=19$m=8192,t=3,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=8192,t=3,p=1$" + salt + "$" + key,
		"$argon2id$m=8192,t=3,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=3,m=8192,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=3$" + salt + "$" + key,
		"$argon2id$v=19$m=08192,t=3,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=3,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=3,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=3,p=1$" + salt + "$" + key, // 4 TiB: refused, not allocated
		"$argon2id$v=19$m=8192,t=1000000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=3,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=8192,t=3,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=8192,t=3,p=1$" + salt + "$" + key[:len(key)-1] + "-", // base64url alphabet
		"$argon2id$v=19$m=8192,t=3,p=1$$" + key,
		"$argon2id$v=19$m=8192,t=3,p=1$" + salt + "$" + key[:10],
		"$argon2id$v=19$m=8192,t=3,p=1$" + salt + "$" + key + "$extra",
	} {
		ok, err := h.Verify(context.Background(), "correct horse battery staple", encoded)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", encoded, ok, err)
			continue
		}
		if failure.CodeOf(err) != "credentials.malformed_hash" || failure.KindOf(err) != failure.Internal {
			t.Errorf("Verify(%q): code %s kind %v", encoded, failure.CodeOf(err), failure.KindOf(err))
		}
		if !h.NeedsRehash(encoded) {
			t.Errorf("NeedsRehash(%q) = false for an unreadable hash", encoded)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := newTestHasher(t, testParams)
	encoded, err := old.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if old.NeedsRehash(encoded) {
		t.Fatal("a hash with the current parameters needs no rehash")
	}
	for _, p := range []Params{
		{Memory: 7168, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 9216, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 7168, Time: 5, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 7168, Time: 5, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 7168, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		h := newTestHasher(t, p)
		if !h.NeedsRehash(encoded) {
			t.Errorf("hasher %+v: NeedsRehash = false for a hash made with %+v", p, testParams)
		}
		// The old hash still verifies under the new hasher: the member logs in, then is rehashed.
		if ok, err := h.Verify(ctx, "correct horse battery staple", encoded); !ok || err != nil {
			t.Errorf("hasher %+v cannot verify an older hash: %v, %v", p, ok, err)
		}
		rehashed, err := h.Hash(ctx, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if h.NeedsRehash(rehashed) {
			t.Errorf("hasher %+v: the new hash still needs a rehash", p)
		}
	}
}

func TestNewHasherParams(t *testing.T) {
	if !DefaultParams().OWASPMinimum() {
		t.Fatal("DefaultParams is below the OWASP minimum")
	}
	if p := (Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}); !p.OWASPMinimum() {
		t.Fatal("the OWASP reference configuration m=19 MiB t=2 p=1 is refused")
	}
	h, err := NewHasher(Config{})
	if err != nil || h.Params() != DefaultParams() {
		t.Fatalf("zero Config: %v, %+v", err, h)
	}
	for _, p := range []Params{
		{Memory: 19456, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, // OWASP needs t=2 at 19 MiB
		{Memory: 47103, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 7168, Time: 4, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 65536, Time: 3, Threads: 1, SaltLen: 8, KeyLen: 32},
	} {
		if _, err := NewHasher(Config{Params: p}); !errors.Is(err, ErrWeakParams) {
			t.Errorf("NewHasher(%+v) = %v, want ErrWeakParams", p, err)
		}
	}
	if _, err := NewHasher(Config{Params: Params{Memory: 65536, Time: 3, Threads: 0, SaltLen: 16, KeyLen: 32}}); err == nil {
		t.Error("NewHasher accepted zero threads")
	}
}

// TestDefaultParamsRoundTrip runs the production parameters once (64 MiB, t=3).
func TestDefaultParamsRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newTestHasher(t, DefaultParams())
	start := time.Now()
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one argon2id hash with DefaultParams took %v (race detector and shared cores included)", time.Since(start))
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=65536,t=3,p=1$") {
		t.Fatalf("hash %q does not record the default parameters", encoded)
	}
	if ok, err := h.Verify(ctx, "correct horse battery staple", encoded); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t, testParams)
	if err := h.VerifyDummy(context.Background(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	encoded, err := h.dummy()
	if err != nil || !phcPattern.MatchString(encoded) {
		t.Fatalf("dummy hash %q, %v", encoded, err)
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	h, err := NewHasher(Config{Params: testParams, MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = h.Verify(ctx, "correct horse battery staple", encoded)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with no free slot = %v, want the context's deadline", err)
	}
	<-h.slots

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			ok, err := h.Verify(context.Background(), "correct horse battery staple", encoded)
			if err == nil && !ok {
				err = errors.New("verify failed")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkHash measures DefaultParams on this machine: the figure documented on DefaultParams.
func BenchmarkHash(b *testing.B) {
	h := newTestHasher(b, DefaultParams())
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashOWASPMinimum measures the OWASP floor (m = 19 MiB, t = 2, p = 1), for comparison.
func BenchmarkHashOWASPMinimum(b *testing.B) {
	h := newTestHasher(b, Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
