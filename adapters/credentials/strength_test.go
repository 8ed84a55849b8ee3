package credentials

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/staff"
)

// TestKeyboardWalksAreRefused (issue 11, item 3): with the estimator, keyboard walks on AZERTY and QWERTY (none in a
// list, none a plain sequence) are refused as too easy to guess, for members and staff alike, while the passwords
// people choose well still pass; the hasher the commands use carries the estimate.
func TestKeyboardWalksAreRefused(t *testing.T) {
	h, err := NewHasher(Config{})
	if err != nil {
		t.Fatal(err)
	}
	est := credential.EstimatorOf(h)
	if est == nil {
		t.Fatal("the commands' password hasher has no guess estimator")
	}
	for _, pw := range []string{
		"azertyuiopqsdfghjklm", "azertyuiopqs", "AZERTYUIOPQS", "qsdfghjklmwxcvbn", "wxcvbn,;:!azer", "aqwzsxedcrfv",
		"qwertyuiopasdfgh", "1qaz2wsx3edc4rfv",
	} {
		if err := credential.CheckPassword(est, pw); !errors.Is(err, credential.ErrPasswordTooCommon) {
			t.Errorf("member password %q: %v, want password.too_common", pw, err)
		}
		if utf8.RuneCountInString(pw) >= staff.PasswordMinLength {
			if err := staff.CheckPassword(est, pw, "j.dupont", "Jeanne Dupont"); !errors.Is(err, credential.ErrPasswordTooCommon) {
				t.Errorf("staff password %q: %v, want password.too_common", pw, err)
			}
		}
	}
	for _, pw := range []string{"vache-Brune7", "Lune bleue 7!", "correct horse battery staple", "éléphantrose",
		"Le lièvre et la tortue à Pâques", "8392017463529184", "Tr0ub4dor&3xTr0ub4dor&3x", "limonade fraîche du matin"} {
		if err := credential.CheckPassword(est, pw); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}

// TestAzertyLayoutIsData checks the layout table: a walk typed on AZERTY reads as the same walk on QWERTY, and
// characters that are not one byte are kept.
func TestAzertyLayoutIsData(t *testing.T) {
	for in, want := range map[string]string{
		"azertyuiop":  "qwertyuiop",
		"qsdfghjklm":  "asdfghjkl;",
		"wxcvbn,;:!":  "zxcvbnm,./",
		"AZERTY":      "QWERTY",
		"&\"'(-_)":    "134568-",
		"éèçàù ok 42": "éèçàù ok 42",
	} {
		got, _ := azertyAsQwerty(in)
		if got != want {
			t.Errorf("azertyAsQwerty(%q) = %q, want %q", in, got, want)
		}
	}
	if (Strength{}).Guesses("azertyuiopqsdfghjklm", nil) >= credential.CurrentPasswordPolicy().MinGuesses {
		t.Fatal("an AZERTY walk is estimated above the floor")
	}
}

// BenchmarkCheckPassword measures a whole policy check (lists, CNIL rule, guess estimate) on passwords members
// choose, and the estimate alone at the longest length it reads (the estimator's cost grows with the length).
func BenchmarkCheckPassword(b *testing.B) {
	est := Strength{}
	for _, pw := range []string{"vache-Brune7", "azertyuiopqsdfghjklm", "Trois pommes vertes au jardin"} {
		b.Run(fmt.Sprintf("check/%d", utf8.RuneCountInString(pw)), func(b *testing.B) {
			for b.Loop() {
				_ = credential.CheckPassword(est, pw, "1550814168025", "Dupont", "Hélène", "jean.dupont@example.fr")
			}
		})
	}
	b.Run("check/without-estimate", func(b *testing.B) {
		for b.Loop() {
			_ = credential.CheckPassword(nil, "Trois pommes vertes au jardin", "1550814168025", "Dupont", "Hélène")
		}
	})
	long := strings.Repeat("Lune bleue 7! ", 5)[:64]
	b.Run("guesses/64", func(b *testing.B) {
		for b.Loop() {
			_ = est.Guesses(long, nil)
		}
	})
}
