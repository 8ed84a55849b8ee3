package command_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// memberOpenRequests is a test double of the open-requests port: a fixed count per member.
type memberOpenRequests map[uuid.UUID]int

func (o memberOpenRequests) OpenRequestCount(_ context.Context, id uuid.UUID) (int, error) {
	return o[id], nil
}

// memberAdmin is the Meta of the erase-member operator command.
func memberAdmin() command.Meta {
	return command.Meta{Actor: event.Actor{ID: "admin/erase-member", Role: event.RoleSystem}, CommandID: uuid.New()}
}

func TestEraseMemberData(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	open := memberOpenRequests{id: 1}
	h := f.h.Members.WithOpenRequests(open)

	if _, err := f.h.Members.EraseMemberData(ctx, memberAdmin(), id, member.ErasureRequested, "DPO-1"); failure.KindOf(err) != failure.Internal {
		t.Fatalf("without the open-requests port: %v, want an internal error", err)
	}
	_, err := h.EraseMemberData(ctx, memberOf(id), id, member.ErasureRequested, "DPO-1")
	memberWant(t, err, failure.Forbidden, "member.erasure_forbidden", "")
	_, err = h.EraseMemberData(ctx, memberAdmin(), id, "because", "DPO-1")
	memberWant(t, err, failure.Invalid, "erasure.reason_invalid", "")
	_, err = h.EraseMemberData(ctx, memberAdmin(), id, member.ErasureRequested, "DPO-1")
	memberWant(t, err, failure.Rule, "member.open_requests", "")
	open[id] = 0

	if _, err := h.PlaceLegalHold(ctx, memberAdmin(), id, "LIT-1", "litigation"); err != nil {
		t.Fatal(err)
	}
	_, err = h.EraseMemberData(ctx, memberAdmin(), id, member.ErasureRequested, "DPO-1")
	memberWant(t, err, failure.Rule, "member.legal_hold", "")
	_, err = h.LiftLegalHold(ctx, memberAdmin(), id, "LIT-2")
	memberWant(t, err, failure.NotFound, "legal_hold.not_found", "")
	if _, err := h.LiftLegalHold(ctx, memberAdmin(), id, "LIT-1"); err != nil {
		t.Fatal(err)
	}

	meta := memberAdmin()
	res, err := h.EraseMemberData(ctx, meta, id, member.ErasureRequested, "DPO-1")
	if err != nil {
		t.Fatal(err)
	}
	reg := member.Fold(mustLoad(t, f, memberStream(id))).RegistrationID
	if !slices.Equal(res.Subjects, []uuid.UUID{id, reg}) || res.Position == 0 {
		t.Fatalf("result %+v, want subjects %v and %v", res, id, reg)
	}
	// A retry (same command id) and the same erasure again (same ticket) append nothing.
	before := len(f.events(t, memberStream(id)))
	for _, m := range []command.Meta{meta, memberAdmin()} {
		again, err := h.EraseMemberData(ctx, m, id, member.ErasureRequested, "DPO-1")
		if err != nil || !slices.Equal(again.Subjects, res.Subjects) {
			t.Fatalf("repeat: %+v, %v", again, err)
		}
	}
	if n := len(f.events(t, memberStream(id))); n != before {
		t.Fatalf("a repeat appended %d events", n-before)
	}
	_, err = h.EraseMemberData(ctx, memberAdmin(), id, member.ErasureRequested, "DPO-2")
	memberWant(t, err, failure.Rule, "member.erased", "")

	// The member's own commands fail cleanly; login and reset answer as for an unknown account.
	_, err = h.ChangePhone(ctx, memberOf(id), id, "06 98 76 54 32")
	memberWant(t, err, failure.Rule, "member.erased", "")
	_, err = h.ChangeAddress(ctx, memberOf(id), id, command.AddressInput{Line1: "1 rue de la Paix", PostalCode: "75002",
		City: "Paris"})
	memberWant(t, err, failure.Rule, "member.erased", "")
	_, err = h.RequestEmailChange(ctx, memberOf(id), id, "jean@nouveau.fr")
	memberWant(t, err, failure.Rule, "member.erased", "")
	_, err = h.ChangePassword(ctx, memberOf(id), id, memberPassword, memberPassword2, uuid.New())
	memberWant(t, err, failure.Rule, "member.erased", "")
	_, err = h.Logout(ctx, memberOf(id), id, uuid.New(), "")
	memberWant(t, err, failure.Rule, "member.erased", "")
	_, err = h.PlaceLegalHold(ctx, memberAdmin(), id, "LIT-3", "inspection")
	memberWant(t, err, failure.Rule, "member.erased", "")
	before = len(f.events(t, memberStream(id)))
	_, err = h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	if n := len(f.events(t, memberStream(id))); n != before {
		t.Fatal("a login of an erased member was recorded on its stream")
	}
	reset, err := h.RequestPasswordReset(ctx, memberAnonymous(), "1850375115042", memberJean.Email)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.events(t, memberResetStream(reset.ResetID)); len(got) != 1 ||
		got[0] != (member.ResetRefused{Reason: member.ResetRefusedUnknownAccount}) {
		t.Fatalf("reset of an erased member: %v, want refused as unknown", got)
	}
}

func mustLoad(t *testing.T, f *memberFixture, s event.StreamID) []event.Envelope {
	t.Helper()
	h, err := f.store.Load(memberCtx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
