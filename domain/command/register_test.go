package command_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/registration"
)

func TestMemberRegisterActivateLogin(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	now := f.clock.Now()

	reg := f.register(t, memberJean)
	wantStarted := registration.Started{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean",
		BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678", TermsVersion: "2026-11"}
	wantIssued := registration.CodeIssued{Sequence: 1, ExpiresAt: now.Add(15 * time.Minute), Channel: "email",
		PolicyVersion: credential.CodePolicyVersion}
	if got := f.events(t, memberRegistrationStream(reg.RegistrationID)); !reflect.DeepEqual(got, []any{wantStarted, wantIssued}) {
		t.Fatalf("registration events: %#v", got)
	}
	code := f.activationCode(t, reg.RegistrationID)
	if len(code) != credential.CodeLength {
		t.Fatalf("code %q", code)
	}

	f.clock.Advance(3 * time.Minute)
	act, err := f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, code[:4]+" "+code[4:], memberPassword)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if act.MemberID == uuid.Nil || act.Position == 0 {
		t.Fatalf("Activate result: %+v", act)
	}
	if got := f.events(t, f.claimStream(t, memberNIRParis)); !reflect.DeepEqual(got, []any{member.Claimed{MemberID: act.MemberID}}) {
		t.Fatalf("claim events: %#v", got)
	}
	acct := f.events(t, memberStream(act.MemberID))
	if len(acct) != 2 {
		t.Fatalf("member events: %#v", acct)
	}
	wantRegistered := member.Registered{RegistrationID: reg.RegistrationID, NIR: "1850375115042", Key: 16, LastName: "Dupont",
		FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678"}
	if acct[0] != wantRegistered {
		t.Fatalf("Registered: %#v", acct[0])
	}
	set := acct[1].(member.PasswordSet)
	if set.Reason != "activation" || set.PolicyVersion != credential.PasswordPolicyVersion {
		t.Fatalf("PasswordSet: %#v", set)
	}
	if ok, err := f.hasher.Verify(ctx, memberPassword, set.Hash); err != nil || !ok {
		t.Fatalf("stored hash does not verify: %v", err)
	}
	regEvents := f.events(t, memberRegistrationStream(reg.RegistrationID))
	if got := regEvents[len(regEvents)-1]; got != (registration.Completed{MemberID: act.MemberID}) {
		t.Fatalf("last registration event: %#v", got)
	}

	session := uuid.New()
	login, err := f.h.Login(ctx, memberAnonymous(), "185037511504 2", memberPassword, session)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if login.MemberID != act.MemberID || login.Position <= act.Position {
		t.Fatalf("Login result: %+v", login)
	}
	acct = f.events(t, memberStream(act.MemberID))
	if got := acct[len(acct)-1]; got != (member.LoggedIn{SessionID: session}) {
		t.Fatalf("last member event: %#v", got)
	}

	// No code, password or NIR in clear anywhere but where it belongs: codes and passwords nowhere, the NIR only
	// in payloads (never in a stream name or metadata).
	for _, r := range f.allRecords(t) {
		for _, secret := range []string{code, memberPassword} {
			if bytes.Contains(r.Data, []byte(secret)) || bytes.Contains(r.UserMetadata, []byte(secret)) {
				t.Fatalf("%s in clear in %s", secret, r.StreamID)
			}
		}
		for _, n := range []string{"1850375115042", "292112A004017"} {
			if bytes.Contains([]byte(r.StreamID), []byte(n)) || bytes.Contains(r.UserMetadata, []byte(n)) {
				t.Fatalf("NIR in stream name or metadata of %s", r.StreamID)
			}
		}
	}
}

func TestMemberRegisterInvalidInputWritesNothing(t *testing.T) {
	f := newMemberFixture(t)
	before := len(f.allRecords(t))
	with := func(change func(*command.RegisterInput)) command.RegisterInput {
		in := memberJean
		change(&in)
		return in
	}
	tests := []struct {
		name, field, code string
		in                command.RegisterInput
	}{
		{"NIR too short", "nir", "nir.invalid_login_length", with(func(in *command.RegisterInput) { in.NIR = "18503751150" })},
		{"NIR with a letter", "nir", "nir.invalid_format", with(func(in *command.RegisterInput) { in.NIR = "18503751150X2" })},
		{"provisional NIR", "nir", "nir.provisional", with(func(in *command.RegisterInput) { in.NIR = "7850375115042" })},
		{"month 13", "nir", "nir.invalid_month", with(func(in *command.RegisterInput) { in.NIR = "1851375115042" })},
		{"no key", "key", "registration.key_required", with(func(in *command.RegisterInput) { in.Key = "" })},
		{"wrong key", "key", "nir.invalid_key", with(func(in *command.RegisterInput) { in.Key = "17" })},
		{"key 00", "key", "nir.invalid_key", with(func(in *command.RegisterInput) { in.Key = "00" })},
		{"key not digits", "key", "nir.invalid_key", with(func(in *command.RegisterInput) { in.Key = "1a" })},
		{"no last name", "last_name", "registration.last_name_required", with(func(in *command.RegisterInput) { in.LastName = " " })},
		{"last name with digits", "last_name", "registration.last_name_invalid", with(func(in *command.RegisterInput) { in.LastName = "Dupont 2" })},
		{"no first name", "first_name", "registration.first_name_required", with(func(in *command.RegisterInput) { in.FirstName = "" })},
		{"malformed birth date", "birth_date", "birth_date.invalid", with(func(in *command.RegisterInput) { in.BirthDate = "12/03/1985" })},
		{"birth date in the future", "birth_date", "birth_date.in_future", with(func(in *command.RegisterInput) { in.BirthDate = "2026-11-26" })},
		{"birth date before 1900", "birth_date", "birth_date.too_old", with(func(in *command.RegisterInput) { in.BirthDate = "1885-03-12" })},
		{"birth year not the NIR's", "birth_date", "nir.birth_year_mismatch", with(func(in *command.RegisterInput) { in.BirthDate = "1986-03-12" })},
		{"birth month not the NIR's", "birth_date", "nir.birth_month_mismatch", with(func(in *command.RegisterInput) { in.BirthDate = "1985-04-12" })},
		{"no email", "email", "email.required", with(func(in *command.RegisterInput) { in.Email = "" })},
		{"malformed email", "email", "email.invalid", with(func(in *command.RegisterInput) { in.Email = "jean.dupont@example" })},
		{"email with a display name", "email", "email.invalid", with(func(in *command.RegisterInput) { in.Email = "Jean <jean@example.fr>" })},
		{"landline phone", "mobile_phone", "phone.invalid", with(func(in *command.RegisterInput) { in.MobilePhone = "01 23 45 67 89" })},
		{"terms not accepted", "terms_accepted", "terms.not_accepted", with(func(in *command.RegisterInput) { in.TermsAccepted = false })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.h.Register(memberCtx(t), memberAnonymous(), tt.in)
			memberWant(t, err, failure.Invalid, tt.code, tt.field)
			if res != (command.RegisterResult{}) {
				t.Fatalf("result %+v with an error", res)
			}
			if msg, _ := messages.FR(tt.code); msg == "" {
				t.Fatalf("no message for %s", tt.code)
			}
		})
	}
	if after := len(f.allRecords(t)); after != before {
		t.Fatalf("%d events written by invalid forms", after-before)
	}
}

