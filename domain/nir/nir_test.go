package nir_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Synthetic valid examples, keys computed independently of the code (key = 97 − body mod 97 with 2A/2B read as
// 19/18, as in INSEE's rule and python-stdnum's stdnum/fr/nir.py; cross-checked on the public example
// 2 55 08 14 168 025 → 38).
var validExamples = []struct {
	in         string
	body       string
	key        int
	sex        nir.Sex
	year       int
	month      time.Month
	monthKnown bool
	department string
	commune    string
	order      int
}{
	{"1 85 03 75 115 042 16", "1850375115042", 16, nir.SexMale, 85, time.March, true, "75", "115", 42},
	{"2 92 11 2A 004 017 59", "292112A004017", 59, nir.SexFemale, 92, time.November, true, "2A", "004", 17},
	{"2 01 05 2B 033 042 62", "201052B033042", 62, nir.SexFemale, 1, time.May, true, "2B", "033", 42},
	{"1 88 09 99 350 045 24", "1880999350045", 24, nir.SexMale, 88, time.September, true, "99", "350", 45},
	{"2 95 06 971 20 034 49", "2950697120034", 49, nir.SexFemale, 95, time.June, true, "971", "20", 34},
	{"1 60 33 99 216 003 22", "1603399216003", 22, nir.SexMale, 60, time.March, true, "99", "216", 3},
	{"2 58 20 99 109 011 57", "2582099109011", 57, nir.SexFemale, 58, 0, false, "99", "109", 11},
	{"1 70 07 20 004 011 35", "1700720004011", 35, nir.SexMale, 70, time.July, true, "20", "004", 11},
	// the public documentation example the key function was cross-checked on
	{"2 55 08 14 168 025 38", "2550814168025", 38, nir.SexFemale, 55, time.August, true, "14", "168", 25},
}

func TestParseValidExamples(t *testing.T) {
	for _, ex := range validExamples {
		t.Run(ex.body, func(t *testing.T) {
			n, err := nir.Parse(ex.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", ex.in, err)
			}
			if n.Body() != ex.body || n.Key() != ex.key {
				t.Errorf("body %q key %d, want %q %d", n.Body(), n.Key(), ex.body, ex.key)
			}
			if want := fmt.Sprintf("%s%02d", ex.body, ex.key); n.Full() != want {
				t.Errorf("Full() = %q, want %q", n.Full(), want)
			}
			if n.Sex() != ex.sex || n.BirthYear() != ex.year || n.Department() != ex.department ||
				n.Commune() != ex.commune || n.Order() != ex.order {
				t.Errorf("fields: sex %d year %d dept %q commune %q order %d", n.Sex(), n.BirthYear(), n.Department(), n.Commune(), n.Order())
			}
			if m, known := n.BirthMonth(); m != ex.month || known != ex.monthKnown {
				t.Errorf("BirthMonth() = %v, %v; want %v, %v", m, known, ex.month, ex.monthKnown)
			}
			// the same NIR without spaces, with dots, dashes, lower case, no-break spaces
			for _, variant := range []string{
				strings.ReplaceAll(ex.in, " ", ""),
				strings.ReplaceAll(ex.in, " ", "."),
				strings.ReplaceAll(ex.in, " ", "-"),
				strings.ToLower(ex.in),
				strings.ReplaceAll(ex.in, " ", "\u00a0"),
				"  " + ex.in + " ",
			} {
				m, err := nir.Parse(variant)
				if err != nil || m != n {
					t.Errorf("Parse(%q) = %v, %v; want the same NIR", variant, m.Redacted(), err)
				}
			}
			login, err := nir.ParseLogin(ex.body)
			if err != nil || login != n {
				t.Errorf("ParseLogin(body) = %v, %v", login.Redacted(), err)
			}
		})
	}
}

func TestParseInvalidExamples(t *testing.T) {
	tests := []struct {
		in   string
		want *failure.Error
		why  string
	}{
		{"185037511504217", nir.ErrKey, "wrong key (expected 16)"},
		{"292112A00401732", nir.ErrKey, "key computed by reading 2A as 20"},
		{"292112C00401759", nir.ErrDepartment, "2C is not a department"},
		{"185137511504279", nir.ErrMonth, "valid checksum, month 13"},
		{"585037511504210", nir.ErrSex, "valid checksum, sex digit 5"},
		{"185030011504204", nir.ErrDepartment, "valid checksum, department 00"},
		{"18503751150420", nir.ErrLength, "length 14"},
		{"1850375115042166", nir.ErrLength, "length 16"},
		{"185037511504200", nir.ErrKey, "key 00 is impossible"},
		{"185037511504298", nir.ErrKey, "key 98 is impossible"},
		{"185037511504299", nir.ErrKey, "key 99 is impossible"},
		{"1 85 03 75 115 042", nir.ErrLength, "13 characters: a login identifier, not the form with key"},
		{"", nir.ErrLength, "empty"},
		{"1850375115042 1é", nir.ErrFormat, "non-ASCII letter"},
		{"1850375115042/16", nir.ErrFormat, "slash"},
		{"18503751150421A", nir.ErrFormat, "letter in the key"},
		{"1A50375115042" + "16", nir.ErrFormat, "letter in the year"},
		{"18503751A504216", nir.ErrFormat, "letter in the commune"},
		{"1850375115042" + "6", nir.ErrLength, "one-digit key"},
		{strings.Repeat("1", 100), nir.ErrLength, "huge input"},
		{"1850375115042xx", nir.ErrFormat, "letters as key"},
		{"1851375115042xx", nir.ErrFormat, "letters as key: syntax before field domains"},
		{withKey("1850075115042"), nir.ErrMonth, "month 00"},
		{withKey("1851975115042"), nir.ErrMonth, "month 19"},
		{withKey("1854375115042"), nir.ErrMonth, "month 43"},
		{withKey("1854975115042"), nir.ErrMonth, "month 49"},
		{withKey("0850375115042"), nir.ErrSex, "sex 0"},
		{withKey("9850375115042"), nir.ErrSex, "sex 9"},
		{withKey("3850375115042"), nir.ErrProvisional, "sex 3: provisional"},
		{withKey("4850375115042"), nir.ErrProvisional, "sex 4: provisional"},
		{withKey("7850375115042"), nir.ErrProvisional, "sex 7: waiting number"},
		{withKey("8850375115042"), nir.ErrProvisional, "sex 8: waiting number"},
		{withKey("1850375115000"), nir.ErrOrder, "order 000"},
		{"2A50375115042" + "16", nir.ErrFormat, "2A outside positions 6-7"},
		{"185037AB15042" + "16", nir.ErrFormat, "letters in positions 7-8"},
		{"18503A7115042" + "16", nir.ErrDepartment, "A7 is no department"},
	}
	for _, tt := range tests {
		t.Run(tt.why, func(t *testing.T) {
			_, err := nir.Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v, want %s", tt.in, err, tt.want.Code)
			}
			if !errors.Is(err, failure.Invalid) || failure.CodeOf(err) != tt.want.Code {
				t.Errorf("kind %v code %q, want invalid %q", failure.KindOf(err), failure.CodeOf(err), tt.want.Code)
			}
			if !hasMessage(err) {
				t.Error("no French message")
			}
		})
	}
}

