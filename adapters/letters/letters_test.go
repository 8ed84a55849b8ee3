package letters_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/letters"
	"github.com/msa-dossier/dossier/adapters/letters/letterstest"
)

var fund = letters.Fund{Name: "MSA Exemple", Service: "Service des prestations", Address: "1 rue de l'Exemple\n00000 Exemple"}

func TestDecisionLetterSaysTheDecisionAndTheAppealDeadline(t *testing.T) {
	decided := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	d := letters.Decision{Fund: fund, Reference: "MSA-2026-7KQ2-M9XD-3F0A", Service: "Prime d'activité",
		ReceivedAt: decided.Add(-72 * time.Hour), DecidedAt: decided, Reason: "Ressources supérieures au plafond.",
		RuleApplied: "prime_activite.plafond", CatalogVersion: "2026.1", AuthorName: "Claire Dupont",
		AuthorPosition: "Gestionnaire conseil", AppealRoutes: []string{"Recours amiable : commission de recours amiable (CRA)."},
		AppealMonths: 2, DeemedDays: 15, LatestAppealOn: time.Date(2027, 2, 21, 0, 0, 0, 0, time.UTC)}
	pdf, err := letters.DecisionLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	if typ, err := filecheck.Check(context.Background(), pdf, 1<<20); err != nil || typ != "application/pdf" {
		t.Fatalf("the deposit check refuses the letter: %q %v", typ, err)
	}
	text := letterstest.Flat(t, pdf)
	for _, want := range []string{"Notification de décision", "MSA-2026-7KQ2-M9XD-3F0A", "votre demande est REJETÉE",
		"Ressources supérieures au plafond.", "prime_activite.plafond", "version 2026.1", "Claire Dupont, Gestionnaire conseil",
		"dans un délai de 2 mois à compter de sa notification", "15 jours après sa mise à disposition",
		"le 21 février 2027 au plus tard", "commission de recours amiable (CRA)", "Le 6 décembre 2026", "reçue le 3 décembre 2026,"} {
		if !strings.Contains(text, want) {
			t.Errorf("the letter does not say %q:\n%s", want, text)
		}
	}
	d.Approved, d.Reason = true, ""
	pdf2, err := letters.DecisionLetter(d)
	if err != nil {
		t.Fatal(err)
	}
	if text := letterstest.Flat(t, pdf2); !strings.Contains(text, "votre demande est ACCEPTÉE") || strings.Contains(text, "Motifs") {
		t.Errorf("approval letter:\n%s", text)
	}
}

func TestPaymentAttestation(t *testing.T) {
	pdf, err := letters.PaymentAttestation(letters.Attestation{Fund: fund, Year: 2026,
		AsOf: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), Payments: []letters.Payment{
			{PaidOn: "2026-03-05", Label: "Indemnités journalières", AmountCents: 123450},
			{PaidOn: "2026-04-05", Label: "Indemnités journalières", AmountCents: 99}}})
	if err != nil {
		t.Fatal(err)
	}
	text := letterstest.Flat(t, pdf)
	for _, want := range []string{"Attestation de paiements 2026", "2026-03-05 Indemnités journalières 1 234,50 €",
		"0,99 €", "Total : 1 235,49 €"} {
		if !strings.Contains(text, want) {
			t.Errorf("the attestation does not say %q:\n%s", want, text)
		}
	}
}
