package credential

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

func TestNewCode(t *testing.T) {
	seen := make(map[string]bool)
	var digitCount [10]int
	for range 2000 {
		code, err := NewCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := NormalizeCode(code); err != nil || got != code {
			t.Fatalf("NewCode gave %q, which NormalizeCode refuses (%v)", code, err)
		}
		seen[code] = true
		for _, c := range code {
			digitCount[c-'0']++
		}
	}
	// 2000 draws among 10^8: a collision has probability 2%; more than 3 means a broken generator.
	if len(seen) < 1997 {
		t.Fatalf("only %d distinct codes out of 2000", len(seen))
	}
	// 16,000 digits: each should appear about 1,600 times; 1,300..1,900 is beyond 7 standard deviations.
	for d, n := range digitCount {
		if n < 1300 || n > 1900 {
			t.Fatalf("digit %d appears %d times in 16,000: not uniform", d, n)
		}
	}
}

func TestNewCodeDeterministic(t *testing.T) {
	tests := []struct {
		name    string
		random  []byte
		want    string
		wantErr bool
	}{
		{"zero", []byte{0, 0, 0, 0}, "00000000", false},
		{"keeps leading zeros", []byte{0, 0, 0x30, 0x39}, "00012345", false},
		{"largest accepted value", []byte{0xFA, 0x56, 0xE9, 0xFF}, "99999999", false}, // 4,199,999,999
		{"first rejected value is skipped", []byte{0xFA, 0x56, 0xEA, 0x00, 0, 0, 0, 7}, "00000007", false},
		{"short source", []byte{1, 2}, "", true},
		{"source that always rejects", bytes.Repeat([]byte{0xFF}, 4*64), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewCode(bytes.NewReader(tt.random))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("NewCode = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := NewCode(bytes.NewReader([]byte{1})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a failing source must be reported with its cause, got %v", err)
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"12345678", "12345678"},
		{"1234 5678", "12345678"},
		{" 1234-5678 ", "12345678"},
		{"1234\u00a05678", "12345678"},
		{"1234567", ""},
		{"123456789", ""},
		{"1234567a", ""},
		{"１２３４５６７８", ""}, // full-width digits are not what we sent
		{"", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeCode(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrCodeMalformed) || failure.CodeOf(err) != "code.malformed" {
				t.Errorf("NormalizeCode(%q) = %q, %v; want code.malformed", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCodePolicy(t *testing.T) {
	p := CurrentCodePolicy()
	if p.TTL != 15*time.Minute || p.MaxAttempts != 5 || p.ResendCooldown != 60*time.Second || p.Version != CodePolicyVersion {
		t.Fatalf("unexpected current code policy %+v", p)
	}
	issued := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	exp := p.ExpiresAt(issued)
	if !exp.Equal(issued.Add(15 * time.Minute)) {
		t.Fatalf("ExpiresAt = %v", exp)
	}

	t.Run("expiry", func(t *testing.T) {
		for _, tt := range []struct {
			now  time.Time
			want bool
		}{
			{issued, false},
			{exp.Add(-time.Nanosecond), false},
			{exp, true},
			{exp.Add(time.Hour), true},
		} {
			if got := CodeExpired(exp, tt.now); got != tt.want {
				t.Errorf("CodeExpired(at %v) = %v, want %v", tt.now.Sub(issued), got, tt.want)
			}
		}
	})

	t.Run("attempts", func(t *testing.T) {
		for failed, want := range []bool{false, false, false, false, false, true, true} {
			if got := p.AttemptsExhausted(failed); got != want {
				t.Errorf("AttemptsExhausted(%d) = %v", failed, got)
			}
		}
		if p.AttemptsLeft(0) != 5 || p.AttemptsLeft(4) != 1 || p.AttemptsLeft(5) != 0 || p.AttemptsLeft(9) != 0 {
			t.Errorf("AttemptsLeft wrong: %d %d %d %d", p.AttemptsLeft(0), p.AttemptsLeft(4), p.AttemptsLeft(5), p.AttemptsLeft(9))
		}
	})

	t.Run("can attempt", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			failed int
			now    time.Time
			want   error
		}{
			{"fresh", 0, issued.Add(time.Minute), nil},
			{"last attempt", 4, issued.Add(time.Minute), nil},
			{"exhausted", 5, issued.Add(time.Minute), ErrCodeAttemptsExhausted},
			{"expired", 0, exp, ErrCodeExpired},
			{"exhausted wins over expired", 5, exp.Add(time.Hour), ErrCodeAttemptsExhausted},
		} {
			err := p.CanAttempt(exp, tt.failed, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("%s: CanAttempt = %v, want %v", tt.name, err, tt.want)
			}
			if err != nil && !errors.Is(err, failure.Rule) {
				t.Errorf("%s: kind %v, want rule", tt.name, failure.KindOf(err))
			}
		}
	})

	t.Run("resend", func(t *testing.T) {
		for _, tt := range []struct {
			after time.Duration
			wait  time.Duration
		}{
			{0, time.Minute},
			{30 * time.Second, 30 * time.Second},
			{time.Minute - time.Millisecond, time.Millisecond},
			{time.Minute, 0},
			{time.Hour, 0},
			{-time.Second, time.Minute + time.Second}, // clock of another replica slightly behind
		} {
			now := issued.Add(tt.after)
			if got := p.ResendWait(issued, now); got != tt.wait {
				t.Errorf("ResendWait after %v = %v, want %v", tt.after, got, tt.wait)
			}
			err := p.CanResend(issued, now)
			if (tt.wait > 0) != errors.Is(err, ErrCodeResendTooSoon) || tt.wait == 0 && err != nil {
				t.Errorf("CanResend after %v = %v", tt.after, err)
			}
		}
		if !p.ResendAllowedAt(issued).Equal(issued.Add(time.Minute)) {
			t.Errorf("ResendAllowedAt = %v", p.ResendAllowedAt(issued))
		}
	})
}
