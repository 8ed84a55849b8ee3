package documentmail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/documentmail"
	"github.com/msa-dossier/dossier/domain/document"
)

// TestAcknowledgementSaysWhatCameAndNothingPersonal: the reference, the moment in Paris time, the counts and where the
// deposit went; never a file name, a person or a reason.
func TestAcknowledgementSaysWhatCameAndNothingPersonal(t *testing.T) {
	id := uuid.New()
	d := document.Deposit{Submitted: document.Submitted{SubmissionID: id, Reference: document.Reference(id),
		Documents: []document.Document{{Nature: "tax_notice", Files: []document.File{{}, {}}}, {Nature: "other", Files: []document.File{{}}}},
		Details:   []document.Detail{{Person: "Alice Martin", Reason: "RIB changé", FileNames: []string{"rib.pdf"}}}}}
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 12, 6, 9, 5, 0, 0, time.UTC).In(paris)
	for disposition, says := range map[string]string{
		document.DispositionInformationAnswer: "le délai de traitement reprend son cours",
		document.DispositionCaseFile:          "joint au dossier de votre demande",
		document.DispositionIntake:            "rattachera à votre dossier",
	} {
		m := documentmail.Acknowledgement(d, disposition, at)
		if !strings.Contains(m.Subject, d.Reference) || !strings.Contains(m.Text, d.Reference) ||
			!strings.Contains(m.Text, "06/12/2026 à 10h05") || !strings.Contains(m.Text, "2 document(s), 3 fichier(s)") ||
			!strings.Contains(m.Text, says) {
			t.Errorf("%s:\n%s", disposition, m.Text)
		}
		for _, personal := range []string{"Alice", "RIB changé", "rib.pdf"} {
			if strings.Contains(m.Text, personal) || strings.Contains(m.Subject, personal) {
				t.Errorf("%s: the mail holds %q", disposition, personal)
			}
		}
	}
}