func TestMemberRegisterNoEnumeration(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	f.openAccount(t) // Jean has an account

	unknown := memberJean
	unknown.NIR, unknown.Key, unknown.BirthDate = "1880999350045", "24", "1988-09-01" // valid, never insured
	otherName := memberJean
	otherName.LastName = "Durand" // Jean's NIR with another name
	lea := command.RegisterInput{NIR: "292112A004017", Key: "59", LastName: "LE GALL", FirstName: "lea", BirthDate: "1992-11-04",
		Email: "lea@example.fr", TermsAccepted: true} // insured, not registered: goes on (names compared folded)

	cases := []struct {
		name   string
		in     command.RegisterInput
		reason string
	}{
		{"unknown NIR", unknown, registration.RefusedNotInsured},
		{"known NIR, another identity", otherName, registration.RefusedNotInsured},
		{"already registered", memberJean, registration.RefusedAlreadyRegistered},
		{"insured and new", lea, ""},
	}
	var ids []uuid.UUID
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.register(t, c.in) // same shape: an id and a position, no error
			ids = append(ids, res.RegistrationID)
			got := f.events(t, memberRegistrationStream(res.RegistrationID))
			if len(got) != 2 {
				t.Fatalf("events: %#v", got)
			}
			if c.reason == "" {
				if _, ok := got[1].(registration.CodeIssued); !ok {
					t.Fatalf("second event: %#v", got[1])
				}
			} else if got[1] != (registration.Refused{Reason: c.reason}) {
				t.Fatalf("second event: %#v", got[1])
			}

			// A resend answers the same (after the cooldown, and within it).
			_, err := f.h.ResendActivationCode(ctx, memberAnonymous(), res.RegistrationID)
			memberWant(t, err, failure.Rule, "code.resend_too_soon", "")
			if at, ok := command.RetryAt(err); !ok || !at.Equal(f.clock.Now().Add(time.Minute)) {
				t.Fatalf("RetryAt = %v, %t", at, ok)
			}
		})
	}
	f.clock.Advance(time.Minute)
	// After the cooldown: every resend succeeds with the same result, and a wrong code is counted everywhere.
	if len(ids) != len(cases) {
		t.Fatal("a case failed")
	}
	for _, id := range ids {
		res, err := f.h.ResendActivationCode(ctx, memberAnonymous(), id)
		if err != nil || res != (command.Result{}) {
			t.Fatalf("resend: %+v, %v", res, err)
		}
		_, err = f.h.Activate(ctx, memberAnonymous(), id, "12345678", memberPassword2)
		memberWant(t, err, failure.Rule, "code.wrong", "code")
		events := f.events(t, memberRegistrationStream(id))
		if got := events[len(events)-1]; got != (registration.CodeRejected{Attempt: 1}) {
			t.Fatalf("last event: %#v", got)
		}
	}
}

