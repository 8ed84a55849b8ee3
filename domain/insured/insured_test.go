package insured

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
)

var today = time.Date(2025, time.June, 2, 14, 0, 0, 0, time.UTC)

func mustNIR(t *testing.T, s string) nir.NIR {
	t.Helper()
	n, err := nir.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return n
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestFoldName(t *testing.T) {
	equal := [][]string{
		{"Jean-Pierre", "JEAN PIERRE", "jean pierre", "Jéan  Pierre", "JEANPIERRE", "jean\u2011pierre"},
		{"Hélène", "HELENE", "héLÈne", "He\u0301le\u0300ne"}, // the last one in decomposed form
		{"D'Artagnan", "d’artagnan", "DARTAGNAN", "D ARTAGNAN"},
		{"Lætitia", "LAETITIA"},
		{"Cœur", "COEUR"},
		{"François", "FRANCOIS"},
		{"Müller", "MULLER"},
		{"Le Gall", "LEGALL", "le-gall"},
		{"Noël", "NOEL"},
		{"Ÿvette", "YVETTE"},
	}
	for _, group := range equal {
		for _, s := range group[1:] {
			if FoldName(s) != FoldName(group[0]) {
				t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q: want equal", s, FoldName(s), group[0], FoldName(group[0]))
			}
		}
	}
	for _, pair := range [][2]string{{"Martin", "Martine"}, {"Léa", "Leo"}, {"Dupont", "Dupond"}} {
		if FoldName(pair[0]) == FoldName(pair[1]) {
			t.Errorf("%q and %q fold equal", pair[0], pair[1])
		}
	}
}

func TestNewIdentity(t *testing.T) {
	paris := mustNIR(t, "185037511504216") // male, March 1985
	fictitious := mustNIR(t, "258209910901157")
	tests := []struct {
		name        string
		n           nir.NIR
		last, first string
		birth       time.Time
		want        error
	}{
		{"valid", paris, "  Dupont ", "Jean   Pierre", date(1985, time.March, 12), nil},
		{"last name missing", paris, "  ", "Jean", date(1985, time.March, 12), ErrLastNameMissing},
		{"first name missing", paris, "Dupont", "", date(1985, time.March, 12), ErrFirstNameMissing},
		{"names before birth date", paris, "", "", date(2099, time.March, 12), ErrLastNameMissing},
		{"control character", paris, "Dup\x00ont", "Jean", date(1985, time.March, 12), ErrLastNameInvalid},
		{"no letter", paris, "Dupont", "1234", date(1985, time.March, 12), ErrFirstNameInvalid},
		{"too long", paris, strings.Repeat("a", 101), "Jean", date(1985, time.March, 12), ErrLastNameInvalid},
		{"not UTF-8", paris, "Dupont", "Fran\xe7ois", date(1985, time.March, 12), ErrEncoding},
		{"future", fictitious, "Durand", "Marie", date(2058, time.January, 1), ErrBirthDateFuture},
		{"implausible", fictitious, "Durand", "Marie", date(1858, time.January, 1), ErrBirthDateImplausible},
		{"year mismatch", paris, "Dupont", "Jean", date(1986, time.March, 12), nir.ErrBirthYear},
		{"month mismatch", paris, "Dupont", "Jean", date(1985, time.April, 12), nir.ErrBirthMonth},
		{"fictitious month: any month", fictitious, "Durand", "Marie", date(1958, time.October, 3), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := NewIdentity(tt.n, tt.last, tt.first, tt.birth, today)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewIdentity = %v, want %v", err, tt.want)
			}
			if err != nil {
				if failure.KindOf(err) != failure.Invalid || !strings.Contains(failure.CodeOf(err), ".") {
					t.Errorf("kind %v code %q", failure.KindOf(err), failure.CodeOf(err))
				}
				return
			}
			if strings.TrimSpace(id.LastName) != id.LastName || strings.Contains(id.FirstName, "  ") {
				t.Errorf("names not cleaned: %q %q", id.LastName, id.FirstName)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate(" 1985-03-12 "); err != nil || !d.Equal(date(1985, time.March, 12)) {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"12/03/1985", "1985-02-30", "1985-3-12", "", "85-03-12"} {
		if _, err := ParseDate(bad); !errors.Is(err, ErrBirthDateFormat) {
			t.Errorf("ParseDate(%q) = %v", bad, err)
		}
	}
}

// history builds a stream history from events, revisions from 0.
func history(events ...any) []event.Envelope {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Revision: uint64(i), Event: e}
	}
	return out
}

func TestDecide(t *testing.T) {
	paris := mustNIR(t, "185037511504216")
	id := func(last, first string, birth time.Time) Identity {
		v, err := NewIdentity(paris, last, first, birth, today)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	recorded := Recorded{NIR: paris.Body(), Key: 16, LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12"}
	tests := []struct {
		name    string
		given   []event.Envelope
		when    Identity
		then    []any
		outcome Outcome
		err     error
	}{
		{"new person", nil, id("Dupont", "Jean", date(1985, time.March, 12)), []any{recorded}, OutcomeNew, nil},
		{"identical: nothing", history(recorded), id("Dupont", "Jean", date(1985, time.March, 12)), nil, OutcomeUnchanged, nil},
		{"identical after cleaning", history(recorded), id(" Dupont ", "Jean ", date(1985, time.March, 12)), nil, OutcomeUnchanged, nil},
		{"accent added: a correction", history(recorded), id("Dupont", "Jéan", date(1985, time.March, 12)),
			[]any{Corrected{LastName: "Dupont", FirstName: "Jéan", BirthDate: "1985-03-12"}}, OutcomeCorrected, nil},
		{"birth date changed", history(recorded), id("Dupont", "Jean", date(1985, time.March, 13)),
			[]any{Corrected{LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-13"}}, OutcomeCorrected, nil},
		{"identical to the correction", history(recorded, Corrected{LastName: "Martin", FirstName: "Jean", BirthDate: "1985-03-12"}),
			id("Martin", "Jean", date(1985, time.March, 12)), nil, OutcomeUnchanged, nil},
		{"back to the first data: corrected again", history(recorded, Corrected{LastName: "Martin", FirstName: "Jean", BirthDate: "1985-03-12"}),
			id("Dupont", "Jean", date(1985, time.March, 12)),
			[]any{Corrected{LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12"}}, OutcomeCorrected, nil},
		{"stream of another NIR", history(Recorded{NIR: "2921119004017", Key: 59, LastName: "X", FirstName: "Y", BirthDate: "1992-11-01"}),
			id("Dupont", "Jean", date(1985, time.March, 12)), nil, OutcomeUnchanged, ErrStreamMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, outcome, err := Decide(tt.given, tt.when)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.then) || outcome != tt.outcome {
				t.Errorf("Decide = %#v, %v; want %#v, %v", got, outcome, tt.then, tt.outcome)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	p := Rehydrate(history(
		Recorded{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean Pierre Marie", BirthDate: "1985-03-12"},
		Corrected{LastName: "Dupont-Hélie", FirstName: "Jean Pierre Marie", BirthDate: "1985-03-12"},
	))
	birth := date(1985, time.March, 12)
	paris := time.FixedZone("Paris", 3600)
	tests := []struct {
		name        string
		last, first string
		birth       time.Time
		want        bool
	}{
		{"exact", "Dupont-Hélie", "Jean Pierre Marie", birth, true},
		{"case and accents", "DUPONT HELIE", "jean pierre marie", birth, true},
		{"first given name only", "dupont helie", "Jean", birth, true},
		{"birth date in another zone, same calendar day", "Dupont-Hélie", "Jean", time.Date(1985, time.March, 12, 0, 30, 0, 0, paris), true},
		{"name before the correction", "Dupont", "Jean", birth, false},
		{"second given name alone", "Dupont-Hélie", "Pierre", birth, false},
		{"other birth date", "Dupont-Hélie", "Jean", date(1985, time.March, 13), false},
		{"empty first name", "Dupont-Hélie", "", birth, false},
		{"empty last name", "", "Jean", birth, false},
	}
	for _, tt := range tests {
		if got := p.Matches(tt.last, tt.first, tt.birth); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (Person{}).Matches("Dupont", "Jean", birth) || (Person{}).Known() || !p.Known() {
		t.Error("an unknown person matches nothing")
	}
}

type readLine struct {
	line   int
	fields []string
	err    error
}

func readAll(t *testing.T, content string) ([]readLine, error) {
	t.Helper()
	rr, err := newRowReader(strings.NewReader(content))
	if err != nil {
		return nil, err
	}
	var out []readLine
	for {
		line, fields, lineErr, err := rr.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, readLine{line, fields, lineErr})
	}
}

func TestRowReader(t *testing.T) {
	lines, err := readAll(t, "\ufeffNIR;Nom;Prénom;Date de naissance\r\n"+
		"185037511504216;Dupont;Jean;1985-03-12\r\n"+
		"\r\n"+
		"292112A00401759;\"Le Gall; dite \"\"Léa\"\"\";Léa;1992-11-04\r\n"+
		"1;2;3\r\n"+
		"185037511504216;Dup\xe9;Jean;1985-03-12\r\n"+
		"201052B03304262;Durand;Zoé;2001-05-20")
	if err != nil {
		t.Fatal(err)
	}
	want := []readLine{
		{2, []string{"185037511504216", "Dupont", "Jean", "1985-03-12"}, nil},
		{4, []string{"292112A00401759", `Le Gall; dite "Léa"`, "Léa", "1992-11-04"}, nil},
		{5, nil, ErrColumns},
		{6, nil, ErrEncoding},
		{7, []string{"201052B03304262", "Durand", "Zoé", "2001-05-20"}, nil},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines:\n got %v\nwant %v", lines, want)
	}

	comma, err := readAll(t, "nir,last_name,first_name,birth_date\n185037511504216,\"Dupont, Jr\",Jean,1985-03-12\n")
	if err != nil || len(comma) != 1 || comma[0].fields[1] != "Dupont, Jr" {
		t.Errorf("comma-separated: %v, %v", comma, err)
	}

	// a stray quote costs its own line only
	unclosed, err := readAll(t, "nir;nom;prenom;date_naissance\n185037511504216;\"Dupont;Jean;1985-03-12\n"+
		"185037511504216;Du\"pont;Jean;1985-03-12\n292112A00401759;Le Gall;Léa;1992-11-04\n")
	if err != nil || len(unclosed) != 3 || unclosed[0].err != ErrMalformedLine || unclosed[0].line != 2 ||
		unclosed[1].err != ErrMalformedLine || unclosed[2].err != nil || unclosed[2].line != 4 {
		t.Errorf("stray quotes: %v, %v", unclosed, err)
	}
}

func TestRowReaderFileErrors(t *testing.T) {
	tests := map[string]error{
		"":                           ErrEmptyFile,
		"\ufeff\n":                   ErrEmptyFile,
		"nir nom prenom naissance\n": ErrSeparator,
		"185037511504216;Dupont;Jean;1985-03-12\n": ErrNoHeader,
		"nir;prenom;nom;date_naissance\n":          ErrHeader, // swapped names
		"nir;nom;prenom\n":                         ErrHeader,
		"nir;nom;prenom;date_naissance;email\n":    ErrHeader,
	}
	for content, want := range tests {
		if _, err := readAll(t, content); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", content, err, want)
		}
	}
	for _, ok := range []string{"NIR;NOM;PRÉNOM;DATE_NAISSANCE", "nir;nom_de_naissance;prénoms;date de naissance", "ssn,last name,first name,date of birth"} {
		if _, err := readAll(t, ok+"\n"); err != nil {
			t.Errorf("header %q: %v", ok, err)
		}
	}
}

func TestParseRowReportsColumnOrder(t *testing.T) {
	tests := []struct {
		fields []string
		want   error
	}{
		{[]string{"185037511504217", "", "", "x"}, nir.ErrKey},
		{[]string{"185037511504216", "", "Jean", "x"}, ErrLastNameMissing},
		{[]string{"185037511504216", "Dupont", "", "x"}, ErrFirstNameMissing},
		{[]string{"185037511504216", "Dupont", "Jean", "12/03/1985"}, ErrBirthDateFormat},
		{[]string{"185037511504216", "Dupont", "Jean", "1984-03-12"}, nir.ErrBirthYear},
		{[]string{"185037511504216", "Dupont", "Jean", "1985-03-12"}, nil},
	}
	for _, tt := range tests {
		if _, err := parseRow(tt.fields, today); !errors.Is(err, tt.want) {
			t.Errorf("parseRow(%q) = %v, want %v", tt.fields, err, tt.want)
		}
	}
}

// keysFunc is a Keys made of a plain function: a stand-in for the keyed hash of adapters/keyedhash, which the
// domain may not import. It derives ids the same shape (v5 UUIDs), without a key.
type keysFunc func(purpose, canonical string) uuid.UUID

func (f keysFunc) StreamFor(purpose, canonical string) uuid.UUID { return f(purpose, canonical) }

func TestStreamFor(t *testing.T) {
	keys := keysFunc(func(purpose, canonical string) uuid.UUID {
		return uuid.NewSHA1(uuid.NameSpaceOID, []byte(purpose+"/"+canonical))
	})
	n := mustNIR(t, "185037511504216")
	s := StreamFor(keys, n)
	if s.Category != "insured" || s.Validate() != nil {
		t.Fatalf("stream %v", s)
	}
	if strings.Contains(s.String(), n.Body()) {
		t.Error("the stream name shows the NIR")
	}
	parsed, err := event.ParseStreamID(s.String())
	if err != nil || parsed != s {
		t.Errorf("ParseStreamID(%s) = %v, %v", s, parsed, err)
	}
	if StreamFor(keys, mustNIR(t, "292112A00401759")) == s {
		t.Error("two NIRs, one stream")
	}
}

func TestDefinitions(t *testing.T) {
	reg, err := event.NewRegistry(Definitions())
	if err != nil {
		t.Fatal(err)
	}
	rec := Recorded{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12"}
	name, _, data, err := reg.Encode(rec)
	if err != nil || name != "InsuredPersonRecorded" {
		t.Fatalf("Encode = %q, %v", name, err)
	}
	const golden = `{"nir":"1850375115042","key":16,"last_name":"Dupont","first_name":"Jean","birth_date":"1985-03-12"}`
	if string(data) != golden {
		t.Errorf("payload %s, want %s", data, golden)
	}
	back, err := reg.Decode(name, 1, []byte(golden))
	if err != nil || back != rec {
		t.Errorf("Decode = %#v, %v", back, err)
	}
	name, _, data, err = reg.Encode(Corrected{LastName: "Martin", FirstName: "Jean", BirthDate: "1985-03-12"})
	if err != nil || name != "InsuredPersonCorrected" || string(data) != `{"last_name":"Martin","first_name":"Jean","birth_date":"1985-03-12"}` {
		t.Errorf("Corrected: %q %s %v", name, data, err)
	}
}