// withKey appends the correct key to a body, so that a test isolates a field check from the checksum.
func withKey(body string) string {
	var n uint64
	for _, c := range body {
		n = n*10 + uint64(c-'0')
	}
	return fmt.Sprintf("%s%02d", body, 97-n%97)
}

func TestParseLogin(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"1 85 03 75 115 042", nil},
		{"292112a004017", nil},
		{"292112A004017", nil},
		{"2921119004017", nil},
		{"185037511504216", nir.ErrLoginLength},
		{"185037511504", nir.ErrLoginLength},
		{"3850375115042", nir.ErrProvisional},
		{"4850375115042", nir.ErrProvisional},
		{"1851375115042", nir.ErrMonth},
		{"292112C004017", nir.ErrDepartment},
		{"1850375115000", nir.ErrOrder},
	}
	for _, tt := range tests {
		n, err := nir.ParseLogin(tt.in)
		if !errors.Is(err, tt.want) || (tt.want == nil && n.IsZero()) {
			t.Errorf("ParseLogin(%q) = %v, %v; want %v", tt.in, n.Redacted(), err, tt.want)
		}
	}
}

// The twins of the note: Corrèze 19 and Ajaccio 2A share their key; the letter tells them apart.
func TestCorsicaTwins(t *testing.T) {
	correze, err1 := nir.ParseLogin("2921119004017")
	ajaccio, err2 := nir.ParseLogin("292112A004017")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if correze.Key() != 59 || ajaccio.Key() != 59 {
		t.Errorf("keys %d and %d, want 59 and 59", correze.Key(), ajaccio.Key())
	}
	if correze == ajaccio {
		t.Error("the twins compare equal")
	}
}

