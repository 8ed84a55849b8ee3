package command_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// Every top-level name here starts with "staff": other command tests share the package.

const (
	staffTestKeyHex   = "3b7e1f0a9c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f"
	staffTestPassword = "Trois pommes vertes au jardin"
)

// staffTestAdmin is the administrator who creates accounts in these tests.
var staffTestAdmin = event.Actor{ID: "8f14e45f-ceea-467a-9af4-4c6e2a1b0d3c", Role: event.RoleAdmin}

// staffClock is a settable clock shared by the handler and the test.
type staffClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *staffClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *staffClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type staffFixture struct {
	h      handlers
	env    *kurrentdbtest.Env
	store  *kurrentdb.Store
	keys   *keyedhash.Hasher
	hasher *credentials.Hasher
	clock  *staffClock
}

func staffCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newStaffFixture starts an in-memory node and the handlers over it with the real keyed hash, argon2id (at the OWASP
// minimum, for speed) and TOTP.
func newStaffFixture(t *testing.T) *staffFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, staff.Definitions())
	store := env.Store
	keys, err := keyedhash.FromHex(staffTestKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Config{Params: credentials.Params{Memory: 7168, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	clock := &staffClock{now: time.Date(2026, time.November, 25, 9, 30, 10, 0, time.UTC)}
	h, err := newHandlers(testDeps{Store: store, Keys: keys, Hasher: hasher, TOTP: credentials.NewTOTP(nil), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &staffFixture{h: h, env: env, store: store, keys: keys, hasher: hasher, clock: clock}
}

func staffAdminMeta() command.Meta {
	return command.Meta{Actor: staffTestAdmin, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

// staffAnonymousMeta is the Meta of a login request as the HTTP layer makes it: nobody is known yet.
func staffAnonymousMeta() command.Meta {
	return command.Meta{Actor: event.Actor{ID: "anonymous", Role: event.RoleMember}, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

func (f *staffFixture) create(t *testing.T, login string, roles ...string) command.CreateStaffResult {
	t.Helper()
	res, err := f.h.CreateStaff(staffCtx(t), staffAdminMeta(), command.CreateStaffInput{
		Login: login, Name: "Jeanne Dupont", Roles: roles, Password: staffTestPassword,
	})
	if err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	return res
}

// code is the code an authenticator shows for secret at the fixture's clock plus offset.
func (f *staffFixture) code(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, f.clock.Now().Add(offset), totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *staffFixture) login(t *testing.T, login, password, code string) (command.StaffLoginResult, error) {
	t.Helper()
	return f.h.StaffLogin(staffCtx(t), staffAnonymousMeta(), login, password, code, uuid.New())
}

func (f *staffFixture) events(t *testing.T, stream event.StreamID) []event.Envelope {
	t.Helper()
	h, err := f.store.Load(staffCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// eventsSince returns the events of stream after the first n.
func (f *staffFixture) eventsSince(t *testing.T, stream event.StreamID, n int) []any {
	t.Helper()
	var out []any
	for _, env := range f.events(t, stream)[n:] {
		out = append(out, env.Event)
	}
	return out
}

// allRecords reads the whole log with the official client, without the store's own events.
func (f *staffFixture) allRecords(t *testing.T) []*esdb.RecordedEvent { return f.env.AllRecords(t) }

func staffWantCode(t *testing.T, err error, kind failure.Kind, code string) {
	t.Helper()
	if err == nil || failure.KindOf(err) != kind || failure.CodeOf(err) != code {
		t.Fatalf("error %v (kind %s, code %s), want kind %s, code %s", err, failure.KindOf(err), failure.CodeOf(err), kind, code)
	}
}

func staffStep(t time.Time) int64 { return credentials.TOTPStep(t) }

func TestStaffCreateThenLogin(t *testing.T) {
	f := newStaffFixture(t)
	meta := staffAdminMeta()
	res, err := f.h.CreateStaff(staffCtx(t), meta, command.CreateStaffInput{
		Login: " J.Dupont", Name: " Jeanne  Dupont ", Roles: []string{"admin", "caseworker"}, Password: staffTestPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.StaffID == uuid.Nil || res.Position == 0 {
		t.Errorf("result %+v", res)
	}

	// The enrolment: a secret derived from the key, an otpauth URL an authenticator reads.
	if want := command.StaffTOTPSecret(f.keys, res.StaffID, 1); res.TOTPSecret != want || len(want) != 32 {
		t.Errorf("secret %q, want %q (32 base32 characters)", res.TOTPSecret, want)
	}
	key, err := otp.NewKeyFromURL(res.TOTPURL)
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != "totp" || key.Issuer() != credentials.TOTPIssuer || key.AccountName() != "j.dupont" || key.Secret() != res.TOTPSecret ||
		key.Period() != uint64(credentials.TOTPPeriod/time.Second) || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("otpauth URL %s", res.TOTPURL)
	}
	if strings.Contains(res.TOTPURL, "+") {
		t.Errorf("otpauth URL with '+': %s", res.TOTPURL)
	}

	// The events: claim, then the account; nothing secret in the log, no login in a stream name.
	account := f.events(t, staff.StreamFor(res.StaffID))
	if len(account) != 3 {
		t.Fatalf("account stream: %+v", account)
	}
	if got := account[0].Event; !reflect.DeepEqual(got, staff.Created{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"caseworker", "admin"}}) {
		t.Errorf("created %+v", got)
	}
	set, ok := account[1].Event.(staff.PasswordSet)
	if !ok || set.PolicyVersion != staff.PasswordPolicyVersion || !strings.HasPrefix(set.Hash, "$argon2id$") {
		t.Errorf("password set %+v", account[1].Event)
	}
	if ok, err := f.hasher.Verify(staffCtx(t), staffTestPassword, set.Hash); !ok || err != nil {
		t.Errorf("the stored hash does not verify: %v", err)
	}
	if account[2].Event != (staff.TOTPEnrolled{Sequence: 1}) {
		t.Errorf("enrolled %+v", account[2].Event)
	}
	if md := account[0].Metadata; md.Actor != staffTestAdmin || md.CorrelationID != meta.CorrelationID || md.CausationID != meta.CommandID {
		t.Errorf("metadata %+v", md)
	}
	claim := f.events(t, staff.LoginStreamFor(f.keys, "j.dupont"))
	if len(claim) != 1 || claim[0].Event != (staff.LoginClaimed{StaffID: res.StaffID}) {
		t.Errorf("claim %+v", claim)
	}
	for _, re := range f.allRecords(t) {
		for _, secret := range []string{res.TOTPSecret, staffTestPassword, "pommes"} {
			if strings.Contains(string(re.Data), secret) || strings.Contains(string(re.UserMetadata), secret) {
				t.Errorf("%s in %s of %s", secret, re.EventType, re.StreamID)
			}
		}
		if strings.Contains(re.StreamID, "dupont") {
			t.Errorf("login in stream name %s", re.StreamID)
		}
	}

	// First login: the code confirms the enrolment, then logs in.
	sess := uuid.New()
	code := f.code(t, res.TOTPSecret, 0)
	lr, err := f.h.StaffLogin(staffCtx(t), staffAnonymousMeta(), "J.DUPONT", staffTestPassword, code, sess)
	if err != nil {
		t.Fatal(err)
	}
	if lr.StaffID != res.StaffID || lr.Name != "Jeanne Dupont" || !reflect.DeepEqual(lr.Roles, []string{"caseworker", "admin"}) || lr.Position == 0 {
		t.Errorf("login %+v", lr)
	}
	step := staffStep(f.clock.Now())
	if got := f.eventsSince(t, staff.StreamFor(res.StaffID), 3); !reflect.DeepEqual(got, []any{
		staff.TOTPConfirmed{Sequence: 1, Step: step}, staff.LoggedIn{SessionID: sess, Step: step},
	}) {
		t.Errorf("after the first login: %#v", got)
	}
	if md := f.events(t, staff.StreamFor(res.StaffID))[4].Metadata; md.Actor != (event.Actor{ID: res.StaffID.String(), Role: event.RoleAdmin}) {
		t.Errorf("login actor %+v", md.Actor)
	}

	// The same code again (another session, same instant): a replay, refused and recorded.
	_, err = f.login(t, "j.dupont", staffTestPassword, code)
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	if got := f.eventsSince(t, staff.StreamFor(res.StaffID), 5); !reflect.DeepEqual(got, []any{staff.LoginFailed{Failures: 1, Reason: staff.ReasonTOTPReplayed}}) {
		t.Errorf("after the replay: %#v", got)
	}

	// The next code (30 s later) logs in; the enrolment is not confirmed again.
	f.clock.Set(f.clock.Now().Add(30 * time.Second))
	sess2 := uuid.New()
	if _, err := f.h.StaffLogin(staffCtx(t), staffAnonymousMeta(), "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0), sess2); err != nil {
		t.Fatal(err)
	}
	if got := f.eventsSince(t, staff.StreamFor(res.StaffID), 6); !reflect.DeepEqual(got, []any{staff.LoggedIn{SessionID: sess2, Step: step + 1}}) {
		t.Errorf("after the second login: %#v", got)
	}

	// The code of the previous step is older than the last one used: a replay too.
	_, err = f.login(t, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, -30*time.Second))
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	if got := f.eventsSince(t, staff.StreamFor(res.StaffID), 7); !reflect.DeepEqual(got, []any{staff.LoginFailed{Failures: 1, Reason: staff.ReasonTOTPReplayed}}) {
		t.Errorf("after the old code: %#v", got)
	}
}

func TestStaffCreateRefusals(t *testing.T) {
	f := newStaffFixture(t)
	f.create(t, "j.dupont", "caseworker")
	before := len(f.allRecords(t))
	valid := command.CreateStaffInput{Login: "m.martin", Name: "Marc Martin", Roles: []string{"auditor"}, Password: staffTestPassword}
	tests := []struct {
		name   string
		change func(*command.CreateStaffInput)
		kind   failure.Kind
		code   string
		field  string
	}{
		{"login taken (case aside)", func(in *command.CreateStaffInput) { in.Login = "J.Dupont" }, failure.Conflict, "staff.login_taken", "login"},
		{"login too short", func(in *command.CreateStaffInput) { in.Login = "mm" }, failure.Invalid, "staff.login_invalid", "login"},
		{"login with a space", func(in *command.CreateStaffInput) { in.Login = "m martin" }, failure.Invalid, "staff.login_invalid", "login"},
		{"no name", func(in *command.CreateStaffInput) { in.Name = " " }, failure.Invalid, "staff.name_invalid", "name"},
		{"no role", func(in *command.CreateStaffInput) { in.Roles = nil }, failure.Invalid, "staff.roles_empty", "roles"},
		{"unknown role", func(in *command.CreateStaffInput) { in.Roles = []string{"member"} }, failure.Invalid, "staff.role_unknown", "roles"},
		{"13 characters", func(in *command.CreateStaffInput) { in.Password = "Lune bleue 7!" }, failure.Invalid, "staff.password_too_short", "password"},
		{"common password", func(in *command.CreateStaffInput) { in.Password = "motdepasse2026!" }, failure.Invalid, "password.too_common", "password"},
		{"password with the name", func(in *command.CreateStaffInput) { in.Password = "martin aime les pommes" }, failure.Invalid, "password.contains_personal_data", "password"},
		{"password with the login", func(in *command.CreateStaffInput) { in.Password = "mmartin aime les pommes" }, failure.Invalid, "password.contains_personal_data", "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid
			tt.change(&in)
			_, err := f.h.CreateStaff(staffCtx(t), staffAdminMeta(), in)
			staffWantCode(t, err, tt.kind, tt.code)
			if failure.FieldOf(err) != tt.field {
				t.Errorf("field %q, want %q", failure.FieldOf(err), tt.field)
			}
		})
	}
	if after := len(f.allRecords(t)); after != before {
		t.Errorf("%d events written by refused commands", after-before)
	}
}

func TestStaffCreateRetrySameCommand(t *testing.T) {
	f := newStaffFixture(t)
	meta := staffAdminMeta()
	in := command.CreateStaffInput{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"admin"}, Password: staffTestPassword}
	first, err := f.h.CreateStaff(staffCtx(t), meta, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.h.CreateStaff(staffCtx(t), meta, in)
	if err != nil {
		t.Fatal(err)
	}
	if again.StaffID != first.StaffID || again.TOTPSecret != first.TOTPSecret || again.Position != first.Position {
		t.Errorf("retry %+v, first %+v", again, first)
	}
	if n := len(f.allRecords(t)); n != 5 { // the claim, the account's three, the administrators' registry
		t.Errorf("%d events, want 5", n)
	}
	// another command for the same login is refused
	_, err = f.h.CreateStaff(staffCtx(t), staffAdminMeta(), in)
	staffWantCode(t, err, failure.Conflict, "staff.login_taken")
}

// Two administrators create the same login at once: one account, the other told the login is taken.
func TestStaffCreateSameLoginConcurrently(t *testing.T) {
	f := newStaffFixture(t)
	in := command.CreateStaffInput{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"admin"}, Password: staffTestPassword}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := f.h.CreateStaff(staffCtx(t), staffAdminMeta(), in)
			errs <- err
		}()
	}
	var created, taken int
	for range 2 {
		err := <-errs
		switch {
		case err == nil:
			created++
		case failure.CodeOf(err) == "staff.login_taken" && failure.FieldOf(err) == "login":
			taken++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if created != 1 || taken != 1 {
		t.Errorf("%d created, %d refused; want 1 and 1", created, taken)
	}
	var accounts int
	for _, re := range f.allRecords(t) {
		if re.EventType == staff.TypeCreated {
			accounts++
		}
	}
	if accounts != 1 {
		t.Errorf("%d accounts created", accounts)
	}
}

func TestStaffLoginUnknownLogin(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "caseworker")
	before := len(f.allRecords(t))
	for _, login := range []string{"p.durand", "x", "j dupont", ""} {
		_, err := f.login(t, login, staffTestPassword, f.code(t, res.TOTPSecret, 0))
		staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	}
	if after := len(f.allRecords(t)); after != before {
		t.Errorf("%d events written for unknown logins", after-before)
	}
}

func TestStaffLoginFailuresLockAndRelease(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "supervisor")
	stream := staff.StreamFor(res.StaffID)
	start := f.clock.Now()

	// Four failures: two wrong passwords, two wrong codes (the right code of another account's secret, and garbage).
	other := command.StaffTOTPSecret(f.keys, uuid.New(), 1)
	attempts := []struct{ password, code string }{
		{"Quatre pommes vertes au jardin", f.code(t, res.TOTPSecret, 0)},
		{"", ""},
		{staffTestPassword, f.code(t, other, 0)},
		{staffTestPassword, "12345"},
	}
	for i, a := range attempts {
		_, err := f.login(t, "j.dupont", a.password, a.code)
		staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
		if errors.Is(err, staff.ErrLocked) {
			t.Fatalf("attempt %d locked", i+1)
		}
	}
	// The fifth locks for 15 minutes.
	_, err := f.login(t, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 5*time.Minute))
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	want := []any{
		staff.LoginFailed{Failures: 1, Reason: staff.ReasonPassword},
		staff.LoginFailed{Failures: 2, Reason: staff.ReasonPassword},
		staff.LoginFailed{Failures: 3, Reason: staff.ReasonTOTP},
		staff.LoginFailed{Failures: 4, Reason: staff.ReasonTOTP},
		staff.LoginFailed{Failures: 5, Reason: staff.ReasonTOTP},
		staff.Locked{Until: start.Add(15 * time.Minute), Reason: staff.LockReasonFailures},
	}
	if got := f.eventsSince(t, stream, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n  %#v\nwant\n  %#v", got, want)
	}

	// Locked: even the right password and code are refused exactly as a wrong password (no lock code, no end of
	// lock: the answer must not tell the login exists), and nothing is recorded.
	f.clock.Set(start.Add(14 * time.Minute))
	_, err = f.login(t, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0))
	staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
	var le *staff.LockedError
	if errors.As(err, &le) || errors.Is(err, staff.ErrLocked) {
		t.Errorf("a login during the lock tells the lock: %v", err)
	}
	if n := len(f.events(t, stream)); n != 3+len(want) {
		t.Errorf("%d events after a login during the lock", n)
	}

	// After the lock: the right credentials log in (and confirm the enrolment).
	f.clock.Set(start.Add(15 * time.Minute))
	if _, err := f.login(t, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0)); err != nil {
		t.Fatalf("login after the lock: %v", err)
	}
}

func TestStaffLockDoubles(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "auditor")
	stream := staff.StreamFor(res.StaffID)
	for round, want := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour} {
		for range staff.MaxConsecutiveFailures {
			_, err := f.login(t, "j.dupont", "Cinq pommes rouges au verger", "000000")
			staffWantCode(t, err, failure.Unauthenticated, "auth.invalid_credentials")
		}
		history := f.events(t, stream)
		lock, ok := history[len(history)-1].Event.(staff.Locked)
		if !ok || !lock.Until.Equal(f.clock.Now().Add(want)) {
			t.Fatalf("round %d: last event %#v, want a lock of %v", round+1, history[len(history)-1].Event, want)
		}
		f.clock.Set(lock.Until)
	}
}

