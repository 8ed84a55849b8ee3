package staff

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

func TestResetTOTP(t *testing.T) {
	locked := concat(confirmed(), failures(5, ReasonTOTP), []any{Locked{Until: now.Add(time.Hour), Reason: LockReasonFailures}})
	s := Rehydrate(staffID, envelopes(concat(locked, []any{LoggedIn{SessionID: session2, Step: 900}})))
	if !s.SessionOpen(session1) || !s.SessionOpen(session2) || s.SessionOpen(uuid.New()) {
		t.Fatal("sessions before the reset")
	}
	if err := s.ResetTOTP(); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending(); !reflect.DeepEqual(got, []any{TOTPReset{PreviousSequence: 1}, TOTPEnrolled{Sequence: 2}}) {
		t.Fatalf("recorded %#v", got)
	}
	// The old sessions end, the lock ends, the new enrolment waits for its first code, the replay guard starts again.
	if s.SessionOpen(session1) || s.SessionOpen(session2) {
		t.Error("a session opened before the reset is still open")
	}
	if _, isLocked := s.LockedUntil(now); isLocked || s.TOTPConfirmed() || s.TOTPSequence() != 2 || s.LastStep() != 0 {
		t.Errorf("after the reset: locked %t, confirmed %t, sequence %d, last step %d", isLocked, s.TOTPConfirmed(), s.TOTPSequence(), s.LastStep())
	}
	// The first code of the new secret confirms it and opens a session, even at a step the old secret used.
	s = Rehydrate(staffID, envelopes(concat(locked, []any{TOTPReset{PreviousSequence: 1}, TOTPEnrolled{Sequence: 2}})))
	sess := uuid.New()
	if err := s.Authenticate(Attempt{At: now, SessionID: sess, PasswordOK: true, CheckTOTP: func(seq int, last int64) (int64, error) {
		if seq != 2 || last != 0 {
			t.Errorf("checked against sequence %d after step %d", seq, last)
		}
		return 1000, nil
	}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending(); !reflect.DeepEqual(got, []any{TOTPConfirmed{Sequence: 2, Step: 1000}, LoggedIn{SessionID: sess, Step: 1000}}) {
		t.Errorf("first login after the reset: %#v", got)
	}
	if !s.SessionOpen(sess) || s.SessionOpen(session1) {
		t.Error("sessions after the new login")
	}
	// A logout ends one session; an unknown account cannot be reset.
	s = Rehydrate(staffID, envelopes(concat(confirmed(), []any{LoggedOut{SessionID: session1}})))
	if s.SessionOpen(session1) {
		t.Error("a logged-out session is open")
	}
	if err := Rehydrate(staffID, nil).ResetTOTP(); !errors.Is(err, ErrNotFound) {
		t.Errorf("reset of nobody: %v", err)
	}
}

func TestRehashPassword(t *testing.T) {
	s := Rehydrate(staffID, envelopes(confirmed()))
	s.RehashPassword("$argon2id$other", "$argon2id$new") // verified against a hash that is not the stored one
	s.RehashPassword(hash, "")
	if len(s.Pending()) != 0 {
		t.Fatalf("recorded %#v", s.Pending())
	}
	s.RehashPassword(hash, "$argon2id$new")
	if got := s.Pending(); !reflect.DeepEqual(got, []any{PasswordRehashed{Hash: "$argon2id$new"}}) || s.PasswordHash() != "$argon2id$new" {
		t.Errorf("recorded %#v, hash %q", got, s.PasswordHash())
	}
}

// admins folds registry events given in order.
func admins(events ...any) *Admins {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Stream: AdminRegistryStream(), Revision: uint64(i), Event: e}
	}
	return RehydrateAdmins(out)
}

func TestAdminsRegistry(t *testing.T) {
	a, b := uuid.MustParse("00000000-0000-4000-8000-00000000000a"), uuid.MustParse("00000000-0000-4000-8000-00000000000b")

	// The last one cannot go; with another counted, the removal is approved and names who remains.
	reg := admins(AdminConfirmed{StaffID: a, Revision: 3})
	if err := reg.ApproveRemoval(a, 7); !errors.Is(err, ErrLastAdmin) || len(reg.Pending()) != 0 {
		t.Fatalf("last admin: %v, %#v", err, reg.Pending())
	}
	reg.Confirm(b, 2)
	if err := reg.ApproveRemoval(a, 7); err != nil {
		t.Fatal(err)
	}
	if got := reg.Pending(); !reflect.DeepEqual(got, []any{AdminConfirmed{StaffID: b, Revision: 2},
		AdminRemovalApproved{StaffID: a, Revision: 7, Remaining: []uuid.UUID{b}}}) {
		t.Fatalf("recorded %#v", got)
	}
	if reg.IsAdmin(a) || !reg.IsAdmin(b) || !reflect.DeepEqual(reg.List(), []uuid.UUID{b}) {
		t.Errorf("after the removal: %v", reg.List())
	}

	// The highest staff-stream revision decides, whatever order the entries arrive in: a confirmation read before an
	// approved removal never outranks it, one read after it does (a confirmation wins a tie: it is a read).
	for _, tt := range []struct {
		name   string
		events []any
		admin  bool
	}{
		{"removal after an older confirmation", []any{AdminConfirmed{StaffID: a, Revision: 4}, AdminRemovalApproved{StaffID: a, Revision: 4}}, false},
		{"older confirmation arriving after the removal", []any{AdminRemovalApproved{StaffID: a, Revision: 4}, AdminConfirmed{StaffID: a, Revision: 4}}, false},
		{"confirmation of the revision the removal was to land on", []any{AdminRemovalApproved{StaffID: a, Revision: 4}, AdminConfirmed{StaffID: a, Revision: 5}}, true},
		{"later confirmation", []any{AdminRemovalApproved{StaffID: a, Revision: 4}, AdminConfirmed{StaffID: a, Revision: 9}}, true},
		{"stale removal arriving late", []any{AdminConfirmed{StaffID: a, Revision: 9}, AdminRemovalApproved{StaffID: a, Revision: 4}}, true},
	} {
		if got := admins(tt.events...).IsAdmin(a); got != tt.admin {
			t.Errorf("%s: admin %t, want %t", tt.name, got, tt.admin)
		}
	}

	// Confirm records only what changes the count.
	reg = admins(AdminConfirmed{StaffID: a, Revision: 3}, AdminRemovalApproved{StaffID: b, Revision: 8})
	reg.Confirm(a, 5) // counted already
	reg.Confirm(b, 6) // outranked by the removal (it lands at 9)
	reg.Confirm(uuid.Nil, 1)
	if len(reg.Pending()) != 0 {
		t.Errorf("confirmations that change nothing were recorded: %#v", reg.Pending())
	}
	reg.Confirm(b, 9)
	if !reg.IsAdmin(b) || len(reg.Pending()) != 1 {
		t.Errorf("a confirmation after the removal: %#v", reg.Pending())
	}
}

func TestAccessLabels(t *testing.T) {
	if AccessPurposeLabel(ViewMemberAccount) == AccessPurposeLabel("something.new") || AccessPurposeLabel("something.new") == "" {
		t.Error("purpose labels")
	}
	for _, r := range []string{RoleCaseworker, RoleSupervisor, RoleAuditor, RoleAdmin} {
		if AccessRoleLabel(r) == AccessRoleLabel("unknown") {
			t.Errorf("no label for %s", r)
		}
	}
}
