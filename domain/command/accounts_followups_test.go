package command_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The follow-ups of issue 4: TOTP re-enrolment, at least one administrator, password rehash, email-change verdicts.
// Names start with "staff" or "member", as the fixtures they use.

// staffActing is the Meta of a request by staff member id (the role is the event's, not what is checked).
func staffActing(id uuid.UUID, role event.Role) command.Meta {
	return command.Meta{Actor: event.Actor{ID: id.String(), Role: role}, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

// loginNow logs in with the code of secret at the fixture's clock and returns the session id.
func (f *staffFixture) loginNow(t *testing.T, login, secret string) uuid.UUID {
	t.Helper()
	sess := uuid.New()
	if _, err := f.h.StaffLogin(staffCtx(t), staffAnonymousMeta(), login, staffTestPassword, f.code(t, secret, 0), sess); err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	return sess
}

func (f *staffFixture) roles(t *testing.T, id uuid.UUID) []string {
	t.Helper()
	r, err := f.h.StaffRoles(staffCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// An administrator resets a caseworker's lost second factor: the old secret and the open sessions stop at once, a
// new secret is returned once (again on a retry of the same command), and the caseworker enrols it at the next login.
func TestStaffTOTPReset(t *testing.T) {
	f := newStaffFixture(t)
	ctx := staffCtx(t)
	admin := f.create(t, "a.martin", "admin")
	cw := f.create(t, "c.dupont", "caseworker")
	sess := f.loginNow(t, "c.dupont", cw.TOTPSecret)
	if roles, err := f.h.StaffSession(ctx, cw.StaffID, sess); err != nil || !reflect.DeepEqual(roles, []string{"caseworker"}) {
		t.Fatalf("session before the reset: %v, %v", roles, err)
	}
	_, err := f.h.StaffSession(ctx, cw.StaffID, uuid.New())
	staffWantCode(t, err, failure.Unauthenticated, "staff.session_ended") // a session no login opened
	stream := staff.StreamFor(cw.StaffID)
	before := len(f.events(t, stream))

	m := staffActing(admin.StaffID, event.RoleAdmin)
	res, err := f.h.ResetStaffTOTP(ctx, m, cw.StaffID)
	if err != nil {
		t.Fatal(err)
	}
	if res.TOTPSecret != command.StaffTOTPSecret(f.keys, cw.StaffID, 2) || res.TOTPSecret == cw.TOTPSecret ||
		res.Login != "c.dupont" || res.StaffID != cw.StaffID || !strings.Contains(res.TOTPURL, "secret="+res.TOTPSecret) || res.Position == 0 {
		t.Fatalf("reset result %+v", res)
	}
	recorded := f.events(t, stream)[before:]
	if len(recorded) != 2 || recorded[0].Event != (staff.TOTPReset{PreviousSequence: 1}) || recorded[1].Event != (staff.TOTPEnrolled{Sequence: 2}) ||
		recorded[0].Metadata.Actor != m.Actor {
		t.Fatalf("recorded %+v", recorded)
	}
	// A retry of the same command: the same secret, nothing new.
	again, err := f.h.ResetStaffTOTP(ctx, m, cw.StaffID)
	if err != nil || again.TOTPSecret != res.TOTPSecret || len(f.events(t, stream)) != before+2 {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	// The session ended with the event; the old secret is refused (counted as a failure); the new one enrols.
	_, err = f.h.StaffSession(ctx, cw.StaffID, sess)
	staffWantCode(t, err, failure.Unauthenticated, "staff.session_ended")
	f.clock.Set(f.clock.Now().Add(30 * time.Second))
	_, err = f.login(t, "c.dupont", staffTestPassword, f.code(t, cw.TOTPSecret, 0))
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	sess2 := f.loginNow(t, "c.dupont", res.TOTPSecret)
	tail := f.eventsSince(t, stream, before+3)
	if len(tail) != 2 || tail[0] != (staff.TOTPConfirmed{Sequence: 2, Step: staffStep(f.clock.Now())}) {
		t.Fatalf("first login with the new secret: %#v", tail)
	}
	if _, err := f.h.StaffSession(ctx, cw.StaffID, sess2); err != nil {
		t.Errorf("the new session: %v", err)
	}
	// A second reset right after a login: the new secret works at once, even within the step just used.
	res3, err := f.h.ResetStaffTOTP(ctx, staffActing(admin.StaffID, event.RoleAdmin), cw.StaffID)
	if err != nil {
		t.Fatal(err)
	}
	f.loginNow(t, "c.dupont", res3.TOTPSecret)

	_, err = f.h.ResetStaffTOTP(ctx, staffActing(admin.StaffID, event.RoleAdmin), uuid.New())
	staffWantCode(t, err, failure.NotFound, "staff.not_found")
	if id, err := f.h.StaffIDForLogin(ctx, "C.Dupont"); err != nil || id != cw.StaffID {
		t.Errorf("StaffIDForLogin: %s, %v", id, err)
	}
	_, err = f.h.StaffIDForLogin(ctx, "personne")
	staffWantCode(t, err, failure.NotFound, "staff.not_found")
}

// A reset ends the lock of a staff member who locked themselves out trying codes of a lost phone.
func TestStaffTOTPResetEndsTheLock(t *testing.T) {
	f := newStaffFixture(t)
	admin := f.create(t, "a.martin", "admin")
	cw := f.create(t, "c.dupont", "caseworker")
	for range staff.MaxConsecutiveFailures {
		_, _ = f.login(t, "c.dupont", staffTestPassword, "000000")
	}
	_, err := f.login(t, "c.dupont", staffTestPassword, f.code(t, cw.TOTPSecret, 0))
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials") // locked, answered as a wrong password
	res, err := f.h.ResetStaffTOTP(staffCtx(t), staffActing(admin.StaffID, event.RoleAdmin), cw.StaffID)
	if err != nil {
		t.Fatal(err)
	}
	f.loginNow(t, "c.dupont", res.TOTPSecret)
}

// The last administrator cannot take the role away from themselves; with a second one, they can, once.
func TestStaffLastAdminRemains(t *testing.T) {
	f := newStaffFixture(t)
	ctx := staffCtx(t)
	a := f.create(t, "a.martin", "admin", "caseworker")
	if got, err := f.h.StaffAdmins(ctx); err != nil || !reflect.DeepEqual(got, []uuid.UUID{a.StaffID}) {
		t.Fatalf("registry after creation: %v, %v", got, err)
	}
	stream := staff.StreamFor(a.StaffID)
	before := len(f.events(t, stream))
	_, err := f.h.ChangeStaffRoles(ctx, staffActing(a.StaffID, event.RoleCaseworker), a.StaffID, []string{"caseworker"})
	staffWantCode(t, err, failure.Rule, "staff.last_admin")
	if n := len(f.events(t, stream)); n != before || !slices.Contains(f.roles(t, a.StaffID), "admin") {
		t.Fatalf("a refused change wrote %d events", n-before)
	}
	// Changes that keep the role pass.
	if _, err := f.h.ChangeStaffRoles(ctx, staffActing(a.StaffID, event.RoleAdmin), a.StaffID, []string{"admin", "medical", "caseworker"}); err != nil {
		t.Fatal(err)
	}
	b := f.create(t, "b.durand", "supervisor")
	if _, err := f.h.ChangeStaffRoles(ctx, staffActing(a.StaffID, event.RoleAdmin), b.StaffID, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.h.StaffAdmins(ctx); len(got) != 2 {
		t.Fatalf("registry after the promotion: %v", got)
	}
	if _, err := f.h.ChangeStaffRoles(ctx, staffActing(a.StaffID, event.RoleAdmin), a.StaffID, []string{"caseworker"}); err != nil {
		t.Fatalf("an admin steps down while another remains: %v", err)
	}
	_, err = f.h.ChangeStaffRoles(ctx, staffActing(b.StaffID, event.RoleAdmin), b.StaffID, []string{"supervisor"})
	staffWantCode(t, err, failure.Rule, "staff.last_admin")
	if got, _ := f.h.StaffAdmins(ctx); !reflect.DeepEqual(got, []uuid.UUID{b.StaffID}) {
		t.Errorf("registry at the end: %v", got)
	}
	// The approval names who remained, and the caller acted.
	history := f.events(t, staff.AdminRegistryStream())
	var approvals []staff.AdminRemovalApproved
	for _, env := range history {
		if ap, ok := env.Event.(staff.AdminRemovalApproved); ok {
			approvals = append(approvals, ap)
			if env.Metadata.Actor.ID != a.StaffID.String() {
				t.Errorf("approval actor %+v", env.Metadata.Actor)
			}
		}
	}
	if len(approvals) != 1 || approvals[0].StaffID != a.StaffID || !reflect.DeepEqual(approvals[0].Remaining, []uuid.UUID{b.StaffID}) {
		t.Errorf("approvals %+v", approvals)
	}
}

// Two administrators demote each other at the same moment: one wins, the other is refused, and one administrator
// always remains. Each round starts from two fresh administrators.
func TestStaffAdminsDemotingEachOtherConcurrently(t *testing.T) {
	ctx := staffCtx(t)
	for round := range 8 {
		f := newStaffFixture(t)
		a := f.create(t, "a.martin", "admin")
		b := f.create(t, "b.durand", "admin")
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]uuid.UUID{{a.StaffID, b.StaffID}, {b.StaffID, a.StaffID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.h.ChangeStaffRoles(ctx, staffActing(pair[0], event.RoleAdmin), pair[1], []string{"caseworker"})
			}()
		}
		wg.Wait()
		admins := 0
		for _, id := range []uuid.UUID{a.StaffID, b.StaffID} {
			if slices.Contains(f.roles(t, id), "admin") {
				admins++
			}
		}
		var refused int
		for _, err := range errs {
			switch {
			case err == nil:
			case failure.CodeOf(err) == "staff.last_admin":
				refused++
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if admins != 1 || refused != 1 {
			t.Fatalf("round %d: %d administrators left of the pair, %d refused (errors %v)", round, admins, refused, errs)
		}
	}
}

// raceStore appends a login failure to a staff stream just before the first roles change lands there, as a login at
// that moment would: the change must start again (read, approve, append), never be re-decided on its own.
type raceStore struct {
	command.EventStore
	once atomic.Bool
	hit  func()
}

func (s *raceStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	if stream.Category == staff.Category && cmd.ExpectedRevision != nil && s.once.CompareAndSwap(false, true) {
		s.hit()
	}
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

func TestStaffRolesChangeStartsAgainAfterALostRace(t *testing.T) {
	f := newStaffFixture(t)
	ctx := staffCtx(t)
	a := f.create(t, "a.martin", "admin")
	b := f.create(t, "b.durand", "admin")
	race := &raceStore{EventStore: f.store, hit: func() {
		if _, err := f.login(t, "b.durand", "not the password of b", "000000"); failure.CodeOf(err) != "auth.invalid_credentials" {
			t.Errorf("racing login: %v", err)
		}
	}}
	h, err := newHandlers(testDeps{Store: race, Keys: f.keys, Hasher: f.hasher, TOTP: credentials.NewTOTP(nil), Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ChangeStaffRoles(ctx, staffActing(a.StaffID, event.RoleAdmin), b.StaffID, []string{"auditor"}); err != nil {
		t.Fatal(err)
	}
	if !race.once.Load() || !reflect.DeepEqual(f.roles(t, b.StaffID), []string{"auditor"}) {
		t.Fatalf("roles of b: %v (race ran: %t)", f.roles(t, b.StaffID), race.once.Load())
	}
	// Two approvals: the first (its change lost the race, the registry counts b out all the same: too cautious,
	// never too generous), the second at the revision the change really landed after.
	var revisions []uint64
	for _, env := range f.events(t, staff.AdminRegistryStream()) {
		if ap, ok := env.Event.(staff.AdminRemovalApproved); ok {
			revisions = append(revisions, ap.Revision)
		}
	}
	history := f.events(t, staff.StreamFor(b.StaffID))
	if len(revisions) != 2 || revisions[1] != history[len(history)-1].Revision-1 || revisions[0] != revisions[1]-1 {
		t.Errorf("approvals at %v, change at %d", revisions, history[len(history)-1].Revision)
	}
}

// Administrators created before the registry existed (their streams only) are counted once they take part: the
// caller of a change is confirmed with it, and a login confirms an administrator.
func TestStaffAdminsFromBeforeTheRegistry(t *testing.T) {
	f := newStaffFixture(t)
	ctx := staffCtx(t)
	legacy := func(login string) uuid.UUID {
		id := uuid.New()
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: "admin/create-staff", Role: event.RoleSystem}, OccurredAt: f.clock.Now()}}
		if _, err := f.store.Update(ctx, staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
			return []any{staff.Created{Login: login, Name: "Ancien Admin", Roles: []string{staff.RoleAdmin}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b, c := legacy("a.ancien"), legacy("b.ancien"), legacy("c.ancien")
	if got, _ := f.h.StaffAdmins(ctx); len(got) != 0 {
		t.Fatalf("registry before anything: %v", got)
	}
	// a demotes b: a is confirmed by acting, b's removal approved.
	if _, err := f.h.ChangeStaffRoles(ctx, staffActing(a, event.RoleAdmin), b, []string{"caseworker"}); err != nil {
		t.Fatal(err)
	}
	// a cannot step down: c exists but was never seen (too cautious, never wrong)...
	_, err := f.h.ChangeStaffRoles(ctx, staffActing(a, event.RoleAdmin), a, []string{"caseworker"})
	staffWantCode(t, err, failure.Rule, "staff.last_admin")
	// ...until c takes part in a change: c demotes a.
	if _, err := f.h.ChangeStaffRoles(ctx, staffActing(c, event.RoleCaseworker), a, []string{"caseworker"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.h.StaffAdmins(ctx); !reflect.DeepEqual(got, []uuid.UUID{c}) {
		t.Errorf("registry: %v, want only c", got)
	}
	_, err = f.h.ChangeStaffRoles(ctx, staffActing(c, event.RoleAdmin), c, []string{"auditor"})
	staffWantCode(t, err, failure.Rule, "staff.last_admin")
}

// A login with a hash made under other argon2id parameters records PasswordRehashed (the same password under the
// current parameters); the next login has nothing to rehash.
func TestMemberAndStaffLoginRehashOldParameters(t *testing.T) {
	mf := newMemberFixture(t)
	ctx := memberCtx(t)
	id := mf.openAccount(t) // hashed with the fixture's parameters: m=19 MiB, t=2
	newer := credentials.Params{Memory: 12 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
	hasher, err := credentials.NewHasher(credentials.Config{Params: newer})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandlers(testDeps{Store: mf.store, Keys: mf.keys, Hasher: hasher, Clock: mf.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	before := len(mf.events(t, memberStream(id)))
	if _, err := h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, uuid.New()); err != nil {
		t.Fatal(err)
	}
	recorded := mf.events(t, memberStream(id))[before:]
	if len(recorded) != 2 {
		t.Fatalf("recorded %#v", recorded)
	}
	rehashed, ok := recorded[1].(member.PasswordRehashed)
	if _, isLogin := recorded[0].(member.LoggedIn); !ok || !isLogin {
		t.Fatalf("recorded %#v", recorded)
	}
	if p, err := credentials.ParamsOf(rehashed.Hash); err != nil || p != newer {
		t.Fatalf("new hash parameters %+v, %v", p, err)
	}
	if ok, err := hasher.Verify(ctx, memberPassword, rehashed.Hash); !ok || err != nil {
		t.Fatalf("the new hash does not verify the password: %v", err)
	}
	// Again: nothing to rehash. The old handler (older parameters) still logs in with the new hash.
	if _, err := h.Login(ctx, memberAnonymous(), "1850375115042", memberPassword, uuid.New()); err != nil {
		t.Fatal(err)
	}
	if got := mf.events(t, memberStream(id)); len(got) != before+3 {
		t.Fatalf("a second rehash: %#v", got[before:])
	}
	// A wrong password rehashes nothing.
	_, err = h.Login(ctx, memberAnonymous(), "1850375115042", "pas le bon mot de passe", uuid.New())
	memberWant(t, err, failure.Unauthenticated, "auth.invalid_credentials", "")
	for _, e := range mf.events(t, memberStream(id))[before+3:] {
		if _, ok := e.(member.PasswordRehashed); ok {
			t.Fatal("rehash after a wrong password")
		}
	}

	// Staff: the same on the staff stream.
	sf := newStaffFixture(t) // hashes with m=7 MiB, t=5
	cw := sf.create(t, "c.dupont", "caseworker")
	sh, err := newHandlers(testDeps{Store: sf.store, Keys: sf.keys, Hasher: hasher, TOTP: credentials.NewTOTP(nil), Clock: sf.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.StaffLogin(staffCtx(t), staffAnonymousMeta(), "c.dupont", staffTestPassword, sf.code(t, cw.TOTPSecret, 0), uuid.New()); err != nil {
		t.Fatal(err)
	}
	tail := sf.eventsSince(t, staff.StreamFor(cw.StaffID), 3)
	if len(tail) != 3 {
		t.Fatalf("staff login recorded %#v", tail)
	}
	sr, ok := tail[2].(staff.PasswordRehashed)
	if p, err := credentials.ParamsOf(sr.Hash); !ok || err != nil || p != newer {
		t.Fatalf("staff rehash %#v (%+v, %v)", tail[2], p, err)
	}
}

// A retry of a confirmation that used up the attempts answers from the verdict recorded in the event.
func TestMemberEmailChangeVerdictOnRetry(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	id := f.openAccount(t)
	if _, err := f.h.RequestEmailChange(ctx, memberOf(id), id, "jean@nouveau.fr"); err != nil {
		t.Fatal(err)
	}
	wrong := memberWrongCode(command.EmailChangeCode(f.keys, id, 1))
	var last command.Meta
	for i := 1; i <= credential.CurrentCodePolicy().MaxAttempts; i++ {
		last = memberOf(id)
		_, err := f.h.ConfirmEmailChange(ctx, last, id, wrong)
		if i < credential.CurrentCodePolicy().MaxAttempts && !errors.Is(err, credential.ErrCodeWrong) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	events := f.events(t, memberStream(id))
	r, ok := events[len(events)-1].(member.EmailChangeRejected)
	if exhausted, recorded := r.Verdict(); !ok || !recorded || !exhausted {
		t.Fatalf("last rejection %#v", events[len(events)-1])
	}
	if _, err := f.h.ConfirmEmailChange(ctx, last, id, wrong); !errors.Is(err, credential.ErrCodeAttemptsExhausted) {
		t.Fatalf("retry of the last confirmation: %v", err)
	}
}
