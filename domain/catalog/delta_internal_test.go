package catalog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// testDelta is a version for the tests only: it proves the mechanism and states no rule of the fund.
var testDelta = Delta{Version: "2026.2", From: Version2026_1, Reason: "test: a shorter handling time",
	Changes: []Change{SetHandlingDays{Service: "attestations-pro", Days: 3}}}

// chainWith builds the published base followed by ds, failing the test on an error.
func chainWith(t *testing.T, ds ...Delta) versionChain {
	t.Helper()
	chain, err := buildChain(Version2026_1, v2026_1, ds)
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

// dataJSON is the canonical JSON of c, with the version blanked so that two versions' data compare.
func dataJSON(t *testing.T, c *Catalog) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.canonical, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "version")
	return m
}

func TestCurrentVersionIsTheLastPublished(t *testing.T) {
	order := published().order
	if CurrentVersion != order[len(order)-1] || Current().Version() != CurrentVersion {
		t.Fatalf("CurrentVersion %s, published %v", CurrentVersion, order)
	}
}

func TestDeltaChangesOnlyWhatItSays(t *testing.T) {
	chain := chainWith(t, testDelta)
	if got := strings.Join(chain.order, " "); got != "2026.1 2026.2" {
		t.Fatalf("order %s", got)
	}
	prev, next := chain.byVersion["2026.1"], chain.byVersion["2026.2"]
	if next.Version() != "2026.2" || next.ETag() == prev.ETag() {
		t.Fatalf("version %s, ETag %s", next.Version(), next.ETag())
	}
	s, err := next.Lookup("attestations-pro")
	if err != nil || s.TargetHandlingDays != 3 {
		t.Fatalf("Lookup = %+v, %v", s.TargetHandlingDays, err)
	}
	// Put the one change back: what remains must be the previous version's data exactly.
	services := next.Services()
	services[0].TargetHandlingDays = 5
	undone := build("2026.1", next.Groups(), next.Queues(), services)
	if !bytes.Equal(undone.canonical, prev.canonical) {
		t.Fatal("the delta changed more than the handling time")
	}
}

// mutateAll is a change that edits every nested part of every service, to prove that a delta works on a deep copy.
type mutateAll struct{}

func (mutateAll) apply(c *content) error {
	for i := range c.services {
		s := &c.services[i]
		s.Label += " (changed)"
		for j := range s.Fields {
			f := &s.Fields[j]
			f.Label += " (changed)"
			for k := range f.Options {
				f.Options[k].Label += " (changed)"
			}
			if f.Min != nil {
				*f.Min = -7
			}
			if f.Max != nil {
				*f.Max = 7
			}
		}
		for j := range s.AppealRoutes {
			s.AppealRoutes[j] = "changed"
		}
		for j := range s.Documents {
			s.Documents[j].Label = "changed"
		}
	}
	for i := range c.groups {
		c.groups[i].Label = "changed"
	}
	for i := range c.queues {
		c.queues[i].Label = "changed"
	}
	return nil
}

// TestDeltaNeverAltersThePreviousVersion: a delta that rewrites every nested value of its copy leaves the version
// before it byte for byte as published (the same canonical JSON and ETag as Current, hence as its golden file).
func TestDeltaNeverAltersThePreviousVersion(t *testing.T) {
	published := Current()
	before := bytes.Clone(published.canonical)
	chain := chainWith(t, Delta{Version: "2026.2", From: Version2026_1, Reason: "test", Changes: []Change{mutateAll{}}})
	prev := chain.byVersion["2026.1"]
	again := build("2026.1", prev.groups, prev.queues, prev.services) // from the slices it holds, not its cache
	for _, c := range []*Catalog{prev, again, published} {
		if !bytes.Equal(c.canonical, before) || c.ETag() != published.ETag() {
			t.Fatal("building 2026.2 altered 2026.1")
		}
	}
	next := chain.byVersion["2026.2"]
	if f, _ := next.services[1].Field("land_area_ares"); *f.Max != 7 {
		t.Fatalf("the change did not apply: max %d", *f.Max)
	}
	if bytes.Equal(next.canonical, before) {
		t.Fatal("2026.2 equals 2026.1")
	}
}

