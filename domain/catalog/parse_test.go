package catalog_test

import (
	"os"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/catalog"
)

// TestParseReadsThePublishedForm: the golden file of the current version parses back to the same catalogue (same
// canonical JSON, hence the same ETag).
func TestParseReadsThePublishedForm(t *testing.T) {
	data, err := os.ReadFile("testdata/catalog-" + catalog.CurrentVersion + ".json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != catalog.CurrentVersion || c.ETag() != catalog.Current().ETag() {
		t.Fatalf("parsed %s %s, want %s %s", c.Version(), c.ETag(), catalog.CurrentVersion, catalog.Current().ETag())
	}
}

// TestParseNamesEveryProblem: a file with several faults is refused with each of them named; malformed JSON is
// placed on its line.
func TestParseNamesEveryProblem(t *testing.T) {
	bad := `{"version": "", "groups": [{"code": "g", "label": "G", "space": "perso", "space_label": "P"}],
	"queues": [{"code": "q", "label": "Q"}],
	"services": [
	 {"code": "a", "label": "A", "group": "g", "kind": "request", "queue": "nowhere", "target_handling_days": 0,
	  "silence": {"outcome": "acceptance", "after_months": 0, "basis": "", "notice": ""}},
	 {"code": "a", "label": "B", "group": "h", "kind": "request", "queue": "q", "target_handling_days": 10,
	  "silence": {"outcome": "maybe", "basis": "", "notice": ""}}]}`
	_, err := catalog.Parse([]byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"version: empty", `unknown queue "nowhere"`, "target_handling_days 0", "after_months 0",
		`services[1] "a": code empty or duplicated`, `unknown group "h"`, `silence outcome "maybe"`, "7 problem(s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q:\n%v", want, err)
		}
	}
	for in, want := range map[string]string{
		"{\n \"version\": \"x\",\n \"groups\": [}":          "line 3",
		`{"version": "x", "colour": "blue"}`:                `unknown field "colour"`,
		`{"version": "x", "queues": [{"code": 3}]}`:         "line 1",
		`{"version": "x", "groups": [], "services": []} {}`: "data after",
	} {
		if _, err := catalog.Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
