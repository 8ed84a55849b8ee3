package simulation_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// goldenSaved is a saved estimate as written in 2026, spelt out (not computed): a stored estimate keeps its lines
// whatever the rates become.
var goldenSaved = simulation.EstimateSaved{
	EstimateID:  uuid.MustParse("8d3e2f4a-1b6c-5d7e-9f80-a1b2c3d4e5f6"),
	RatesYear:   2026,
	Status:      simulation.CotisantSolidarite,
	IncomeCents: 800_000,
	Lines: []simulation.Line{
		{Code: "cotisation-solidarite", Label: "Cotisation de solidarité", BaseCents: 800_000, Formula: "16 % du revenu", AmountCents: 128_000},
		{Code: "atexa", Label: "Accidents du travail et maladies professionnelles (ATEXA)", BaseCents: 0, Formula: "Forfait annuel", AmountCents: 6_000},
		{Code: "csg-crds", Label: "CSG et CRDS", BaseCents: 800_000, Formula: "9,70 % du revenu (CSG 9,20 %, CRDS 0,50 %)", AmountCents: 77_600},
	},
	TotalCents: 211_600,
	Disclaimer: "Estimation indicative calculée avec des taux simplifiés et approchés pour 2026.",
}

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON. Add a file whenever a definition gets a new version or name; never edit or
// delete one.
func TestGolden(t *testing.T) {
	want := map[string]any{"NSAEstimateSaved.v1.json": goldenSaved}
	eventtest.CheckDefinitions(t, simulation.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}

// A saved estimate reads back as the estimate the member was shown.
func TestSavedKeepsTheResult(t *testing.T) {
	in := simulation.Input{IncomeCents: 800_000, Status: simulation.CotisantSolidarite}
	r, err := simulation.Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	saved := simulation.Saved(uuid.New(), r)
	back := saved.Result()
	if back.Label != simulation.Label || back.Disclaimer != r.Disclaimer || back.TotalCents != r.TotalCents ||
		back.IncomeCents != r.IncomeCents || back.Status != r.Status || back.RatesYear != r.RatesYear || len(back.Lines) != len(r.Lines) {
		t.Fatalf("saved %+v\nread back %+v\nestimate %+v", saved, back, r)
	}
	for i := range r.Lines {
		if back.Lines[i] != r.Lines[i] {
			t.Errorf("line %d: read back %+v, estimated %+v", i, back.Lines[i], r.Lines[i])
		}
	}
	// the event owns its lines: changing the result afterwards does not change what was saved
	r.Lines[0].AmountCents++
	if saved.Lines[0].AmountCents == r.Lines[0].AmountCents {
		t.Error("the event shares the result's lines")
	}
}
