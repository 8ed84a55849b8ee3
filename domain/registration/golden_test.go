package registration_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/registration"
)

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	expires := time.Date(2026, 11, 25, 9, 45, 0, 0, time.UTC)
	want := map[string]any{
		"RegistrationStarted.v1.json":    applicantGolden,
		"RegistrationRefused.v1.json":    registration.Refused{Reason: "not_insured"},
		"ActivationCodeIssued.v1.json":   registration.CodeIssued{Sequence: 1, ExpiresAt: expires, Channel: "email", PolicyVersion: "2026-11-code1"},
		"ActivationCodeRejected.v1.json": registration.CodeRejected{Attempt: 2},
		"RegistrationLocked.v1.json":     registration.Locked{Reason: "too_many_attempts"},
		"RegistrationCompleted.v1.json":  registration.Completed{MemberID: uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21")},
	}
	eventtest.CheckDefinitions(t, registration.Definitions(), want)
}

var applicantGolden = registration.Started{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean",
	BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678", TermsVersion: "2026-11"}
