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

func TestMemberChangePassword(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	session := uuid.New()
	start := len(f.events(t, memberStream(id)))

	_, err := f.h.ChangePassword(ctx, memberOf(id), id, memberPassword, "court", session)
	memberWant(t, err, failure.Invalid, "password.too_short", "new_password")
	_, err = f.h.ChangePassword(ctx, memberOf(id), id, memberPassword, "jean.dupont est content", session)
	memberWant(t, err, failure.Invalid, "password.contains_personal_data", "new_password")
	_, err = f.h.ChangePassword(ctx, memberOf(id), id, memberPassword, memberPassword, session)
	memberWant(t, err, failure.Invalid, "password.unchanged", "new_password")
	if got := len(f.events(t, memberStream(id))); got != start {
		t.Fatal("an invalid new password wrote events")
	}

	// A wrong current password counts as a failed login.
	_, err = f.h.ChangePassword(ctx, memberOf(id), id, "not my password at all", memberPassword2, session)
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "current_password")
	if got := f.events(t, memberStream(id))[start:]; !reflect.DeepEqual(got, []any{member.LoginFailed{Failures: 1}}) {
		t.Fatalf("events: %#v", got)
	}

	meta := memberOf(id)
	res, err := f.h.ChangePassword(ctx, meta, id, memberPassword, memberPassword2, session)
	if err != nil || res.Position == 0 {
		t.Fatalf("ChangePassword: %+v, %v", res, err)
	}
	again, err := f.h.ChangePassword(ctx, meta, id, memberPassword, memberPassword2, session) // a lost answer
	if err != nil || again != res {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	events := f.events(t, memberStream(id))
	if len(events) != start+2 {
		t.Fatalf("events: %#v", events[start:])
	}
	set := events[len(events)-1].(member.PasswordSet)
	if set.Reason != "change" || set.SessionID != session || set.PolicyVersion != credential.PasswordPolicyVersion {
		t.Fatalf("PasswordSet: %#v", set)
	}
	_, err = f.h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	if _, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword2, uuid.New()); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
}

func TestMemberChangePasswordLocks(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	for range 5 {
		_, err := f.h.ChangePassword(ctx, memberOf(id), id, "a wrong guess of it", memberPassword2, uuid.New())
		memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "current_password")
	}
	_, err := f.h.ChangePassword(ctx, memberOf(id), id, memberPassword, memberPassword2, uuid.New())
	memberWant(t, err, failure.Forbidden, "auth.locked", "")
	if _, ok := command.RetryAt(err); !ok {
		t.Fatal("no end of lock")
	}
}

