package catalog_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/catalog"
)

// update writes the golden file of every version that has none yet: go test ./domain/catalog -run TestGolden -update.
var update = flag.Bool("update", false, "write the golden file of each catalog version that has none")

// rewriteEnv names the one version whose existing golden file -update may overwrite.
const rewriteEnv = "CATALOG_GOLDEN_REWRITE"

// goldenFile is the file that pins a version's published content.
func goldenFile(version string) string {
	return filepath.Join("testdata", "catalog-"+version+".json")
}

// TestGolden pins every published version: its canonical JSON (what GET /v1/catalog serves and its ETag hashes)
// must be exactly its golden file under testdata, indented there so that a diff is readable.
//
// A version with a golden file is published: members' requests and decisions name it, so it never changes. Hence
// -update only creates the files that are missing (a new version); for a version whose file exists and differs it
// still fails, unless CATALOG_GOLDEN_REWRITE names that version. Set it only for a version that was never released
// (a delta still under review); for a released one, the answer is a new delta. A golden file whose version the
// package no longer builds fails too: a published version is never withdrawn.
func TestGolden(t *testing.T) {
	versions := catalog.Versions()
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			c, err := catalog.Load(v)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			file := goldenFile(v)
			golden, err := os.ReadFile(file)
			switch {
			case os.IsNotExist(err) && *update:
				writeGolden(t, file, indented.Bytes())
				return
			case os.IsNotExist(err):
				t.Fatalf("version %s has no golden file %s: run go test ./domain/catalog -run TestGolden -update "+
					"and review it", v, file)
			case err != nil:
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, golden); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if bytes.Equal(compact.Bytes(), raw) {
				return
			}
			if *update && os.Getenv(rewriteEnv) == v {
				writeGolden(t, file, indented.Bytes())
				return
			}
			t.Fatalf("version %s differs from its golden file %s (first difference near: %s).\nA published "+
				"version never changes: state the change as a new Delta. Only for a version never released, run "+
				"%s=%s go test ./domain/catalog -run TestGolden -update",
				v, file, firstDifference(indented.String(), string(golden)), rewriteEnv, v)
		})
	}
	files, err := filepath.Glob(filepath.Join("testdata", "catalog-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "catalog-"), ".json")
		if !slices.Contains(versions, v) {
			t.Errorf("golden file %s pins version %s, which the package no longer builds", f, v)
		}
	}
}

func writeGolden(t *testing.T, file string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: review its diff before committing", file)
}

// firstDifference returns the first line of got that differs from want, with its line number.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: %s", i+1, strings.TrimSpace(g[i]))
		}
	}
	return fmt.Sprintf("line %d", min(len(g), len(w))+1)
}
