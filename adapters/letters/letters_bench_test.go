package letters_test

import (
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/letters"
)

// BenchmarkDecisionLetter measures making one decision letter (fpdf, then pdfcpu's rewrite without /Names).
func BenchmarkDecisionLetter(b *testing.B) {
	d := letters.Decision{Fund: fund, Reference: "MSA-2026-7KQ2-M9XD-3F0A", Service: "Prime d'activité",
		ReceivedAt: time.Now().Add(-72 * time.Hour), DecidedAt: time.Now(), Reason: "Ressources supérieures au plafond.",
		RuleApplied: "prime_activite.plafond", CatalogVersion: "2026.1", AuthorName: "Claire Dupont",
		AuthorPosition: "Gestionnaire conseil", AppealRoutes: []string{"Recours amiable.", "Recours contentieux."},
		AppealMonths: 2, DeemedDays: 15, LatestAppealOn: time.Now().AddDate(0, 2, 15)}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		pdf, err := letters.DecisionLetter(d)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes/letter")
}
