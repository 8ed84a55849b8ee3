package registration_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/registration"
)

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	expires := time.Date(2026, 11, 25, 9, 45, 0, 0, time.UTC)
	want := map[string]any{
		"RegistrationStarted.v1.json":    applicantGolden,
		"RegistrationRefused.v1.json":    registration.Refused{Reason: "not_insured"},
		"ActivationCodeIssued.v1.json":   registration.CodeIssued{Sequence: 1, ExpiresAt: expires, Channel: "email", PolicyVersion: "2026-11-code1"},
		"ActivationCodeRejected.v1.json": registration.CodeRejected{Attempt: 2},
		"RegistrationLocked.v1.json":     registration.Locked{Reason: "too_many_attempts"},
		"RegistrationCompleted.v1.json":  registration.Completed{MemberID: uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21")},
	}
	checkGolden(t, registration.Definitions(), want)
}

var applicantGolden = registration.Started{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean",
	BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678", TermsVersion: "2026-11"}

func checkGolden(t *testing.T, defs []event.Definition, want map[string]any) {
	t.Helper()
	reg, err := event.NewRegistry(defs)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("golden file %s has no expectation in this test", name)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var stored struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			covered[stored.Type] = true
			got, err := reg.Decode(stored.Type, 1, stored.Data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("decoded %#v\nwant %#v", got, w)
			}
			name, _, data, err := reg.Encode(w)
			if err != nil || name != stored.Type {
				t.Fatalf("encode: %s, %v", name, err)
			}
			var a, b any
			if err := json.Unmarshal(data, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(stored.Data, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("encodes to %s\nstored    %s", data, stored.Data)
			}
		})
	}
	for _, d := range defs {
		if !covered[d.Name()] {
			t.Errorf("no golden payload for %s", d.Name())
		}
	}
}