// Two logins at once with the same code: one session opens, the other attempt is a replay.
func TestStaffConcurrentLoginsWithTheSameCode(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "caseworker")
	code := f.code(t, res.TOTPSecret, 0)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := f.login(t, "j.dupont", staffTestPassword, code)
			errs <- err
		}()
	}
	var ok, refused int
	for range 2 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case failure.CodeOf(err) == "auth.invalid_credentials":
			refused++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Errorf("%d logins, %d refused; want 1 and 1", ok, refused)
	}
	var logins int
	for _, env := range f.events(t, staff.StreamFor(res.StaffID)) {
		if _, ok := env.Event.(staff.LoggedIn); ok {
			logins++
		}
	}
	if logins != 1 {
		t.Errorf("%d LoggedIn events", logins)
	}
}

func TestStaffLoginSameSessionTwice(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "caseworker")
	sess, m := uuid.New(), staffAnonymousMeta()
	if _, err := f.h.StaffLogin(staffCtx(t), m, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0), sess); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(f.clock.Now().Add(30 * time.Second))
	_, err := f.h.StaffLogin(staffCtx(t), m, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0), sess)
	if err == nil || failure.KindOf(err) != failure.Internal {
		t.Errorf("second login with the same session and command: %v", err)
	}
}

func TestStaffLogout(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "caseworker")
	sess := uuid.New()
	if _, err := f.h.StaffLogin(staffCtx(t), staffAnonymousMeta(), "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0), sess); err != nil {
		t.Fatal(err)
	}
	self := command.Meta{Actor: event.Actor{ID: res.StaffID.String(), Role: event.RoleCaseworker}, CorrelationID: uuid.New(), CommandID: uuid.New()}
	r, err := f.h.StaffLogout(staffCtx(t), self, res.StaffID, sess)
	if err != nil || r.Position == 0 {
		t.Fatalf("logout: %+v, %v", r, err)
	}
	stream := staff.StreamFor(res.StaffID)
	if got := f.eventsSince(t, stream, 5); !reflect.DeepEqual(got, []any{staff.LoggedOut{SessionID: sess}}) {
		t.Errorf("after logout %#v", got)
	}
	self.CommandID = uuid.New()
	if _, err := f.h.StaffLogout(staffCtx(t), self, res.StaffID, sess); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if n := len(f.events(t, stream)); n != 6 {
		t.Errorf("%d events after a second logout, want 6", n)
	}
	_, err = f.h.StaffLogout(staffCtx(t), self, res.StaffID, uuid.New())
	staffWantCode(t, err, failure.NotFound, "staff.session_unknown")
	_, err = f.h.StaffLogout(staffCtx(t), self, uuid.New(), sess)
	staffWantCode(t, err, failure.NotFound, "staff.not_found")
}