func TestMemberPasswordReset(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	// Lock the account first: a reset ends the lock.
	for range 5 {
		_, _ = f.h.Login(ctx, memberAnonymous(), "1850375115042", "a wrong guess of it", uuid.New())
	}

	_, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "185037511504", "jean.dupont@example.fr")
	memberWant(t, err, failure.Invalid, "nir.invalid_login_length", "nir")
	_, err = f.h.RequestPasswordReset(ctx, memberAnonymous(), "1850375115042", "jean.dupont")
	memberWant(t, err, failure.Invalid, "email.invalid", "email")

	right, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "1 85 03 75 115 042", "Jean.Dupont@EXAMPLE.fr")
	if err != nil {
		t.Fatal(err)
	}
	otherEmail, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "1850375115042", "someone@example.fr")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "1880999350045", "jean.dupont@example.fr")
	if err != nil {
		t.Fatal(err)
	}
	noAccount, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "292112A004017", "lea@example.fr")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []command.ResetResult{right, otherEmail, unknown, noAccount} {
		if r.ResetID == uuid.Nil || r.Position == 0 {
			t.Fatalf("result %+v", r)
		}
		if n := len(f.events(t, memberResetStream(r.ResetID))); n != 1 {
			t.Fatalf("%d events for one request", n)
		}
	}
	if got := f.events(t, memberResetStream(right.ResetID)); !reflect.DeepEqual(got, []any{member.ResetRequested{MemberID: id,
		Sequence: 1, ExpiresAt: f.clock.Now().Add(15 * time.Minute), PolicyVersion: credential.CodePolicyVersion}}) {
		t.Fatalf("events: %#v", got)
	}
	for _, c := range []struct {
		res    command.ResetResult
		reason string
	}{{otherEmail, "email_mismatch"}, {unknown, "unknown_account"}, {noAccount, "unknown_account"}} {
		if got := f.events(t, memberResetStream(c.res.ResetID)); !reflect.DeepEqual(got, []any{member.ResetRefused{Reason: c.reason}}) {
			t.Fatalf("events: %#v", got)
		}
		// A refused procedure answers a code like a real one: wrong.
		_, err := f.h.CompletePasswordReset(ctx, memberAnonymous(), c.res.ResetID, command.ResetCode(f.keys, c.res.ResetID, 1), memberPassword2)
		memberWant(t, err, failure.Rule, "code.wrong", "code")
	}

	code := command.ResetCode(f.keys, right.ResetID, 1)
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), right.ResetID, memberWrongCode(code), memberPassword2)
	memberWant(t, err, failure.Rule, "code.wrong", "code")
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), right.ResetID, code, "Dupont Jean 1985!")
	memberWant(t, err, failure.Invalid, "password.contains_personal_data", "password")
	meta := memberAnonymous()
	done, err := f.h.CompletePasswordReset(ctx, meta, right.ResetID, code, memberPassword2)
	if err != nil || done.MemberID != id || done.Position == 0 {
		t.Fatalf("CompletePasswordReset: %+v, %v", done, err)
	}
	again, err := f.h.CompletePasswordReset(ctx, meta, right.ResetID, code, memberPassword2)
	if err != nil || again != done {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), right.ResetID, code, memberPassword2)
	memberWant(t, err, failure.Rule, "password_reset.completed", "")
	if got := f.events(t, memberResetStream(right.ResetID)); !reflect.DeepEqual(got, []any{got[0],
		member.ResetCodeRejected{Attempt: 1}, member.ResetCompleted{}}) {
		t.Fatalf("events: %#v", got)
	}
	events := f.events(t, memberStream(id))
	set := events[len(events)-1].(member.PasswordSet)
	if set.Reason != "reset" || set.SessionID != uuid.Nil {
		t.Fatalf("PasswordSet: %#v", set)
	}
	if _, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword2, uuid.New()); err != nil {
		t.Fatalf("login with the reset password (the lock ended): %v", err)
	}
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), uuid.New(), code, memberPassword2)
	memberWant(t, err, failure.NotFound, "password_reset.not_found", "")
}

func TestMemberPasswordResetLocksAndExpires(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	f.openAccount(t)
	a, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "1850375115042", "jean.dupont@example.fr")
	if err != nil {
		t.Fatal(err)
	}
	code := command.ResetCode(f.keys, a.ResetID, 1)
	for i := 1; i <= 5; i++ {
		_, err := f.h.CompletePasswordReset(ctx, memberAnonymous(), a.ResetID, memberWrongCode(code), memberPassword2)
		if i < 5 {
			memberWant(t, err, failure.Rule, "code.wrong", "code")
		} else {
			memberWant(t, err, failure.Rule, "code.attempts_exhausted", "")
		}
	}
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), a.ResetID, code, memberPassword2)
	memberWant(t, err, failure.Rule, "code.attempts_exhausted", "")
	events := f.events(t, memberResetStream(a.ResetID))
	if events[len(events)-1] != (member.ResetLocked{Reason: "too_many_attempts"}) {
		t.Fatalf("events: %#v", events)
	}

	b, err := f.h.RequestPasswordReset(ctx, memberAnonymous(), "1850375115042", "jean.dupont@example.fr")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(15 * time.Minute)
	_, err = f.h.CompletePasswordReset(ctx, memberAnonymous(), b.ResetID, command.ResetCode(f.keys, b.ResetID, 1), memberPassword2)
	memberWant(t, err, failure.Rule, "code.expired", "code")
	if a.ResetID == b.ResetID {
		t.Fatal("two requests share a procedure")
	}
}
