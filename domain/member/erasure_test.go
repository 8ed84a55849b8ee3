package member_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/member"
)

var (
	erased = join(registered, on(t0.Add(-time.Hour), member.DataErased{Reason: member.ErasureRequested,
		Ticket: "DPO-2026-17", Subjects: []uuid.UUID{memberID, regID}}))
	held = join(registered, on(t0.Add(-time.Hour), member.LegalHoldPlaced{Ticket: "LIT-1", Reason: "litigation"}))
)

func TestMemberErasure(t *testing.T) {
	run(t, []row{
		{name: "erase: the member's and the registration's keys",
			given: registered,
			when: func(m *member.Member) error {
				return m.EraseData(memberID, member.ErasureRequested, "DPO-2026-17", 0, t0)
			},
			then: []any{member.DataErased{Reason: member.ErasureRequested, Ticket: "DPO-2026-17",
				Subjects: []uuid.UUID{memberID, regID}}}},
		{name: "retention, no ticket",
			given: registered,
			when:  func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRetentionEnded, "", 0, t0) },
			then:  []any{member.DataErased{Reason: member.ErasureRetentionEnded, Subjects: []uuid.UUID{memberID, regID}}}},
		{name: "unknown reason", given: registered,
			when:    func(m *member.Member) error { return m.EraseData(memberID, "because", "T1", 0, t0) },
			wantErr: member.ErrErasureReason},
		{name: "ticket with a space", given: registered,
			when: func(m *member.Member) error {
				return m.EraseData(memberID, member.ErasureRequested, "Jean Dupont", 0, t0)
			},
			wantErr: member.ErrTicketInvalid},
		{name: "no account",
			when:    func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRequested, "T1", 0, t0) },
			wantErr: member.ErrNotFound},
		{name: "refused under a legal hold", given: held,
			when:    func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRequested, "T1", 0, t0) },
			wantErr: member.ErrLegalHold},
		{name: "refused with open requests", given: registered,
			when:    func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRequested, "T1", 2, t0) },
			wantErr: member.ErrOpenRequests},
		{name: "hold lifted, then erased",
			given: join(held, on(t0.Add(-30*time.Minute), member.LegalHoldLifted{Ticket: "LIT-1"})),
			when:  func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRequested, "T1", 0, t0) },
			then: []any{member.DataErased{Reason: member.ErasureRequested, Ticket: "T1",
				Subjects: []uuid.UUID{memberID, regID}}}},
		{name: "the same erasure again records nothing", given: erased,
			when: func(m *member.Member) error {
				return m.EraseData(memberID, member.ErasureRequested, "DPO-2026-17", 0, t0)
			}},
		{name: "another erasure of an erased member", given: erased,
			when:    func(m *member.Member) error { return m.EraseData(memberID, member.ErasureRequested, "T2", 0, t0) },
			wantErr: member.ErrErased},
	})
}

func TestMemberLegalHold(t *testing.T) {
	run(t, []row{
		{name: "place", given: registered,
			when: func(m *member.Member) error { return m.PlaceLegalHold("LIT-1", "litigation", t0) },
			then: []any{member.LegalHoldPlaced{Ticket: "LIT-1", Reason: "litigation"}}},
		{name: "place again records nothing", given: held,
			when: func(m *member.Member) error { return m.PlaceLegalHold("LIT-1", "litigation", t0) }},
		{name: "unknown reason", given: registered,
			when:    func(m *member.Member) error { return m.PlaceLegalHold("LIT-1", "curiosity", t0) },
			wantErr: member.ErrLegalHoldReason},
		{name: "empty ticket", given: registered,
			when:    func(m *member.Member) error { return m.PlaceLegalHold("", "litigation", t0) },
			wantErr: member.ErrTicketInvalid},
		{name: "no account",
			when:    func(m *member.Member) error { return m.PlaceLegalHold("LIT-1", "litigation", t0) },
			wantErr: member.ErrNotFound},
		{name: "lift", given: held,
			when: func(m *member.Member) error { return m.LiftLegalHold("LIT-1", t0) },
			then: []any{member.LegalHoldLifted{Ticket: "LIT-1"}}},
		{name: "lift a hold not in force", given: registered,
			when:    func(m *member.Member) error { return m.LiftLegalHold("LIT-1", t0) },
			wantErr: member.ErrLegalHoldNotFound},
		{name: "place on an erased member", given: erased,
			when:    func(m *member.Member) error { return m.PlaceLegalHold("LIT-1", "litigation", t0) },
			wantErr: member.ErrErased},
	})
}

// After erasure every decision of the account is refused with ErrErased, and nothing is recorded.
func TestErasedMemberCommandsRefused(t *testing.T) {
	decisions := map[string]func(m *member.Member) error{
		"check login":     func(m *member.Member) error { return m.CheckLogin(t0) },
		"login succeeded": func(m *member.Member) error { return m.LoginSucceeded(session, firstPassword.Hash, t0) },
		"login failed":    func(m *member.Member) error { return m.LoginFailed(t0, logins) },
		"logout":          func(m *member.Member) error { return m.Logout(session, "", t0) },
		"address":         func(m *member.Member) error { return m.ChangeAddress(address, t0) },
		"phone":           func(m *member.Member) error { return m.ChangePhone("+33698765432", t0) },
		"email change":    func(m *member.Member) error { return m.RequestEmailChange("jean@nouveau.fr", t0, codes) },
		"email confirm":   func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0, codes) },
		"rehash":          func(m *member.Member) error { return m.RehashPassword(firstPassword.Hash, "$argon2id$hash2", t0) },
		"password change": func(m *member.Member) error {
			return m.SetPassword("$argon2id$hash2", firstPassword.PolicyVersion, member.ReasonChange, firstPassword.Hash, session, t0)
		},
		"password reset": func(m *member.Member) error {
			return m.SetPassword("$argon2id$hash2", firstPassword.PolicyVersion, member.ReasonReset, "", uuid.Nil, t0)
		},
		"register again": func(m *member.Member) error { return m.Register(identity, "$argon2id$hash2", "v", t0) },
		"lift a hold":    func(m *member.Member) error { return m.LiftLegalHold("LIT-1", t0) },
	}
	for name, decide := range decisions {
		t.Run(name, func(t *testing.T) {
			m := member.Rehydrate(join(erased, emailRequested(1, t0.Add(-15*time.Minute))))
			if !m.Erased() {
				t.Fatal("not erased")
			}
			if err := decide(m); !errors.Is(err, member.ErrErased) {
				t.Fatalf("err = %v, want %v", err, member.ErrErased)
			}
			if len(m.Events()) != 0 {
				t.Fatalf("recorded %v", m.Events())
			}
		})
	}
}

// The erasure's events read back through the fold: the holds in force, the erasure.
func TestErasureFold(t *testing.T) {
	s := member.Fold(join(held, on(t0, member.LegalHoldPlaced{Ticket: "LIT-2", Reason: "inspection"})))
	if m := member.Rehydrate(join(held, on(t0, member.LegalHoldPlaced{Ticket: "LIT-2", Reason: "inspection"}))); len(m.LegalHolds()) != 2 ||
		m.LegalHolds()[0] != "LIT-1" || !s.LegalHolds["LIT-2"] {
		t.Fatalf("holds = %v", m.LegalHolds())
	}
	if !member.Fold(erased).Erased {
		t.Fatal("erasure not folded")
	}
}
