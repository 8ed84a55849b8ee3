package staff_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// goldenStaff are the values of the golden payloads under testdata, by file name. The package had none before the
// TOTP reset, the rehash and the administrators' registry; the files of the older events hold their encoding as it
// has been stored since they were introduced (none of them changed).
func goldenStaff() map[string]any {
	const hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	staffID := uuid.MustParse("5b0f1c2e-8a0d-4d8e-9a51-3c1d2f7e6b10")
	other := uuid.MustParse("8f14e45f-ceea-467a-9af4-4c6e2a1b0d3c")
	session := uuid.MustParse("0d9e3f4a-6b7c-4d8e-9f10-a1b2c3d4e5f6")
	return map[string]any{
		"StaffMemberCreated.v1.json":      staff.Created{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"caseworker", "admin"}},
		"StaffPasswordSet.v1.json":        staff.PasswordSet{Hash: hash, PolicyVersion: "2026-11-pw1+staff14"}, // a payload as stored: the policy of its day
		"StaffTOTPEnrolled.v1.json":       staff.TOTPEnrolled{Sequence: 1},
		"StaffTOTPConfirmed.v1.json":      staff.TOTPConfirmed{Sequence: 1, Step: 59_000_000},
		"StaffLoggedIn.v1.json":           staff.LoggedIn{SessionID: session, Step: 59_000_000},
		"StaffLoginFailed.v1.json":        staff.LoginFailed{Failures: 2, Reason: staff.ReasonTOTP},
		"StaffAccountLocked.v1.json":      staff.Locked{Until: time.Date(2026, 11, 25, 9, 45, 0, 0, time.UTC), Reason: staff.LockReasonFailures},
		"StaffLoggedOut.v1.json":          staff.LoggedOut{SessionID: session},
		"StaffRolesChanged.v1.json":       staff.RolesChanged{Roles: []string{"caseworker", "medical"}},
		"StaffLoginClaimed.v1.json":       staff.LoginClaimed{StaffID: staffID},
		"MemberDataOpenedByStaff.v1.json": staff.MemberDataOpened{StaffID: staffID, Role: "caseworker", What: "member.account"}, // before the subject
		"MemberDataOpenedByStaff.v1.subject.json": staff.MemberDataOpened{StaffID: staffID, Role: "auditor", What: "case.file",
			Subject: "MSA-2026-7KQ2-M9XD-3F0A"},
		"StaffQueuesAssigned.v1.json":       staff.QueuesAssigned{Queues: []string{"famille", "sante-invalidite"}},
		"StaffTOTPReset.v1.json":            staff.TOTPReset{PreviousSequence: 1},
		"StaffPasswordRehashed.v1.json":     staff.PasswordRehashed{Hash: hash},
		"StaffAdminConfirmed.v1.json":       staff.AdminConfirmed{StaffID: staffID, Revision: 7},
		"StaffAdminRemovalApproved.v1.json": staff.AdminRemovalApproved{StaffID: other, Revision: 12, Remaining: []uuid.UUID{staffID}},
		"StaffMemberDirectorySearched.v1.json": staff.MemberDirectorySearched{StaffID: staffID, Role: "caseworker", Kind: "name",
			Results: 1, MemberIDs: []uuid.UUID{other}},
	}
}

// TestGolden proves that every stored payload under testdata still decodes to the current Go value, and that the
// current value encodes to the same JSON (field names are the stored format). Add a file whenever a definition
// gets a new version or name; never edit or delete one. Every definition must have one.
func TestGolden(t *testing.T) {
	want := goldenStaff()
	eventtest.CheckDefinitions(t, staff.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}
