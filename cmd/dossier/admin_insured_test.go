package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/nir"
)

// The people of the test files: synthetic valid NIRs (key = 97 − body mod 97, 2A/2B read as 19/18; keys computed
// independently of the code).
const (
	nirParis    = "185037511504216" // male, March 1985
	nirAjaccio  = "292112A00401759" // female, November 1992
	nirBastia   = "2 01 05 2B 033 042 62"
	nirAbroad   = "188099935004524" // male, September 1988
	nirPseudo   = "160339921600322" // male, 1960, pseudo-month 33 = March
	nirUnknown  = "258209910901157" // female, 1958, fictitious month: never imported
	testKeyHex  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	firstImport = "\ufeffnir;nom;prénom;date_naissance\r\n" +
		nirParis + ";Dupont;Jean Pierre;1985-03-12\r\n" +
		nirAjaccio + ";Le Gall;Léa;1992-11-04\r\n" +
		nirBastia + ";Santoni;Marie-Ange;2001-05-20\r\n" +
		"185037511504217;Faux;Clé;1985-03-12\r\n" + // line 5: wrong key
		nirAbroad + ";Martin;;1988-09-01\r\n" + // line 6: no first name (a valid NIR: nothing may be written for it)
		nirPseudo + ";Bernard;Paul;1961-03-02\r\n" + // line 7: birth year does not match the NIR
		nirAjaccio + ";Le Gall;Léa;1992-11-04\r\n" + // line 8: duplicate
		"1;2\r\n" + // line 9: two columns
		"\r\n" +
		nirPseudo + ";Bernard;Paul;2099-03-02\r\n" // line 11: in the future
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func mustParseNIR(t *testing.T, s string) nir.NIR {
	t.Helper()
	n, err := nir.Parse(s)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return n
}

type insuredFixture struct {
	env   *kurrentdbtest.Env
	store *kurrentdb.Store
	keys  *keyedhash.Hasher
	now   time.Time
}

// newInsuredFixture starts an in-memory node and returns the importer's store and keys on it.
func newInsuredFixture(t *testing.T) *insuredFixture {
	t.Helper()
	env := kurrentdbtest.StartWith(t, kurrentdbtest.Options{NodeLogger: testLogger(), ClientLogger: testLogger()})
	store, err := insuredStore(env.Client, tempKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.FromHex(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	return &insuredFixture{env: env, store: store, keys: keys, now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
}

func (f *insuredFixture) importFile(t *testing.T, content string) insured.Report {
	t.Helper()
	im := insured.NewImporter(f.store, f.keys, func() time.Time { return f.now })
	rep, err := im.Import(testCtx(t), strings.NewReader(content), importInsuredActor, uuid.New())
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return rep
}

func (f *insuredFixture) history(t *testing.T, nirText string) []event.Envelope {
	t.Helper()
	h, err := f.store.Load(testCtx(t), insured.StreamFor(f.keys, mustParseNIR(t, nirText)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// allRecords reads the whole log with the official client, without the store's own events.
func (f *insuredFixture) allRecords(t *testing.T) []*esdb.RecordedEvent { return f.env.AllRecords(t) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func rejectedCodes(rep insured.Report) map[int]string {
	out := map[int]string{}
	for _, r := range rep.Rejected {
		out[r.Line] = r.Code
	}
	return out
}

func TestImportInsured(t *testing.T) {
	f := newInsuredFixture(t)

	rep := f.importFile(t, firstImport)
	if rep.Lines != 9 || rep.Imported != 3 || rep.Corrected != 0 || rep.Unchanged != 0 || rep.Position == 0 {
		t.Errorf("first import: %+v", rep)
	}
	wantRejected := map[int]string{
		5: "nir.invalid_key", 6: "insured.first_name_missing", 7: "nir.birth_year_mismatch",
		8: "insured.duplicate_in_file", 9: "insured.column_count", 11: "insured.birth_date_in_future",
	}
	if got := rejectedCodes(rep); !reflect.DeepEqual(got, wantRejected) {
		t.Errorf("rejected %v, want %v", got, wantRejected)
	}
	for _, r := range rep.Rejected {
		if r.Message == "" {
			t.Errorf("line %d: no message", r.Line)
		}
	}
	// nothing written for rejected lines, even those with a valid NIR
	for _, n := range []string{nirAbroad, nirPseudo, nirUnknown} {
		if h := f.history(t, n); len(h) != 0 {
			t.Errorf("a rejected line wrote %d events", len(h))
		}
	}
	h := f.history(t, nirParis)
	want := insured.Recorded{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean Pierre", BirthDate: "1985-03-12"}
	if len(h) != 1 || h[0].Event != want {
		t.Fatalf("Paris stream: %+v", h)
	}
	if m := h[0].Metadata; m.Actor != importInsuredActor || m.CommandID == uuid.Nil || m.CausationID != m.CommandID ||
		!m.OccurredAt.Equal(f.now) || h[0].EventID != event.DeriveID(m.CommandID, 0) {
		t.Errorf("metadata %+v, event id %s", m, h[0].EventID)
	}
	records := f.allRecords(t)
	if len(records) != 3 {
		t.Fatalf("%d events in the log, want 3", len(records))
	}
	// no NIR in a stream name or in metadata; streams are insured-<uuid>
	for _, re := range records {
		s, err := event.ParseStreamID(re.StreamID)
		if err != nil || s.Category != "insured" {
			t.Errorf("stream %q: %v", re.StreamID, err)
		}
		for _, body := range []string{"1850375115042", "292112A004017", "201052B033042"} {
			if strings.Contains(re.StreamID, body) || strings.Contains(string(re.UserMetadata), body) {
				t.Errorf("NIR in stream name or metadata of %s", re.StreamID)
			}
		}
	}

	// the same file again: nothing new
	again := f.importFile(t, firstImport)
	if again.Imported != 0 || again.Corrected != 0 || again.Unchanged != 3 || len(again.Rejected) != 6 || again.Position != 0 {
		t.Errorf("second import: %+v", again)
	}
	if n := len(f.allRecords(t)); n != 3 {
		t.Errorf("%d events after re-import, want 3", n)
	}

	// one changed row: one correction, the others unchanged
	changed := strings.Replace(firstImport, ";Le Gall;Léa;1992-11-04\r\n", ";Le Gall-Rivière;Léa;1992-11-04\r\n", 1)
	rep = f.importFile(t, changed)
	if rep.Imported != 0 || rep.Corrected != 1 || rep.Unchanged != 2 {
		t.Errorf("import with a change: %+v", rep)
	}
	h = f.history(t, nirAjaccio)
	if len(h) != 2 || h[1].Event != (insured.Corrected{LastName: "Le Gall-Rivière", FirstName: "Léa", BirthDate: "1992-11-04"}) {
		t.Fatalf("Ajaccio stream: %+v", h)
	}
	// line 8 is now the duplicate of a changed line: still rejected, not a second correction
	if rejectedCodes(rep)[8] != "insured.duplicate_in_file" {
		t.Errorf("rejected %v", rejectedCodes(rep))
	}

	// back to the first data: a second correction (a command id derived from the content alone would skip it)
	rep = f.importFile(t, firstImport)
	if rep.Corrected != 1 || rep.Unchanged != 2 {
		t.Errorf("import back to the first data: %+v", rep)
	}
	h = f.history(t, nirAjaccio)
	if len(h) != 3 || h[2].Event != (insured.Corrected{LastName: "Le Gall", FirstName: "Léa", BirthDate: "1992-11-04"}) {
		t.Fatalf("Ajaccio stream: %+v", h)
	}
	if n := len(f.allRecords(t)); n != 5 {
		t.Errorf("%d events in the log, want 5", n)
	}
}

func TestImportInsuredFileErrorsWriteNothing(t *testing.T) {
	f := newInsuredFixture(t)
	im := insured.NewImporter(f.store, f.keys, func() time.Time { return f.now })
	for content, want := range map[string]error{
		nirParis + ";Dupont;Jean;1985-03-12\n":                                     insured.ErrNoHeader,
		"nir;prenom;nom;date_naissance\n" + nirParis + ";Jean;Dupont;1985-03-12\n": insured.ErrHeader,
		"": insured.ErrEmptyFile,
	} {
		rep, err := im.Import(testCtx(t), strings.NewReader(content), importInsuredActor, uuid.New())
		if !errors.Is(err, want) || rep.Lines != 0 {
			t.Errorf("%q: %v, %+v", content, err, rep)
		}
	}
	if n := len(f.allRecords(t)); n != 0 {
		t.Errorf("%d events written", n)
	}
}

func TestMatchInsured(t *testing.T) {
	f := newInsuredFixture(t)
	f.importFile(t, firstImport)
	ref := insured.NewReference(f.store, f.keys)
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		nir         string
		last, first string
		birth       time.Time
		want        bool
	}{
		{"exact", nirParis, "Dupont", "Jean Pierre", date(1985, time.March, 12), true},
		{"case, accents, first given name", nirParis, "DUPONT", "jéan", date(1985, time.March, 12), true},
		{"spaced and lower-case NIR", "1 85 03 75 115 042 16", "dupont", "Jean-Pierre", date(1985, time.March, 12), true},
		{"Corsica, compound names", nirAjaccio, "LEGALL", "LEA", date(1992, time.November, 4), true},
		{"hyphenated first name", nirBastia, "Santoni", "marie ange", date(2001, time.May, 20), true},
		{"wrong last name", nirParis, "Durand", "Jean", date(1985, time.March, 12), false},
		{"wrong first name", nirParis, "Dupont", "Paul", date(1985, time.March, 12), false},
		{"wrong birth date", nirParis, "Dupont", "Jean", date(1985, time.March, 13), false},
		{"another person's identity", nirAjaccio, "Dupont", "Jean Pierre", date(1985, time.March, 12), false},
		{"unknown NIR", nirUnknown, "Durand", "Marie", date(1958, time.January, 1), false},
		{"rejected line's NIR", nirAbroad, "Martin", "", date(1988, time.September, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := ref.Match(testCtx(t), mustParseNIR(t, tt.nir), tt.last, tt.first, tt.birth)
			if err != nil || ok != tt.want {
				t.Errorf("Match = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
	// a correction takes effect at once (no projection in between)
	f.importFile(t, strings.Replace(firstImport, ";Dupont;", ";Dupont-Moreau;", 1))
	for last, want := range map[string]bool{"Dupont-Moreau": true, "Dupont": false} {
		ok, err := ref.Match(testCtx(t), mustParseNIR(t, nirParis), last, "Jean", date(1985, time.March, 12))
		if err != nil || ok != want {
			t.Errorf("after correction, %s: %v, %v", last, ok, err)
		}
	}
	// another server key names other streams: the reference is not found
	other, _ := keyedhash.FromHex(strings.Repeat("5a", 32))
	if ok, err := insured.NewReference(f.store, other).Match(testCtx(t), mustParseNIR(t, nirParis), "Dupont-Moreau", "Jean", date(1985, time.March, 12)); ok || err != nil {
		t.Errorf("other key: %v, %v", ok, err)
	}
}

// The command end to end in the embedded default: disk node, generated key file; run twice; the data survive.
func TestAdminImportInsuredCommand(t *testing.T) {
	cli := newAdminCLI(t)
	file := filepath.Join(cli.dir, "assures.csv")
	if err := os.WriteFile(file, []byte("nir,nom,prenom,date_naissance\n"+nirParis+",Dupont,Jean,1985-03-12\n"+nirAjaccio+",Le Gall,Léa,1992-11-04\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := cli.parse(t, append([]string{"import-insured"}, args...)...).ImportInsured
		var out bytes.Buffer
		cmd.stdout = &out
		err := cmd.Run(testCtx(t), testLogger())
		return out.String(), err
	}
	out, err := run(file)
	if err != nil || !strings.Contains(out, "imported:   2") || !strings.Contains(out, "rejected:   0") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if info, err := os.Stat(cli.keyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}
	out, err = run(file)
	if err != nil || !strings.Contains(out, "unchanged:  2") || !strings.Contains(out, "imported:   0") {
		t.Fatalf("second run: %v\n%s", err, out)
	}

	// a rejected line: the report names the line and the code, never the NIR or a name; the exit is an error
	if err := os.WriteFile(file, []byte("nir;nom;prenom;date_naissance\n185037511504217;Faux;Nom;1985-03-12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(file)
	if err == nil || !strings.Contains(out, "line 2: nir.invalid_key: ") || strings.Contains(out, "18503751150421") || strings.Contains(out, "Faux") {
		t.Fatalf("rejected run: %v\n%s", err, out)
	}

	// the events are on disk, under the generated key
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: cli.eventsDir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	client, err := kurrentdb.Connect(testCtx(t), node.ConnectionString(), kurrentdb.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store, err := insuredStore(client, cli.keys(t))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.LoadOrCreateKeyFile(cli.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := insured.NewReference(store, keys).Match(testCtx(t), mustParseNIR(t, nirAjaccio), "le gall", "léa", time.Date(1992, 11, 4, 0, 0, 0, 0, time.UTC))
	if err != nil || !ok {
		t.Errorf("Match after the command: %v, %v", ok, err)
	}
}

// Two imports of the same file at once: no error, and each person recorded once.
func TestImportInsuredConcurrently(t *testing.T) {
	f := newInsuredFixture(t)
	im := insured.NewImporter(f.store, f.keys, func() time.Time { return f.now })
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := im.Import(testCtx(t), strings.NewReader(firstImport), importInsuredActor, uuid.New())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.allRecords(t)); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
	for _, n := range []string{nirParis, nirAjaccio, nirBastia} {
		if h := f.history(t, n); len(h) != 1 {
			t.Errorf("%d events in a stream, want 1", len(h))
		}
	}
}
