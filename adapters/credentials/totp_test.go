package credentials

import (
	"bytes"
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

// The RFC 6238 appendix B seeds: ASCII "1234567890" repeated to the hash's block of key bytes.
var rfcSeeds = map[otp.Algorithm]string{
	otp.AlgorithmSHA1:   "12345678901234567890",
	otp.AlgorithmSHA256: "12345678901234567890123456789012",
	otp.AlgorithmSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
}

func b32(s string) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(s))
}

// TestRFC6238Vectors runs the library on the test vectors of RFC 6238 appendix B (8 digits, 30-second steps).
func TestRFC6238Vectors(t *testing.T) {
	vectors := []struct {
		unix int64
		alg  otp.Algorithm
		code string
	}{
		{59, otp.AlgorithmSHA1, "94287082"},
		{59, otp.AlgorithmSHA256, "46119246"},
		{59, otp.AlgorithmSHA512, "90693936"},
		{1111111109, otp.AlgorithmSHA1, "07081804"},
		{1111111109, otp.AlgorithmSHA256, "68084774"},
		{1111111109, otp.AlgorithmSHA512, "25091201"},
		{1111111111, otp.AlgorithmSHA1, "14050471"},
		{1111111111, otp.AlgorithmSHA256, "67062674"},
		{1111111111, otp.AlgorithmSHA512, "99943326"},
		{1234567890, otp.AlgorithmSHA1, "89005924"},
		{1234567890, otp.AlgorithmSHA256, "91819424"},
		{1234567890, otp.AlgorithmSHA512, "93441116"},
		{2000000000, otp.AlgorithmSHA1, "69279037"},
		{2000000000, otp.AlgorithmSHA256, "90698825"},
		{2000000000, otp.AlgorithmSHA512, "38618901"},
		{20000000000, otp.AlgorithmSHA1, "65353130"},
		{20000000000, otp.AlgorithmSHA256, "77737706"},
		{20000000000, otp.AlgorithmSHA512, "47863826"},
	}
	for _, v := range vectors {
		opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: v.alg}
		at := time.Unix(v.unix, 0).UTC()
		secret := b32(rfcSeeds[v.alg])
		got, err := totp.GenerateCodeCustom(secret, at, opts)
		if err != nil || got != v.code {
			t.Errorf("T=%d %s: GenerateCodeCustom = %q, %v; want %s", v.unix, v.alg, got, err, v.code)
		}
		if ok, err := totp.ValidateCustom(v.code, secret, at, opts); !ok || err != nil {
			t.Errorf("T=%d %s: ValidateCustom(%s) = %v, %v", v.unix, v.alg, v.code, ok, err)
		}
		wrong := []byte(v.code)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10
		if ok, _ := totp.ValidateCustom(string(wrong), secret, at, opts); ok {
			t.Errorf("T=%d %s: ValidateCustom accepted %s", v.unix, v.alg, wrong)
		}
	}
}

func TestEnrol(t *testing.T) {
	seed := []byte(rfcSeeds[otp.AlgorithmSHA1])
	e, err := NewTOTP(bytes.NewReader(seed)).Enrol("camille.martin")
	if err != nil {
		t.Fatal(err)
	}
	if e.Secret != b32(string(seed)) {
		t.Fatalf("secret %q, want the base32 of the random bytes", e.Secret)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Dossier MSA:camille.martin" {
		t.Fatalf("URL %q: scheme %q host %q path %q", e.URL, u.Scheme, u.Host, u.Path)
	}
	q := u.Query()
	for k, want := range map[string]string{"secret": e.Secret, "issuer": "Dossier MSA", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if got := q.Get(k); got != want {
			t.Errorf("URL parameter %s = %q, want %q", k, got, want)
		}
	}
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil || key.Issuer() != TOTPIssuer || key.AccountName() != "camille.martin" || key.Secret() != e.Secret {
		t.Fatalf("the library reads the URL back as %v, %v", key, err)
	}

	// With the system's random source: 20 bytes, different each time.
	a, errA := NewTOTP(nil).Enrol("camille.martin")
	b, errB := NewTOTP(nil).Enrol("camille.martin")
	if errA != nil || errB != nil || a.Secret == b.Secret {
		t.Fatalf("random enrolments: %v %v, secrets equal: %v", errA, errB, a.Secret == b.Secret)
	}
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(a.Secret); err != nil || len(raw) != TOTPSecretSize {
		t.Fatalf("secret %q decodes to %d bytes, %v", a.Secret, len(raw), err)
	}
	if _, err := NewTOTP(bytes.NewReader([]byte{1, 2, 3})).Enrol("camille.martin"); err == nil {
		t.Fatal("an exhausted random source must fail the enrolment")
	}
	if _, err := NewTOTP(nil).Enrol(""); err == nil {
		t.Fatal("an enrolment without account must fail")
	}
}