func TestMemberRegisterRetrySameCommand(t *testing.T) {
	f := newMemberFixture(t)
	meta := memberAnonymous()
	first, err := f.h.Register(memberCtx(t), meta, memberJean)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.h.Register(memberCtx(t), meta, memberJean)
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Fatalf("retry: %+v, first: %+v", again, first)
	}
	if n := f.countRecords(t, "registration-"); n != 2 {
		t.Fatalf("%d registration events after a retry", n)
	}
	other := f.register(t, memberJean) // a new command: a new registration
	if other.RegistrationID == first.RegistrationID {
		t.Fatal("a new command reused the registration")
	}
}

func TestMemberResendActivationCode(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	reg := f.register(t, memberJean)
	first := f.activationCode(t, reg.RegistrationID)

	f.clock.Advance(30 * time.Second)
	_, err := f.h.ResendActivationCode(ctx, memberAnonymous(), reg.RegistrationID)
	memberWant(t, err, failure.Rule, "code.resend_too_soon", "")

	f.clock.Advance(30 * time.Second)
	if _, err := f.h.ResendActivationCode(ctx, memberAnonymous(), reg.RegistrationID); err != nil {
		t.Fatal(err)
	}
	events := f.events(t, memberRegistrationStream(reg.RegistrationID))
	if got := events[len(events)-1]; got != (registration.CodeIssued{Sequence: 2, ExpiresAt: f.clock.Now().Add(15 * time.Minute),
		Channel: "email", PolicyVersion: credential.CodePolicyVersion}) {
		t.Fatalf("last event: %#v", got)
	}
	second := f.activationCode(t, reg.RegistrationID)
	if second == first {
		t.Fatal("the resent code is the first one")
	}
	_, err = f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, first, memberPassword)
	memberWant(t, err, failure.Rule, "code.wrong", "code")
	if _, err := f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, second, memberPassword); err != nil {
		t.Fatalf("Activate with the resent code: %v", err)
	}
	_, err = f.h.ResendActivationCode(ctx, memberAnonymous(), reg.RegistrationID)
	memberWant(t, err, failure.Rule, "registration.completed", "")
	_, err = f.h.ResendActivationCode(ctx, memberAnonymous(), uuid.New())
	memberWant(t, err, failure.NotFound, "registration.not_found", "")
}
