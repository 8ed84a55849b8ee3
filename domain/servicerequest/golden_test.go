package servicerequest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event/eventtest"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// goldenValues are the current Go values of the stored payloads under testdata, by file name.
func goldenValues() map[string]any {
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	until := time.Date(2026, 2, 25, 23, 0, 0, 0, time.UTC)
	return map[string]any{
		"ServiceRequestSubmitted.v1.json": sr.Submitted{MemberID: memberID, ServiceCode: "complementaire-sante-solidaire",
			CatalogVersion: "2026.1", Form: json.RawMessage(`{"household":2,"resources":11200}`), CommandID: commandID},
		"ServiceRequestAcknowledged.v1.json": sr.Acknowledged{Reference: "MSA-2026-QCEC-G7FP-JY2M", ReceivedAt: at,
			HandlingTime: sr.Period{Count: 30, Unit: sr.Days}, DueOn: "2026-03-02",
			Silence:            sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
			ImplicitDecisionOn: "2026-03-31", TimeZone: "Europe/Paris",
			AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée ; vous pouvez demander une attestation."},
		"ServiceRequestAcknowledged.v1.none.json": sr.Acknowledged{Reference: "MSA-2026-QCEC-G7FP-JY2M", ReceivedAt: at,
			HandlingTime: sr.Period{Count: 5, Unit: sr.Days}, DueOn: "2026-02-05",
			Silence:            sr.SilenceRule{Outcome: sr.NoImplicitDecision},
			ImplicitDecisionOn: "", TimeZone: "Europe/Paris",
			AppealRoutes: "Recours amiable : vous pouvez contester la décision devant la commission de recours amiable."},
		"ServiceRequestAcknowledged.v1.office.json": sr.Acknowledged{Reference: "MSA-2026-QCEC-G7FP-JY2M", ReceivedAt: at,
			HandlingTime: sr.Period{Count: 30, Unit: sr.Days}, DueOn: "2026-03-02",
			Silence:            sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
			ImplicitDecisionOn: "2026-03-31", TimeZone: "Europe/Paris",
			AppealRoutes:    "À défaut de réponse dans ce délai, votre demande est acceptée ; vous pouvez demander une attestation.",
			ServiceInCharge: office},
		"ServiceRequestQueued.v1.json":               sr.Queued{Queue: "sante"},
		"ServiceRequestClaimed.v1.json":              sr.Claimed{Caseworker: worker},
		"ServiceRequestReleased.v1.json":             sr.Released{Caseworker: worker},
		"ServiceRequestReassigned.v1.json":           sr.Reassigned{Supervisor: supervisor, From: worker, To: worker2},
		"ServiceRequestReassigned.v1.unclaimed.json": sr.Reassigned{Supervisor: supervisor, To: worker2},
		"ServiceRequestInformationRequested.v1.json": sr.InformationRequested{Caseworker: worker,
			Items: []string{"Avis d'imposition 2025", "RIB"}, Deadline: until},
		"ServiceRequestInformationReceived.v1.json":       sr.InformationReceived{What: "Avis d'imposition 2025 déposé"},
		"ServiceRequestInformationDeadlineLapsed.v1.json": sr.InformationDeadlineLapsed{Deadline: until},
		"ServiceRequestDecided.v1.json": sr.Decided{Caseworker: worker, Decision: sr.Rejected,
			Reason: "Ressources supérieures au plafond.", CatalogVersion: "2026.1", RuleApplied: "c2s.resources"},
		"ServiceRequestDecided.v1.author.json": sr.Decided{Caseworker: worker, Decision: sr.Rejected,
			Reason: "Ressources supérieures au plafond.", CatalogVersion: "2026.1", RuleApplied: "c2s.resources",
			AuthorName: "Claire Dupont", AuthorPosition: "Gestionnaire de dossiers"},
		"ServiceRequestDecided.v1.approved.json": sr.Decided{Caseworker: worker, Decision: sr.Approved,
			CatalogVersion: "2026.1", RuleApplied: "c2s.eligibility"},
		"ServiceRequestClosed.v1.json":    sr.Closed{Reason: "lapsed"},
		"ServiceRequestWithdrawn.v1.json": sr.Withdrawn{MemberID: memberID, Reason: "Je n'en ai plus besoin"},
		"ServiceRequestNoteAdded.v1.json": sr.NoteAdded{Author: worker2, Text: "Appeler l'adhérent lundi."},
		"ServiceRequestReferenceClaimed.v1.json": sr.ReferenceClaimed{Reference: "MSA-2026-QCEC-G7FP-JY2M",
			RequestID: uuid.MustParse("0b7f3c2e-4d5a-4f6b-8c9d-1e2f3a4b5c6d")},
	}
}

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	want := goldenValues()
	eventtest.CheckDefinitions(t, sr.Definitions(), want)
	eventtest.ExpectFiles(t, want) // with CheckDefinitions' "no expectation" check: as many files as expectations
}
