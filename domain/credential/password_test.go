package credential

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

// nonPeriodic returns n lower-case letters with no short repeated unit and no common word in them.
func nonPeriodic(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteByte(byte('a' + (i*i*7+i*3+11)%26))
	}
	return b.String()
}

func TestCheckPassword(t *testing.T) {
	const nir13 = "1550814168025"
	person := []string{nir13, "Dupont-Moreau", "Hélène", "jean.dupont+msa@example.fr"}
	tests := []struct {
		name    string
		pw      string
		context []string
		want    *failure.Error // nil: accepted
	}{
		// Accepted: length first, no composition rule, every printable character.
		{"passphrase lower case only", "correct horse battery staple", nil, nil},
		{"French passphrase with accents", "Le lièvre et la tortue à Pâques", person, nil},
		{"exactly 12 ASCII", "vache-Brune7", nil, nil},
		{"exactly 12 code points but 14 bytes", "éléphantrose", nil, nil},
		{"emoji and spaces", "🐄🐄 la vache qui rit 🚜", nil, nil},
		{"inner and edge spaces kept", "  un deux trois soleil  ", nil, nil},
		{"non-Latin script", "погода в Тулузе хорошая", nil, nil},
		{"64 characters", nonPeriodic(64), nil, nil},
		{"128 characters", nonPeriodic(128), nil, nil},
		{"16 digits", "8392017463529184", nil, nil},
		{"long periodic unit is strong enough", strings.Repeat("Tr0ub4dor&3x", 2), nil, nil},
		{"short name part ignored", "limonade fraîche du matin", []string{"Li"}, nil},
		{"email domain is not personal", "gmail est mon ami fidèle", []string{"marie@gmail.com"}, nil},
		{"words the keys of a walk spell apart", "vache-Brune7", nil, nil},
		{"French words and signs", "Lune bleue 7!", nil, nil},
		{"empty context ignored", "correct horse battery staple", []string{"", "  "}, nil},

		// Characters.
		{"tab", "correct horse\tbattery", nil, ErrPasswordInvalidCharacter},
		{"line feed", "correct horse\nbattery", nil, ErrPasswordInvalidCharacter},
		{"NUL", "correct horse\x00battery", nil, ErrPasswordInvalidCharacter},
		{"C1 control", "correct horse\u0085battery", nil, ErrPasswordInvalidCharacter},
		{"invalid UTF-8", "correct horse \xff\xfe battery", nil, ErrPasswordInvalidCharacter},

		// Length, in code points.
		{"empty", "", nil, ErrPasswordTooShort},
		{"11 ASCII", "cheval vert", nil, ErrPasswordTooShort},
		{"11 code points but 13 bytes", "éléphantros", nil, ErrPasswordTooShort},
		{"129 characters", nonPeriodic(129), nil, ErrPasswordTooLong},
		{"129 code points of 2 bytes", strings.Repeat("é", 60) + nonPeriodic(69), nil, ErrPasswordTooLong},
		{"huge input", strings.Repeat("x", 1<<20), nil, ErrPasswordTooLong},

		// Digits only: 12 digits are about 40 bits, below the CNIL's 50.
		{"12 random digits", "839201746352", nil, ErrPasswordDigitsOnly},
		{"15 random digits", "839201746352918", nil, ErrPasswordDigitsOnly},

		// Common passwords, in various cases and disguises.
		{"listed, 12 characters", "123qweasdzxc", nil, ErrPasswordTooCommon},
		{"listed, upper case", "1QAZ2WSX3EDC", nil, ErrPasswordTooCommon},
		{"listed, mixed case", "QwErTy123456", nil, ErrPasswordTooCommon},
		{"listed word and digits", "password1234", nil, ErrPasswordTooCommon},
		{"listed word capitalised and signs", "Password1234!", nil, ErrPasswordTooCommon},
		{"upper case and padding", "PASSWORD!!2024", nil, ErrPasswordTooCommon},
		{"digits before", "2024sunshine!", nil, ErrPasswordTooCommon},
		{"leet", "p@ssw0rd1234", nil, ErrPasswordTooCommon},
		{"leet upper case with space", "P@SSW0RD 2024!!", nil, ErrPasswordTooCommon},
		{"leet with one as i", "1l0v3y0u2024", nil, ErrPasswordTooCommon},
		{"French keyboard", "azertyuiop12", nil, ErrPasswordTooCommon},
		{"French keyboard upper", "AZERTYUIOP!!", nil, ErrPasswordTooCommon},
		{"motdepasse", "Motdepasse2024", nil, ErrPasswordTooCommon},
		{"mot de passe with spaces", "mot de passe 2024", nil, ErrPasswordTooCommon},
		{"French city", "Marseille2024!", nil, ErrPasswordTooCommon},
		{"accents folded", "Liberté1789!!", nil, ErrPasswordTooCommon},
		{"curated French", "doudou123456", nil, ErrPasswordTooCommon},
		{"service name", "MonEspacePrivé2026", nil, ErrPasswordTooCommon},
		{"repeated word", "azertyazerty", nil, ErrPasswordTooCommon},
		{"repeated syllable", "abcabcabcabc", nil, ErrPasswordTooCommon},
		{"repeated mixed case", "AbcAbcAbcAbc", nil, ErrPasswordTooCommon},
		{"repeated common word", "hellohellohello", nil, ErrPasswordTooCommon},
		{"one character", "aaaaaaaaaaaaaaaaaaaa", nil, ErrPasswordTooCommon},
		{"twelve spaces", strings.Repeat(" ", 12), nil, ErrPasswordTooCommon},
		{"signs only repeated", "!!!!!!!!!!!!", nil, ErrPasswordTooCommon},
		{"alphabet", "abcdefghijkl", nil, ErrPasswordTooCommon},
		{"alphabet backwards upper", "ZYXWVUTSRQPO", nil, ErrPasswordTooCommon},
		{"16 digits in sequence", "7890123456789012", nil, ErrPasswordTooCommon},
		{"16 digits descending", "9876543210987654", nil, ErrPasswordTooCommon},

		// Personal data, however it is written.
		{"NIR", "mon numéro " + nir13, person, ErrPasswordPersonalData},
		{"NIR spaced", "nir 1 55 08 14 168 025 !", person, ErrPasswordPersonalData},
		{"NIR alone", nir13, person, ErrPasswordPersonalData},
		{"NIR with key given as context", "clé " + nir13 + " ok", []string{nir13 + "38"}, ErrPasswordPersonalData},
		{"Corsican NIR", "mon numéro 255082a168025 !", []string{"255082A168025"}, ErrPasswordPersonalData},
		{"last name part", "moreau et les vaches", person, ErrPasswordPersonalData},
		{"compound last name", "Dupont Moreau 2024!", person, ErrPasswordPersonalData},
		{"first name without accents", "helene adore le fromage", person, ErrPasswordPersonalData},
		{"first name upper case accents", "HÉLÈNE ADORE LE FROMAGE", person, ErrPasswordPersonalData},
		{"email local part", "jean.dupont mot secret", person, ErrPasswordPersonalData},
		{"email local part glued", "jeandupont mot secret", person, ErrPasswordPersonalData},
		{"email local part piece", "ma vache jean est rousse", person, ErrPasswordPersonalData},
		{"personal data before common", "Dupont123456", person, ErrPasswordPersonalData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(nil, tt.pw, tt.context...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want accepted", tt.pw, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPassword(%q) = %v, want %s", tt.pw, err, tt.want.Code)
			}
			if got := failure.CodeOf(err); got != tt.want.Code {
				t.Fatalf("code = %q, want %q", got, tt.want.Code)
			}
			if !errors.Is(err, failure.Invalid) {
				t.Fatalf("kind = %v, want invalid", failure.KindOf(err))
			}
		})
	}
}

