package document_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

var (
	goldenID      = uuid.MustParse("6a1f0c2e-3b4d-5e6f-8a9b-0c1d2e3f4a5b")
	goldenRequest = uuid.MustParse("1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0")
	goldenAt      = time.Date(2026, 12, 6, 10, 15, 0, 0, time.UTC)
)

var goldenSubmitted = document.Submitted{SubmissionID: goldenID, Reference: "DOC-6A1F-0C2E-3B4D", ListsVersion: "2026.1",
	Subject: document.SubjectInformationAnswer, RequestID: goldenRequest, AttestedAt: goldenAt,
	Documents: []document.Document{{Nature: "tax_notice", Files: []document.File{{Type: document.TypePDF, Size: 18234,
		SHA256:  "3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6",
		BlobKey: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5c4b3", StoredSize: 18262}}}},
	Details: []document.Detail{{Person: "Alice Martin", Reason: "Avis demandé par ma caisse", FileNames: []string{"avis-2025.pdf"}}}}

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON. Add a file whenever a definition gets a new version or name; never edit or
// delete one. (Run with DOCUMENT_GOLDEN_WRITE=1 once to write a new file.)
func TestGolden(t *testing.T) {
	want := map[string]any{
		"DocumentsSubmitted.v1.json": goldenSubmitted,
		"DocumentsSubmissionRegistered.v1.json": document.Registered{SubmissionID: goldenID,
			Disposition: document.DispositionInformationAnswer, RequestID: goldenRequest},
		"DocumentsSubmissionAttached.v1.json": document.Attached{SubmissionID: goldenID, RequestID: goldenRequest},
	}
	if os.Getenv("DOCUMENT_GOLDEN_WRITE") != "" {
		reg, err := event.NewRegistry(document.Definitions())
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range want {
			typ, _, data, err := reg.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(map[string]any{"type": typ, "data": json.RawMessage(data)})
			if _, err := os.Stat(filepath.Join("testdata", name)); err == nil {
				continue // never rewrite a published payload
			}
			if err := os.WriteFile(filepath.Join("testdata", name), append(raw, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventtest.CheckDefinitions(t, document.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}

// TestFoldHandlesEveryEvent: the fold knows every defined event type.
func TestFoldHandlesEveryEvent(t *testing.T) {
	samples := []any{goldenSubmitted, document.Registered{SubmissionID: goldenID, Disposition: document.DispositionIntake}, document.Attached{SubmissionID: goldenID, RequestID: goldenRequest}}
	if len(samples) != len(document.Definitions()) {
		t.Fatalf("%d samples for %d definitions", len(samples), len(document.Definitions()))
	}
	var st document.State
	for _, s := range samples {
		if !st.Apply(s, goldenAt) {
			t.Errorf("the fold ignores %T", s)
		}
	}
	d := st.Deposits[goldenID]
	if d == nil || d.Status != document.StatusRegistered || d.Disposition != document.DispositionCaseFile || d.CaseID != goldenRequest {
		t.Errorf("deposit after the fold: %+v", d)
	}
}