func TestCheck(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	paris, _ := nir.Parse("185037511504216")      // male, March 1985
	pseudo, _ := nir.Parse("160339921600322")     // male, 1960, pseudo-month 33 = March
	fictitious, _ := nir.Parse("258209910901157") // female, 1958, month unknown
	tests := []struct {
		name  string
		n     nir.NIR
		birth time.Time
		sex   nir.Sex
		want  error
	}{
		{"consistent", paris, date(1985, time.March, 12), nir.SexMale, nil},
		{"sex unknown is not checked", paris, date(1985, time.March, 12), nir.SexUnknown, nil},
		{"other century, same YY", paris, date(1885, time.March, 12), nir.SexMale, nil},
		{"year", paris, date(1986, time.March, 12), nir.SexMale, nir.ErrBirthYear},
		{"month", paris, date(1985, time.April, 12), nir.SexMale, nir.ErrBirthMonth},
		{"sex", paris, date(1985, time.March, 12), nir.SexFemale, nir.ErrSexMismatch},
		{"pseudo-month 33 is March", pseudo, date(1960, time.March, 1), nir.SexMale, nil},
		{"pseudo-month 33 is not April", pseudo, date(1960, time.April, 1), nir.SexMale, nir.ErrBirthMonth},
		{"fictitious month: any month", fictitious, date(1958, time.December, 31), nir.SexFemale, nil},
		{"fictitious month: year still checked", fictitious, date(1959, time.December, 31), nir.SexFemale, nir.ErrBirthYear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.n.Check(tt.birth, tt.sex); !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

// No formatting of a NIR, direct or nested, shows it in clear.
func TestRedaction(t *testing.T) {
	n, err := nir.Parse("185037511504216")
	if err != nil {
		t.Fatal(err)
	}
	const want = "1*********042**"
	if n.String() != want || n.Redacted() != want {
		t.Errorf("String() = %q, want %q", n.String(), want)
	}
	type holder struct {
		Who nir.NIR
		Ptr *nir.NIR
	}
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("login", "nir", n, "ptr", &n)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "nir", n)
	outputs := []string{
		fmt.Sprint(n), fmt.Sprintf("%v %+v %#v %s %q %x %X %d %10s", n, n, n, n, n, n, n, n, n),
		fmt.Sprintf("%v %+v %#v", holder{n, &n}, holder{n, &n}, holder{n, &n}),
		fmt.Sprintf("%v", []nir.NIR{n}), fmt.Sprintf("%v", map[string]nir.NIR{"k": n}),
		fmt.Errorf("login %v: %w", n, errors.New("x")).Error(),
		logged.String(),
	}
	for _, out := range outputs {
		for _, clear := range []string{n.Body(), "1850375115042", "8503751150", "0375115"} {
			if strings.Contains(out, clear) {
				t.Errorf("output shows the NIR: %s", out)
			}
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the redacted form: %s", out)
		}
	}
	if (nir.NIR{}).String() != "" || !(nir.NIR{}).IsZero() {
		t.Error("zero NIR")
	}
}

func TestMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range nir.Errors() {
		if !strings.HasPrefix(e.Code, "nir.") || seen[e.Code] {
			t.Errorf("code %q: want a unique nir.* code", e.Code)
		}
		seen[e.Code] = true
		wrapped := fmt.Errorf("register: %w", e)
		if code := failure.CodeOf(wrapped); code != e.Code || !hasMessage(wrapped) {
			t.Errorf("%s: wrapped, code %q, or no French sentence", e.Code, code)
		}
		if failure.KindOf(wrapped) != failure.Invalid {
			t.Errorf("%s: kind %v", e.Code, failure.KindOf(wrapped))
		}
	}
	if hasMessage(errors.New("other")) || hasMessage(nil) {
		t.Error("a foreign error has a nir sentence")
	}
}

// hasMessage reports whether err carries a nir code that has its French sentence for the member.
func hasMessage(err error) bool {
	code := failure.CodeOf(err)
	m, _ := messages.FR(code)
	return strings.HasPrefix(code, "nir.") && m != ""
}