// TestCheckPasswordWrapped shows how callers wrap the error and still find it.
func TestCheckPasswordWrapped(t *testing.T) {
	err := fmt.Errorf("set password: %w", CheckPassword(nil, "password1234"))
	if !errors.Is(err, ErrPasswordTooCommon) || failure.CodeOf(err) != "password.too_common" {
		t.Fatalf("wrapped error lost its identity: %v (%s)", err, failure.CodeOf(err))
	}
}

// TestCommonListsMatchPolicyVersion fails when the embedded lists change without a new policy version.
func TestCommonListsMatchPolicyVersion(t *testing.T) {
	sum := sha256.Sum256([]byte(commonPasswords + commonPasswordsFR))
	p := CurrentPasswordPolicy()
	if got := hex.EncodeToString(sum[:]); got != p.ListDigest {
		t.Fatalf("lists digest %s, policy %s records %s: change PasswordPolicyVersion and ListDigest together",
			got, p.Version, p.ListDigest)
	}
	if p.Version != PasswordPolicyVersion {
		t.Fatalf("policy version %q, constant %q", p.Version, PasswordPolicyVersion)
	}
	sc := bufio.NewScanner(strings.NewReader(commonPasswords))
	var first string
	lines := 0
	for sc.Scan() {
		if lines == 0 {
			first = sc.Text()
		}
		lines++
	}
	if lines < 10000 {
		t.Fatalf("common list has %d entries, want at least 10,000", lines)
	}
	if first != "123456" {
		t.Fatalf("common list starts with %q, want the most common password first", first)
	}
	if n := len(commonSet()); n < lines {
		t.Fatalf("set has %d entries, fewer than the %d lines of the main list", n, lines)
	}
	for _, w := range []string{"password", "iloveyou", "azerty", "soleil", "motdepasse", "doudou", "qwertyuiop"} {
		if !isCommon(w) {
			t.Errorf("%q is not found in the common lists", w)
		}
	}
}

