// Package eventtest checks golden payloads: events as the event store keeps them, in files under a package's
// testdata directory, which must keep decoding to the current Go values.
package eventtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
// that every definition in defs has a file.
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
	})
	for _, d := range defs {
		if !covered[d.Name()] {
			t.Errorf("no golden payload for %s", d.Name())
		}
	}
}