// TestValidate uses the RFC 6238 SHA-1 seed with our six digits: the RFC's 8-digit codes modulo 10^6.
func TestValidate(t *testing.T) {
	tp := NewTOTP(nil)
	secret := b32(rfcSeeds[otp.AlgorithmSHA1])
	at := func(unix int64) time.Time { return time.Unix(unix, 0) }
	tests := []struct {
		name     string
		code     string
		now      time.Time
		lastStep int64
		wantStep int64
		wantErr  error
	}{
		{"RFC T=59, first use", "287082", at(59), 0, 1, nil},
		{"RFC T=1111111109", "081804", at(1111111109), 0, 37037036, nil},
		{"RFC T=1234567890", "005924", at(1234567890), 37037036, 41152263, nil},
		{"RFC T=20000000000", "353130", at(20000000000), 0, 666666666, nil},
		{"spaces as shown by applications", "287 082", at(59), 0, 1, nil},
		{"previous step accepted (skew)", "287082", at(89), 0, 1, nil},
		{"next step accepted (skew)", "287082", at(29), 0, 1, nil},
		{"two steps late refused", "287082", at(95), 0, 0, ErrTOTPInvalid},
		{"two steps early refused", "081804", at(1111111109 - 60), 0, 0, ErrTOTPInvalid},
		{"same step again is a replay", "287082", at(59), 1, 0, ErrTOTPReplayed},
		{"older step is a replay", "287082", at(89), 2, 0, ErrTOTPReplayed},
		{"wrong code", "287083", at(59), 0, 0, ErrTOTPInvalid},
		{"eight digits", "94287082", at(59), 0, 0, ErrTOTPInvalid},
		{"five digits", "28708", at(59), 0, 0, ErrTOTPInvalid},
		{"letters", "abcdef", at(59), 0, 0, ErrTOTPInvalid},
		{"empty", "", at(59), 0, 0, ErrTOTPInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := tp.Validate(secret, tt.code, tt.now, tt.lastStep)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, failure.Unauthenticated) {
					t.Fatalf("Validate = %d, %v; want %v", step, err, tt.wantErr)
				}
				return
			}
			if err != nil || step != tt.wantStep {
				t.Fatalf("Validate = %d, %v; want step %d", step, err, tt.wantStep)
			}
			if step <= tt.lastStep {
				t.Fatalf("accepted step %d is not after the last one %d", step, tt.lastStep)
			}
		})
	}
}

// TestValidateReplaySequence follows one staff member's logins: each accepted step is stored and passed back.
func TestValidateReplaySequence(t *testing.T) {
	// A fixed secret and fixed instants keep the run deterministic (the codes of consecutive steps differ).
	tp := NewTOTP(bytes.NewReader([]byte("a fixed 20-byte seed")))
	e, err := tp.Enrol("camille.martin")
	if err != nil {
		t.Fatal(err)
	}
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	codeAt := func(now time.Time) string {
		c, err := totp.GenerateCodeCustom(e.Secret, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t0 := time.Date(2026, 11, 25, 9, 0, 10, 0, time.UTC)
	var last int64

	// Enrolment confirmed with the current code.
	step, err := tp.Validate(e.Secret, codeAt(t0), t0, last)
	if err != nil || step != TOTPStep(t0) {
		t.Fatalf("first code: %d, %v", step, err)
	}
	last = step

	// The same code ten seconds later (same step): replay.
	if _, err := tp.Validate(e.Secret, codeAt(t0), t0.Add(10*time.Second), last); !errors.Is(err, ErrTOTPReplayed) {
		t.Fatalf("same code again: %v, want replay", err)
	}
	// A phone running 30 s fast: the next step's code is accepted now, and then the current one is refused.
	ahead := codeAt(t0.Add(TOTPPeriod))
	if ahead == codeAt(t0) {
		t.Fatal("choose another seed: two consecutive codes are equal")
	}
	if step, err = tp.Validate(e.Secret, ahead, t0.Add(5*time.Second), last); err != nil || step != last+1 {
		t.Fatalf("code of the next step: %d, %v", step, err)
	}
	last = step
	if _, err := tp.Validate(e.Secret, codeAt(t0), t0.Add(5*time.Second), last); !errors.Is(err, ErrTOTPReplayed) {
		t.Fatalf("older step after a newer one: %v, want replay", err)
	}
	// A minute later, a fresh code is accepted.
	later := t0.Add(2 * time.Minute)
	if step, err = tp.Validate(e.Secret, codeAt(later), later, last); err != nil || step != TOTPStep(later) {
		t.Fatalf("later code: %d, %v", step, err)
	}
}

func TestValidateBadSecret(t *testing.T) {
	_, err := NewTOTP(nil).Validate("not base32 at all!", "123456", time.Unix(59, 0), 0)
	if err == nil || errors.Is(err, ErrTOTPInvalid) || failure.KindOf(err) != failure.Internal {
		t.Fatalf("a corrupted secret must be an internal error, not the staff member's fault: %v", err)
	}
}

func TestTOTPStep(t *testing.T) {
	for _, tt := range []struct {
		unix int64
		step int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {1111111109, 37037036}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := TOTPStep(time.Unix(tt.unix, 0)); got != tt.step {
			t.Errorf("TOTPStep(%d) = %d, want %d", tt.unix, got, tt.step)
		}
	}
	if m, _ := messages.FR(ErrTOTPInvalid.Code); !strings.Contains(m, "incorrect") {
		t.Errorf("ErrTOTPInvalid message %q", m)
	}
}