// TestMessagesFollowPolicy keeps the French sentences in step with the numbers of the policies: a change of
// policy that forgets the message fails here.
func TestMessagesFollowPolicy(t *testing.T) {
	p := CurrentPasswordPolicy()
	c := CurrentCodePolicy()
	digitsOnly := int(math.Ceil(p.MinBits / math.Log2(10)))
	if estimateBits(strings.Repeat("1", digitsOnly-1)) >= p.MinBits || estimateBits(strings.Repeat("1", digitsOnly)) < p.MinBits {
		t.Fatalf("digits-only threshold %d is not where the entropy floor is", digitsOnly)
	}
	mustMention := map[*failure.Error][]string{
		ErrPasswordTooShort:      {fmt.Sprintf("%d caractères", p.MinLength)},
		ErrPasswordTooLong:       {fmt.Sprintf("%d caractères", p.MaxLength)},
		ErrPasswordDigitsOnly:    {fmt.Sprintf("au moins %d", digitsOnly), fmt.Sprintf("%d caractères", p.MinLength)},
		ErrCodeMalformed:         {fmt.Sprintf("%d chiffres", CodeLength)},
		ErrCodeExpired:           {fmt.Sprintf("%d minutes", int(c.TTL.Minutes()))},
		ErrCodeAttemptsExhausted: {fmt.Sprintf("%d essais", c.MaxAttempts)},
	}
	for e, words := range mustMention {
		for _, w := range words {
			if m := frenchOf(e); !strings.Contains(m, w) {
				t.Errorf("%s message %q does not mention %q", e.Code, m, w)
			}
		}
	}
	if c.ResendCooldown != 60e9 || !strings.Contains(frenchOf(ErrCodeResendTooSoon), "une minute") {
		t.Errorf("resend message does not match the cooldown %v", c.ResendCooldown)
	}
	msgs := map[string]string{}
	for _, e := range credentialErrors {
		msgs[e.Code] = frenchOf(e)
	}
	if len(msgs) != 11 {
		t.Fatalf("%d codes, want 11", len(msgs))
	}
	for code, m := range msgs {
		if !strings.HasPrefix(code, "password.") && !strings.HasPrefix(code, "code.") {
			t.Errorf("code %q is not namespaced", code)
		}
		if r, _ := utf8.DecodeRuneInString(m); !unicode.IsUpper(r) || !strings.HasSuffix(m, ".") {
			t.Errorf("message for %s is not a sentence: %q", code, m)
		}
	}
}

