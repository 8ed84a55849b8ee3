package inbox_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/inbox"
)

var (
	goldenID     = uuid.MustParse("5d2c1b0a-4e3f-4a6b-9c8d-7e6f5a4b3c2d")
	goldenSource = uuid.MustParse("1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0")
	goldenAt     = time.Date(2026, 12, 6, 10, 15, 0, 0, time.UTC)
)

var goldenPublished = inbox.Published{DocumentID: goldenID, Kind: inbox.KindDecisionLetter, SourceID: goldenSource,
	Title: "Décision sur votre demande MSA-2026-7KQ2-M9XD-3F0A", FileName: "decision-MSA-2026-7KQ2-M9XD-3F0A.pdf",
	ContentType: "application/pdf", Size: 2345, SHA256: "3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6",
	BlobKey: "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5c4b3", StoredSize: 2373}

// TestGolden: every stored payload under testdata still decodes to the current Go value and back. Add a file for a
// new definition (INBOX_GOLDEN_WRITE=1 writes missing ones); never edit or delete one.
func TestGolden(t *testing.T) {
	want := map[string]any{
		"InboxDocumentPublished.v1.json":      goldenPublished,
		"InboxDocumentOpened.v1.json":         inbox.Opened{DocumentID: goldenID},
		"InboxDocumentDeemedNotified.v1.json": inbox.DeemedNotified{DocumentID: goldenID, NotifiedAt: goldenAt.Add(inbox.DeemedAfter)},
	}
	if os.Getenv("INBOX_GOLDEN_WRITE") != "" {
		reg, err := event.NewRegistry(inbox.Definitions())
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
				continue
			}
			if err := os.WriteFile(filepath.Join("testdata", name), append(raw, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventtest.CheckDefinitions(t, inbox.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}

// TestFoldHandlesEveryEvent: the fold knows every defined event type, and the notification is the first of the
// opening and the deemed date.
func TestFoldHandlesEveryEvent(t *testing.T) {
	samples := []any{goldenPublished, inbox.Opened{DocumentID: goldenID}, inbox.DeemedNotified{DocumentID: goldenID, NotifiedAt: goldenAt}}
	if len(samples) != len(inbox.Definitions()) {
		t.Fatalf("%d samples for %d definitions", len(samples), len(inbox.Definitions()))
	}
	var st inbox.State
	opened := goldenAt.Add(time.Hour)
	for i, s := range samples {
		at := goldenAt
		if i == 1 {
			at = opened
		}
		if !st.Apply(s, at) {
			t.Errorf("the fold ignores %T", s)
		}
	}
	d := st.Documents[goldenID]
	if d == nil || !d.OpenedAt.Equal(opened) || !d.NotifiedAt.Equal(opened) || d.Deemed {
		t.Errorf("document after the fold: %+v", d)
	}
	var never inbox.State
	never.Apply(goldenPublished, goldenAt)
	never.Apply(inbox.DeemedNotified{DocumentID: goldenID, NotifiedAt: inbox.DeemedAt(goldenAt)}, goldenAt.Add(20*24*time.Hour))
	never.Apply(inbox.Opened{DocumentID: goldenID}, goldenAt.Add(21*24*time.Hour))
	if d := never.Documents[goldenID]; !d.Deemed || !d.NotifiedAt.Equal(goldenAt.Add(15*24*time.Hour)) || d.OpenedAt.IsZero() {
		t.Errorf("deemed then opened: %+v", d)
	}
}
