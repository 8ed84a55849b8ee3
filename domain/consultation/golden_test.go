package consultation_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	normalized := payment()
	normalized.Label = "Allocations familiales décembre"
	s := statement()
	want := map[string]any{
		"DailyAllowanceStatementRecorded.v1.json": statement(),
		"MemberPaymentRecorded.v1.json":           normalized,
		"MemberInvoiceIssued.v1.json":             invoice(),
		"MemberInvoicePaid.v1.json": consultation.InvoicePaid{InvoiceID: "F-2026-77", AmountCents: 123_456,
			PaidAt: time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC), Method: "card"},
		"PaymentAttestationIssued.v1.json": consultation.PaymentAttestationIssued{
			AttestationID: uuid.MustParse("5f0c1c7e-8d55-4d1e-9a59-0e2b9c0a6b11"), Year: 2025,
			Kinds: []string{"family_benefits", "housing_aid"}},
		"FinanceFactParked.v1.json":           consultation.FactParked{Payment: &normalized},
		"FinanceFactParked.v1.statement.json": consultation.FactParked{Statement: &s},
		"ParkedFinanceFactsDelivered.v1.json": consultation.ParkedFactsDelivered{
			MemberID:  uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21"),
			Delivered: []consultation.FactRef{{Kind: "payment", ID: "PF:2025-12-0042"}},
			Refused:   []consultation.RefusedFact{{Kind: "invoice", ID: "F-2026-77", Code: "consultation.conflicting_record"}}},
	}
	eventtest.CheckDefinitions(t, consultation.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}