func TestStaffRolesChange(t *testing.T) {
	f := newStaffFixture(t)
	res := f.create(t, "j.dupont", "caseworker")
	roles, err := f.h.StaffRoles(staffCtx(t), res.StaffID)
	if err != nil || !reflect.DeepEqual(roles, []string{"caseworker"}) {
		t.Fatalf("StaffRoles = %v, %v", roles, err)
	}
	r, err := f.h.ChangeStaffRoles(staffCtx(t), staffAdminMeta(), res.StaffID, []string{"admin", "supervisor"})
	if err != nil || r.Position == 0 {
		t.Fatalf("ChangeStaffRoles: %+v, %v", r, err)
	}
	roles, err = f.h.StaffRoles(staffCtx(t), res.StaffID)
	if err != nil || !reflect.DeepEqual(roles, []string{"supervisor", "admin"}) {
		t.Errorf("StaffRoles after the change = %v, %v", roles, err)
	}
	stream := staff.StreamFor(res.StaffID)
	history := f.events(t, stream)
	if last := history[len(history)-1]; !reflect.DeepEqual(last.Event, staff.RolesChanged{Roles: []string{"supervisor", "admin"}}) || last.Metadata.Actor != staffTestAdmin {
		t.Errorf("last event %#v by %+v", last.Event, last.Metadata.Actor)
	}
	// the same roles: nothing new
	if _, err := f.h.ChangeStaffRoles(staffCtx(t), staffAdminMeta(), res.StaffID, []string{"supervisor", "admin", "admin"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.events(t, stream)); n != len(history) {
		t.Errorf("%d events after an unchanged roles command, want %d", n, len(history))
	}
	// the login answers the new roles
	lr, err := f.login(t, "j.dupont", staffTestPassword, f.code(t, res.TOTPSecret, 0))
	if err != nil || !reflect.DeepEqual(lr.Roles, []string{"supervisor", "admin"}) {
		t.Errorf("login: %+v, %v", lr, err)
	}

	_, err = f.h.ChangeStaffRoles(staffCtx(t), staffAdminMeta(), res.StaffID, nil)
	staffWantCode(t, err, failure.Invalid, "staff.roles_empty")
	if failure.FieldOf(err) != "roles" {
		t.Errorf("field %q", failure.FieldOf(err))
	}
	_, err = f.h.ChangeStaffRoles(staffCtx(t), staffAdminMeta(), res.StaffID, []string{"root"})
	staffWantCode(t, err, failure.Invalid, "staff.role_unknown")
	_, err = f.h.ChangeStaffRoles(staffCtx(t), staffAdminMeta(), uuid.New(), []string{"admin"})
	staffWantCode(t, err, failure.NotFound, "staff.not_found")
	_, err = f.h.StaffRoles(staffCtx(t), uuid.New())
	staffWantCode(t, err, failure.NotFound, "staff.not_found")
}

func TestStaffRecordMemberDataOpened(t *testing.T) {
	f := newStaffFixture(t)
	staffID, memberID := uuid.New(), uuid.New()
	stream := staff.AccessStreamFor(memberID)
	m := command.Meta{Actor: event.Actor{ID: staffID.String(), Role: event.RoleCaseworker}, CorrelationID: uuid.New(), CommandID: uuid.New()}
	r, err := f.h.RecordMemberDataOpened(staffCtx(t), m, staffID, "caseworker", memberID, "member.profile", "")
	if err != nil || r.Position == 0 {
		t.Fatalf("RecordMemberDataOpened: %+v, %v", r, err)
	}
	// the same request again (same command id, same view): nothing new; another view: recorded
	if _, err := f.h.RecordMemberDataOpened(staffCtx(t), m, staffID, "caseworker", memberID, "member.profile", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.RecordMemberDataOpened(staffCtx(t), m, staffID, "caseworker", memberID, "member.directory", ""); err != nil {
		t.Fatal(err)
	}
	// two case files of the member in one request: one event each, with its reference; once again: nothing new
	for range 2 {
		for _, ref := range []string{"MSA-2026-7KQ2-M9XD-3F0A", "MSA-2026-QCEC-G7FP-JY2M"} {
			if _, err := f.h.RecordMemberDataOpened(staffCtx(t), m, staffID, "caseworker", memberID, staff.ViewCaseFile, ref); err != nil {
				t.Fatal(err)
			}
		}
	}
	history := f.events(t, stream)
	if len(history) != 4 {
		t.Fatalf("%d events, want 4", len(history))
	}
	if history[0].Event != (staff.MemberDataOpened{StaffID: staffID, Role: "caseworker", What: "member.profile"}) ||
		history[1].Event != (staff.MemberDataOpened{StaffID: staffID, Role: "caseworker", What: "member.directory"}) ||
		history[2].Event != (staff.MemberDataOpened{StaffID: staffID, Role: "caseworker", What: staff.ViewCaseFile, Subject: "MSA-2026-7KQ2-M9XD-3F0A"}) ||
		history[3].Event != (staff.MemberDataOpened{StaffID: staffID, Role: "caseworker", What: staff.ViewCaseFile, Subject: "MSA-2026-QCEC-G7FP-JY2M"}) {
		t.Errorf("events %#v %#v %#v %#v", history[0].Event, history[1].Event, history[2].Event, history[3].Event)
	}
	if md := history[0].Metadata; md.Actor != m.Actor || md.CorrelationID != m.CorrelationID || !md.OccurredAt.Equal(f.clock.Now()) {
		t.Errorf("metadata %+v", md)
	}

	// many reads at once: every one recorded (a lost race is decided again)
	const readers = 8
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			auditor := uuid.New()
			_, err := f.h.RecordMemberDataOpened(staffCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()}, auditor, "auditor", memberID, "member.history", "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	history = f.events(t, stream)
	if len(history) != 4+readers {
		t.Errorf("%d events, want %d", len(history), 4+readers)
	}
	// without an actor in Meta, the actor is the staff member in the role given
	if last := history[len(history)-1]; last.Metadata.Actor.Role != event.RoleAuditor || last.Metadata.Actor.ID != last.Event.(staff.MemberDataOpened).StaffID.String() {
		t.Errorf("actor %+v", last.Metadata.Actor)
	}

	for _, tc := range []struct {
		staffID, memberID         uuid.UUID
		role, what, subject, code string
	}{
		{uuid.Nil, memberID, "caseworker", "member.profile", "", "staff.access_invalid"},
		{staffID, uuid.Nil, "caseworker", "member.profile", "", "staff.access_invalid"},
		{staffID, memberID, "caseworker", "", "", "staff.access_invalid"},
		{staffID, memberID, "caseworker", staff.ViewCaseFile, "MSA 2026 <script>", "staff.access_invalid"},
		{staffID, memberID, "member", "member.profile", "", "staff.role_unknown"},
	} {
		_, err := f.h.RecordMemberDataOpened(staffCtx(t), m, tc.staffID, tc.role, tc.memberID, tc.what, tc.subject)
		staffWantCode(t, err, failure.Invalid, tc.code)
	}
}

// TestStaffAccessRecordsKeyReused: the access records are appended without reading their log, so a retry is
// recognised by the event id alone. That id derives from everything the record says: the same Idempotency-Key sent
// again for the same opening records nothing new (same position), but the key reused by another staff member, in
// another role, or for a search that showed other members, is another record, never taken for the first.
func TestStaffAccessRecordsKeyReused(t *testing.T) {
	f := newStaffFixture(t)
	member, alice, bob := uuid.New(), uuid.New(), uuid.New()
	key := uuid.New()
	open := func(staffID uuid.UUID, role string) command.Result {
		t.Helper()
		r, err := f.h.RecordMemberDataOpened(staffCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: key}, staffID, role, member, staff.ViewCaseFile, "MSA-2026-7KQ2-M9XD-3F0A")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := open(alice, "caseworker")
	if again := open(alice, "caseworker"); again.Position != first.Position {
		t.Errorf("the same opening again: position %d, want the original %d", again.Position, first.Position)
	}
	open(bob, "caseworker")
	open(alice, "supervisor")
	var who []string
	for _, e := range f.events(t, staff.AccessStreamFor(member)) {
		o := e.Event.(staff.MemberDataOpened)
		who = append(who, o.StaffID.String()+" "+o.Role)
	}
	if want := []string{alice.String() + " caseworker", bob.String() + " caseworker", alice.String() + " supervisor"}; !reflect.DeepEqual(who, want) {
		t.Errorf("openings recorded %v, want %v", who, want)
	}

	search := func(shown ...uuid.UUID) command.Result {
		t.Helper()
		r, err := f.h.RecordMemberDirectorySearched(staffCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: key}, alice, "caseworker", staff.SearchKindName, shown)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	m1, m2 := uuid.New(), uuid.New()
	s1 := search(m1)
	if again := search(m1); again.Position != s1.Position {
		t.Errorf("the same search again: position %d, want the original %d", again.Position, s1.Position)
	}
	search(m1, m2)
	searches := f.events(t, staff.SearchStreamFor(alice))
	if len(searches) != 2 || !reflect.DeepEqual(searches[1].Event.(staff.MemberDirectorySearched).MemberIDs, []uuid.UUID{m1, m2}) {
		t.Errorf("%d searches recorded, want 2, the second showing both members", len(searches))
	}
}

func TestStaffTOTPSecret(t *testing.T) {
	keys, err := keyedhash.FromHex(staffTestKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyedhash.FromHex(strings.Repeat("5a", 32))
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("5b0f1c2e-8a0d-4d8e-9a51-3c1d2f7e6b10")
	s := command.StaffTOTPSecret(keys, id, 1)
	if s != command.StaffTOTPSecret(keys, id, 1) {
		t.Error("not deterministic")
	}
	for _, d := range []string{command.StaffTOTPSecret(keys, id, 2), command.StaffTOTPSecret(keys, uuid.New(), 1), command.StaffTOTPSecret(other, id, 1)} {
		if d == s {
			t.Error("same secret for another sequence, staff member or key")
		}
	}
	if len(s) != 32 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Errorf("secret %q: want 32 base32 characters", s)
	}
	// the validator accepts the codes an authenticator computes from it
	now := time.Date(2026, time.November, 25, 9, 30, 10, 0, time.UTC)
	code, err := totp.GenerateCodeCustom(s, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if step, err := credentials.NewTOTP(nil).Validate(s, code, now, 0); err != nil || step != staffStep(now) {
		t.Errorf("Validate = %d, %v", step, err)
	}
	if credentials.TOTPSecretSize != 20 || credentials.TOTPDigits != 6 || credentials.TOTPPeriod != 30*time.Second {
		t.Error("adapters/credentials changed its TOTP settings: update the otpauth URL of command/staff.go")
	}
}
