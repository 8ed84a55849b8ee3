package member_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/member"
)

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	expires := time.Date(2026, 11, 25, 9, 45, 0, 0, time.UTC)
	mid := uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21")
	const hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	exhausted := true
	want := map[string]any{
		"MemberRegistered.v1.json":                      identity,
		"MemberPasswordSet.v1.json":                     member.PasswordSet{Hash: hash, PolicyVersion: "2026-11-pw1", Reason: "change", SessionID: session},
		"MemberPasswordSet.v1.activation.json":          member.PasswordSet{Hash: hash, PolicyVersion: "2026-11-pw1", Reason: "activation"},
		"MemberLoggedIn.v1.json":                        member.LoggedIn{SessionID: session},
		"MemberLoginFailed.v1.json":                     member.LoginFailed{Failures: 3},
		"MemberAccountLocked.v1.json":                   member.Locked{Until: expires, Reason: "too_many_failures"},
		"MemberLoggedOut.v1.json":                       member.LoggedOut{SessionID: session, Reason: "logout"},
		"MemberPostalAddressChanged.v1.json":            member.AddressChanged{Line1: "12 rue des Lilas", Line2: "Bâtiment B", PostalCode: "75015", City: "Paris", Country: "FR", EffectiveFrom: "2026-12-01"},
		"MemberPhoneChanged.v1.json":                    member.PhoneChanged{MobilePhone: "+33712345678"},
		"MemberEmailChangeRequested.v1.json":            member.EmailChangeRequested{NewEmail: "jean@nouveau.fr", Sequence: 2, ExpiresAt: expires, PolicyVersion: "2026-11-code1"},
		"MemberEmailChangeCodeRejected.v1.json":         member.EmailChangeRejected{Attempt: 1}, // before the verdict
		"MemberEmailChangeCodeRejected.v1.verdict.json": member.EmailChangeRejected{Attempt: 5, Exhausted: &exhausted},
		"MemberPasswordRehashed.v1.json":                member.PasswordRehashed{Hash: hash},
		"MemberEmailChanged.v1.json":                    member.EmailChanged{Email: "jean@nouveau.fr"},
		"NIRClaimed.v1.json":                            member.Claimed{MemberID: mid},
		"PasswordResetRequested.v1.json":                member.ResetRequested{MemberID: mid, Sequence: 1, ExpiresAt: expires, PolicyVersion: "2026-11-code1"},
		"PasswordResetCodeRejected.v1.json":             member.ResetCodeRejected{Attempt: 4},
		"PasswordResetLocked.v1.json":                   member.ResetLocked{Reason: "too_many_attempts"},
		"PasswordResetCompleted.v1.json":                member.ResetCompleted{},
		"PasswordResetRefused.v1.json":                  member.ResetRefused{Reason: "email_mismatch"},
		"MemberDataErased.v1.json":                      member.DataErased{Reason: member.ErasureRequested, Ticket: "DPO-2026-0042", Subjects: []uuid.UUID{mid, session}},
		"MemberLegalHoldPlaced.v1.json":                 member.LegalHoldPlaced{Ticket: "CTX-2026-007", Reason: "litigation"},
		"MemberLegalHoldLifted.v1.json":                 member.LegalHoldLifted{Ticket: "CTX-2026-007"},
	}
	eventtest.CheckDefinitions(t, member.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}