func TestEachChange(t *testing.T) {
	rule := SilenceRule{Outcome: SilenceRejection, AfterMonths: 4, Basis: "test", Notice: "test"}
	extra := Service{Code: "test-service", Label: "Service de test", Group: GroupPersoRetraite, Kind: KindInformation,
		Description: "Test."}
	replaced, _ := Current().Lookup("bien-vivre-retraite")
	replaced.Label = "Bien vivre ma retraite (test)"
	replaced.Fields = replaced.Fields[:1]
	chain := chainWith(t, testDelta, Delta{Version: "2026.3", From: "2026.2", Reason: "test", Changes: []Change{
		AddQueue{Queue: Queue{Code: "test-queue", Label: "File de test"}},
		RouteToQueue{Service: "demande-retraite", Queue: "test-queue"},
		SetSilence{Service: "aide-logement", Rule: rule},
		AddService{After: "demande-retraite", Service: extra},
		ReplaceService{Service: replaced},
		RetireService{Service: "memo-sante-enfant"},
	}})
	v2, v3 := chain.byVersion["2026.2"], chain.byVersion["2026.3"]
	if got, _ := v3.Lookup("attestations-pro"); got.TargetHandlingDays != 3 {
		t.Error("2026.3 lost the change of 2026.2")
	}
	if got, _ := v3.Lookup("demande-retraite"); got.Queue != "test-queue" {
		t.Errorf("queue %s", got.Queue)
	}
	if _, ok := v3.Queue("test-queue"); !ok {
		t.Error("queue not added")
	}
	if got, _ := v3.Lookup("aide-logement"); got.Silence != rule {
		t.Errorf("silence %+v", got.Silence)
	}
	if got, _ := v3.Lookup("bien-vivre-retraite"); got.Label != replaced.Label || len(got.Fields) != 1 {
		t.Errorf("replaced %+v", got)
	}
	if _, err := v3.Lookup("memo-sante-enfant"); err == nil {
		t.Error("retired service still there")
	}
	if _, err := v2.Lookup("memo-sante-enfant"); err != nil {
		t.Error("retiring in 2026.3 removed the service from 2026.2")
	}
	var codes []string
	for _, s := range v3.Services() {
		codes = append(codes, s.Code)
	}
	if got := strings.Join(codes, " "); !strings.Contains(got, "demande-retraite test-service bien-vivre-retraite") ||
		len(codes) != len(v2.Services()) {
		t.Errorf("services %s", got)
	}
	if !equalData(dataJSON(t, v2), dataJSON(t, chainWith(t, testDelta).byVersion["2026.2"])) {
		t.Error("2026.3 altered 2026.2")
	}
}

func equalData(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestDeltaErrors(t *testing.T) {
	ok := testDelta
	tests := map[string][]Delta{
		"wrong from":         {{Version: "2026.2", From: "2025.9", Reason: "test", Changes: ok.Changes}},
		"skips a version":    {ok, {Version: "2026.3", From: "2026.1", Reason: "test", Changes: ok.Changes}},
		"version reused":     {ok, {Version: "2026.2", From: "2026.2", Reason: "test", Changes: ok.Changes}},
		"no reason":          {{Version: "2026.2", From: "2026.1", Changes: ok.Changes}},
		"no change":          {{Version: "2026.2", From: "2026.1", Reason: "test"}},
		"nil change":         {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{nil}}},
		"unknown service":    {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{SetHandlingDays{"carte-grise", 3}}}},
		"not a request":      {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{SetHandlingDays{"reglement-factures", 3}}}},
		"zero days":          {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{SetHandlingDays{"attestations-pro", 0}}}},
		"unknown queue":      {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{RouteToQueue{"attestations-pro", "nowhere"}}}},
		"queue twice":        {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{AddQueue{Queue{Code: "retraite"}}}}},
		"service code taken": {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{AddService{Service: Service{Code: "attestations-pro"}}}}},
		"after unknown":      {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{AddService{After: "nope", Service: Service{Code: "new"}}}}},
		"retire unknown":     {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{RetireService{"nope"}}}},
		"replace unknown":    {{Version: "2026.2", From: "2026.1", Reason: "test", Changes: []Change{ReplaceService{Service{Code: "nope"}}}}},
	}
	for name, ds := range tests {
		if _, err := buildChain(Version2026_1, v2026_1, ds); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