// credentialErrors are the errors of the package that reach the member.
var credentialErrors = []*failure.Error{
	ErrPasswordInvalidCharacter, ErrPasswordTooShort, ErrPasswordTooLong, ErrPasswordDigitsOnly,
	ErrPasswordTooCommon, ErrPasswordPersonalData,
	ErrCodeMalformed, ErrCodeWrong, ErrCodeExpired, ErrCodeAttemptsExhausted, ErrCodeResendTooSoon,
}

// frenchOf is the sentence the member reads for e.
func frenchOf(e *failure.Error) string {
	m, _ := messages.FR(e.Code)
	return m
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"", "correct horse battery staple", "password1234", "éléphantrose", "\xff", "aaaaaaaaaaaa",
		"1550814168025", "🐄🐄 la vache qui rit 🚜", "p@ssw0rd 2024!!"} {
		f.Add(s, "Dupont")
	}
	known := map[string]bool{"": true}
	for _, e := range credentialErrors {
		known[e.Code] = true
	}
	p := CurrentPasswordPolicy()
	f.Fuzz(func(t *testing.T, pw, ctx string) {
		err := p.Check(pw, ctx)
		if err2 := p.Check(pw, ctx); (err == nil) != (err2 == nil) || !errors.Is(err2, err) && err != nil {
			t.Fatalf("not deterministic: %v then %v", err, err2)
		}
		code := ""
		if err != nil {
			code = failure.CodeOf(err)
		}
		if !known[code] {
			t.Fatalf("unknown code %q", code)
		}
		if err == nil {
			n := utf8.RuneCountInString(pw)
			if !utf8.ValidString(pw) || n < p.MinLength || n > p.MaxLength {
				t.Fatalf("accepted %q (%d code points)", pw, n)
			}
			if strings.ContainsFunc(pw, unicode.IsControl) {
				t.Fatalf("accepted a control character in %q", pw)
			}
		}
	})
}

// fixedEstimate is a guess estimator that estimates every password at the same number of guesses.
type fixedEstimate float64

func (f fixedEstimate) Guesses(string, []string) float64 { return float64(f) }

// TestGuessEstimateFloor: with an estimator (a port: adapters/credentials.Strength in production), a password it
// estimates below MinGuesses is refused as too easy to guess, one above passes, and a password longer than
// maxEstimatedLength is not estimated; without one, the other rules alone apply.
func TestGuessEstimateFloor(t *testing.T) {
	p := CurrentPasswordPolicy()
	pw := "Trois pommes vertes au jardin"
	if err := CheckPassword(fixedEstimate(p.MinGuesses-1), pw); !errors.Is(err, ErrPasswordTooCommon) {
		t.Errorf("below the floor: %v", err)
	}
	if err := CheckPassword(fixedEstimate(p.MinGuesses), pw); err != nil {
		t.Errorf("at the floor: %v", err)
	}
	if err := CheckPassword(nil, pw); err != nil {
		t.Errorf("without an estimator: %v", err)
	}
	if err := CheckPassword(fixedEstimate(0), nonPeriodic(maxEstimatedLength+1)); err != nil {
		t.Errorf("a long password was estimated: %v", err)
	}
	if err := CheckPassword(fixedEstimate(0), "correct horse\tbattery"); !errors.Is(err, ErrPasswordInvalidCharacter) {
		t.Errorf("the basic rules come first: %v", err)
	}
}
