package simulation

import (
	"slices"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// SavedCategory is the stream category of a member's saved estimates: "nsaestimates-<member id>". Only the
// member's own request to save an estimate writes there; Estimate itself stores nothing.
const SavedCategory = "nsaestimates"

// TypeEstimateSaved is the stable type name of EstimateSaved. It is stored with every event: never rename it.
const TypeEstimateSaved = "NSAEstimateSaved"

// EstimateSaved records an estimate a member chose to keep, as it was shown to them: the inputs, the rates year,
// every line (with its label and formula) and the total. The result is stored rather than recomputed because the
// rates change every year: a saved estimate must read the same later as the day it was saved. When it was saved is
// the event's occurred_at.
type EstimateSaved struct {
	EstimateID  uuid.UUID `json:"estimate_id" personal:"no"`
	RatesYear   int       `json:"rates_year" personal:"no"`
	Status      Status    `json:"status" personal:"no"`
	IncomeCents int64     `json:"income_cents" personal:"no"`
	Lines       []Line    `json:"lines" personal:"no"`
	TotalCents  int64     `json:"total_cents" personal:"no"`
	// Disclaimer is the warning shown with the estimate (it names the rates year, so it changes with the rates).
	Disclaimer string `json:"disclaimer" personal:"no"`
}

// Saved returns the event that keeps result under id.
func Saved(id uuid.UUID, result Result) EstimateSaved {
	return EstimateSaved{EstimateID: id, RatesYear: result.RatesYear, Status: result.Status,
		IncomeCents: result.IncomeCents, Lines: slices.Clone(result.Lines), TotalCents: result.TotalCents,
		Disclaimer: result.Disclaimer}
}

// Result returns the saved estimate as the member saw it (Label is always the package's Label).
func (e EstimateSaved) Result() Result {
	return Result{Label: Label, Disclaimer: e.Disclaimer, RatesYear: e.RatesYear, Status: e.Status,
		IncomeCents: e.IncomeCents, Lines: slices.Clone(e.Lines), TotalCents: e.TotalCents}
}

// Definitions lists the events of the package, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{event.Define[EstimateSaved](TypeEstimateSaved)}
}
