package command_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

func TestMemberChangeAddressAndPhone(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	start := len(f.events(t, memberStream(id)))

	addr := command.AddressInput{Line1: "12 rue des Lilas", PostalCode: "75015", City: "Paris", EffectiveFrom: "2026-12-01"}
	res, err := f.h.ChangeAddress(ctx, memberOf(id), id, addr)
	if err != nil || res.Position == 0 {
		t.Fatalf("ChangeAddress: %+v, %v", res, err)
	}
	if _, err := f.h.ChangeAddress(ctx, memberOf(id), id, addr); err != nil { // the same: nothing new
		t.Fatal(err)
	}
	if _, err := f.h.ChangePhone(ctx, memberOf(id), id, "+33 7 12 34 56 78"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.ChangePhone(ctx, memberOf(id), id, ""); err != nil {
		t.Fatal(err)
	}
	want := []any{
		member.AddressChanged{Line1: "12 rue des Lilas", PostalCode: "75015", City: "Paris", Country: "FR", EffectiveFrom: "2026-12-01"},
		member.PhoneChanged{MobilePhone: "+33712345678"},
		member.PhoneChanged{MobilePhone: ""},
	}
	if got := f.events(t, memberStream(id))[start:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %#v\nwant %#v", got, want)
	}

	bad := []struct {
		in          command.AddressInput
		code, field string
	}{
		{command.AddressInput{PostalCode: "75015", City: "Paris"}, "address.line1_required", "line1"},
		{command.AddressInput{Line1: "1 rue", PostalCode: "7515", City: "Paris"}, "address.postal_code_invalid", "postal_code"},
		{command.AddressInput{Line1: "1 rue", PostalCode: "75015"}, "address.city_required", "city"},
		{command.AddressInput{Line1: "1 rue", PostalCode: "75015", City: "Paris", Country: "ZZ"}, "address.country_invalid", "country"},
		{command.AddressInput{Line1: "1 rue", PostalCode: "75015", City: "Paris", EffectiveFrom: "2025-11-24"}, "address.effective_from_too_early", "effective_from"},
		{command.AddressInput{Line1: "1 rue", PostalCode: "75015", City: "Paris", EffectiveFrom: "demain"}, "address.effective_from_invalid", "effective_from"},
	}
	for _, b := range bad {
		_, err := f.h.ChangeAddress(ctx, memberOf(id), id, b.in)
		memberWant(t, err, failure.Invalid, b.code, b.field)
	}
	_, err = f.h.ChangePhone(ctx, memberOf(id), id, "01 23 45 67 89")
	memberWant(t, err, failure.Invalid, "phone.invalid", "mobile_phone")
	if got := len(f.events(t, memberStream(id))); got != start+len(want) {
		t.Fatal("invalid changes wrote events")
	}

	unknown := uuid.New()
	_, err = f.h.ChangeAddress(ctx, memberOf(unknown), unknown, addr)
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	_, err = f.h.ChangePhone(ctx, memberOf(unknown), unknown, "0612345678")
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	_, err = f.h.RequestEmailChange(ctx, memberOf(unknown), unknown, "x@example.fr")
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(unknown), unknown, "12345678")
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	_, err = f.h.ChangePassword(ctx, memberOf(unknown), unknown, memberPassword, memberPassword2, uuid.New())
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	if n := f.countRecords(t, "member-"+unknown.String()); n != 0 {
		t.Fatal("a command created an unknown member's stream")
	}
}

func TestMemberEmailChange(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	start := len(f.events(t, memberStream(id)))

	_, err := f.h.RequestEmailChange(ctx, memberOf(id), id, "JEAN.DUPONT@example.fr")
	memberWant(t, err, failure.Rule, "email.unchanged", "email")
	_, err = f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@")
	memberWant(t, err, failure.Invalid, "email.invalid", "email")
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(id), id, "12345678")
	memberWant(t, err, failure.Rule, "email_change.none", "")

	if _, err := f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@Nouveau.FR"); err != nil {
		t.Fatal(err)
	}
	requested := member.EmailChangeRequested{NewEmail: "jean@nouveau.fr", Sequence: 1, ExpiresAt: f.clock.Now().Add(15 * time.Minute),
		PolicyVersion: credential.CodePolicyVersion}
	if got := f.events(t, memberStream(id))[start:]; !reflect.DeepEqual(got, []any{requested}) {
		t.Fatalf("events: %#v", got)
	}
	_, err = f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@autre.fr")
	memberWant(t, err, failure.Rule, "code.resend_too_soon", "")

	code := command.EmailChangeCode(f.keys, id, 1)
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(id), id, memberWrongCode(code))
	memberWant(t, err, failure.Rule, "code.wrong", "code")
	if _, err := f.h.ConfirmEmailChange(ctx, memberOf(id), id, code); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	events := f.events(t, memberStream(id))
	notExhausted := false
	if !reflect.DeepEqual(events[len(events)-2:], []any{member.EmailChangeRejected{Attempt: 1, Exhausted: &notExhausted}, member.EmailChanged{Email: "jean@nouveau.fr"}}) {
		t.Fatalf("events: %#v", events[start:])
	}
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(id), id, code)
	memberWant(t, err, failure.Rule, "email_change.none", "")

	// A second change: five wrong codes void it; expired codes are refused.
	f.clock.Advance(time.Minute)
	if _, err := f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@troisieme.fr"); err != nil {
		t.Fatal(err)
	}
	code = command.EmailChangeCode(f.keys, id, 2)
	for i := 1; i <= 5; i++ {
		_, err := f.h.ConfirmEmailChange(ctx, memberOf(id), id, memberWrongCode(code))
		if i < 5 {
			memberWant(t, err, failure.Rule, "code.wrong", "code")
		} else {
			memberWant(t, err, failure.Rule, "code.attempts_exhausted", "")
		}
	}
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(id), id, code)
	memberWant(t, err, failure.Rule, "code.attempts_exhausted", "")

	f.clock.Advance(time.Minute)
	if _, err := f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@quatrieme.fr"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(15 * time.Minute)
	_, err = f.h.ConfirmEmailChange(ctx, memberOf(id), id, command.EmailChangeCode(f.keys, id, 3))
	memberWant(t, err, failure.Rule, "code.expired", "code")
}
