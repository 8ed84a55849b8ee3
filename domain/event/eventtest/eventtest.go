// Package eventtest checks golden payloads: events as the event store keeps them, in files under a package's
// testdata directory, which must keep decoding to the current Go values; and seals personal data in tests with an
// in-memory event.Sealer (MemorySealer).
package eventtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Stored is the content of a golden file: one event as the event store keeps it.
type Stored struct {
	Type     string          `json:"type"`
	Metadata json.RawMessage `json:"metadata"`
	Data     json.RawMessage `json:"data"`
}

// EachGolden runs check, in a subtest named after the file, on every file of testdata matching pattern, with the
// file's content and its expectation in want. It fails when no file matches, and a file when want has no
// expectation for it.
func EachGolden[W any](t *testing.T, pattern string, want map[string]W, check func(t *testing.T, stored Stored, want W)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
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
			var stored Stored
			if err := json.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			check(t, stored, w)
		})
	}
}

// ExpectFiles fails for every name in want that has no file under testdata.
func ExpectFiles[W any](t *testing.T, want map[string]W) {
	t.Helper()
	for name := range want {
		if _, err := os.Stat(filepath.Join("testdata", name)); err != nil {
			t.Errorf("expected golden file %s: %v", name, err)
		}
	}
}

// CheckDefinitions proves that every file of testdata/*.json decodes with a registry of defs to its expectation
// in want, that the expectation encodes back to the file's type and JSON (field names are the stored format), and
// that every definition in defs has a file. It also seals each expectation with a MemorySealer (CheckSealed).
func CheckDefinitions(t *testing.T, defs []event.Definition, want map[string]any) {
	t.Helper()
	reg, err := event.NewRegistry(defs)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	EachGolden(t, "*.json", want, func(t *testing.T, stored Stored, w any) {
		covered[stored.Type] = true
		got, err := reg.Decode(stored.Type, 1, stored.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("decoded %#v\nwant %#v", got, w)
		}
		typ, _, data, err := reg.Encode(w)
		if err != nil || typ != stored.Type {
			t.Fatalf("encode: %s, %v", typ, err)
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
		CheckSealed(t, reg, w)
	})
	for _, d := range defs {
		if !covered[d.Name()] {
			t.Errorf("no golden payload for %s", d.Name())
		}
	}
}

// CheckSealed proves that the event value v, encoded by reg with a MemorySealer, leaves none of its personal fields
// (`personal:"yes"`) in the stored JSON, opens back to v, and once its subject's key is erased still opens, without
// an error, marked Erased when something was sealed.
func CheckSealed(t *testing.T, reg *event.Registry, v any) {
	t.Helper()
	sealer := NewMemorySealer()
	sreg := reg.WithSealer(sealer)
	subject := uuid.New()
	meta := event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: "eventtest", Role: event.RoleSystem}, OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Subject: subject}
	rec, err := sreg.NewRecord(event.NewStreamID("golden", uuid.New()), meta, 0, v)
	if err != nil {
		t.Fatalf("sealed encode: %v", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &members); err != nil {
		t.Fatalf("sealed payload %s: %v", rec.Data, err)
	}
	var personal []string
	for _, d := range reg.Definitions() {
		if d.Name() == rec.Type {
			personal = d.Personal()
		}
	}
	for _, name := range personal {
		if _, clear := members[name]; clear {
			t.Errorf("personal field %q stored in clear: %s", name, rec.Data)
		}
	}
	_, sealed := members["_sealed"]
	env, err := sreg.Open(rec)
	if err != nil {
		t.Fatalf("open sealed record: %v", err)
	}
	if !reflect.DeepEqual(env.Event, v) || env.Erased || env.Metadata.Subject != subject {
		t.Fatalf("sealed round trip: %#v (erased %v, subject %s)\nwant %#v", env.Event, env.Erased, env.Metadata.Subject, v)
	}
	sealer.Erase(subject)
	env, err = sreg.Open(rec)
	if err != nil {
		t.Fatalf("open erased record: %v", err)
	}
	if env.Erased != sealed {
		t.Fatalf("erased record: Erased = %v, sealed = %v", env.Erased, sealed)
	}
}
