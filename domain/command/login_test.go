package command_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

func TestMemberLoginRefusals(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	f.openAccount(t)
	before := f.countRecords(t, "")

	_, err := f.h.Login(ctx, memberAnonymous(), "18503751150", memberPassword, uuid.New())
	memberWant(t, err, failure.Invalid, "nir.invalid_login_length", "nir")
	// Unknown NIR (valid, never registered) and an insured person without account: the same answer.
	_, err = f.h.Login(ctx, memberAnonymous(), "1880999350045", memberPassword, uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	_, err = f.h.Login(ctx, memberAnonymous(), "292112A004017", memberPassword, uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	if after := f.countRecords(t, ""); after != before {
		t.Fatal("a login without account wrote events")
	}
}

func TestMemberLoginFailuresLockAndRelease(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	start := len(f.events(t, memberStream(id)))

	for range 5 {
		_, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", "not the password at all", uuid.New())
		memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	}
	now := f.clock.Now()
	want := []any{member.LoginFailed{Failures: 1}, member.LoginFailed{Failures: 2}, member.LoginFailed{Failures: 3},
		member.LoginFailed{Failures: 4}, member.LoginFailed{Failures: 5},
		member.Locked{Until: now.Add(15 * time.Minute), Reason: "too_many_failures"}}
	if got := f.events(t, memberStream(id))[start:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %#v\nwant %#v", got, want)
	}

	// Locked: even the right password is refused, nothing recorded, and the answer is that of an unknown NIR
	// (no end of lock: it would tell that the account exists; the owner learns it by mail).
	f.clock.Advance(10 * time.Minute)
	_, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	if until, ok := command.RetryAt(err); ok {
		t.Fatalf("RetryAt = %v during a lock: the answer differs from an unknown NIR's", until)
	}
	_, unknown := f.h.Login(ctx, memberAnonymous(), "1880999350045", memberPassword, uuid.New())
	if err.Error() != unknown.Error() || failure.CodeOf(err) != failure.CodeOf(unknown) {
		t.Fatalf("locked %q, unknown %q", err, unknown)
	}
	if got := len(f.events(t, memberStream(id))); got != start+len(want) {
		t.Fatal("a login during the lock was recorded")
	}

	f.clock.Advance(5 * time.Minute)
	session := uuid.New()
	if _, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, session); err != nil {
		t.Fatalf("login after the lock: %v", err)
	}
	// The next lock, within 24 hours, lasts 30 minutes.
	for range 5 {
		_, err := f.h.Login(ctx, memberAnonymous(), "1850375115042", "still not the password", uuid.New())
		memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	}
	events := f.events(t, memberStream(id))
	if got := events[len(events)-1]; got != (member.Locked{Until: f.clock.Now().Add(30 * time.Minute), Reason: "too_many_failures"}) {
		t.Fatalf("second lock: %#v", got)
	}
}

func TestMemberLoginRetrySameAttempt(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	meta, session := memberAnonymous(), uuid.New()
	first, err := f.h.Login(ctx, meta, "1850375115042", memberPassword, session)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.h.Login(ctx, meta, "1850375115042", memberPassword, session)
	if err != nil || again != first {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	wrongMeta, wrongSession := memberAnonymous(), uuid.New()
	for range 2 {
		_, err := f.h.Login(ctx, wrongMeta, "1850375115042", "not the password at all", wrongSession)
		memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	}
	events := f.events(t, memberStream(id))
	if len(events) != 4 || events[3] != (member.LoginFailed{Failures: 1}) {
		t.Fatalf("events: %#v", events)
	}
}

func TestMemberLogout(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	session := uuid.New()
	res, err := f.h.Logout(ctx, memberOf(id), id, session, "")
	if err != nil || res.Position == 0 {
		t.Fatalf("Logout: %+v, %v", res, err)
	}
	if _, err := f.h.Logout(ctx, memberOf(id), id, session, "password_changed"); err != nil {
		t.Fatal(err)
	}
	events := f.events(t, memberStream(id))
	if !reflect.DeepEqual(events[len(events)-2:], []any{member.LoggedOut{SessionID: session, Reason: "logout"},
		member.LoggedOut{SessionID: session, Reason: "password_changed"}}) {
		t.Fatalf("events: %#v", events)
	}
	unknown := uuid.New()
	_, err = f.h.Logout(ctx, memberOf(unknown), unknown, session, "")
	memberWant(t, err, failure.NotFound, "member.not_found", "")
	if n := f.countRecords(t, "member-"+unknown.String()); n != 0 {
		t.Fatal("a logout created a member stream")
	}
	if _, err := f.h.Logout(ctx, memberOf(id), id, session, "Not A Reason!"); err == nil {
		t.Fatal("a malformed reason was accepted")
	}
}
