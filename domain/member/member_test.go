package member_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

var (
	t0       = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	codes    = credential.CurrentCodePolicy()
	logins   = member.CurrentLoginPolicy()
	regID    = uuid.MustParse("0d1f6f43-54ae-4d39-8d4e-6f6f1c0b2a11")
	session  = uuid.MustParse("7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11")
	identity = member.Registered{RegistrationID: regID, NIR: "1850375115042", Key: 16, LastName: "Dupont",
		FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678"}
	firstPassword = member.PasswordSet{Hash: "$argon2id$hash1", PolicyVersion: credential.PasswordPolicyVersion, Reason: "activation"}
	address       = member.AddressChanged{Line1: "12 rue des Lilas", PostalCode: "75015", City: "Paris", Country: "FR", EffectiveFrom: "2026-11-01"}
)

func on(t time.Time, events ...any) []event.Envelope {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Event: e, Metadata: event.Metadata{OccurredAt: t}}
	}
	return out
}

func join(parts ...[]event.Envelope) []event.Envelope {
	var out []event.Envelope
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func failed(n int) member.LoginFailed { return member.LoginFailed{Failures: n} }

// failures returns n failures at t.
func failures(t time.Time, n int) []event.Envelope {
	var out []event.Envelope
	for i := 1; i <= n; i++ {
		out = append(out, on(t, failed(i))...)
	}
	return out
}

func matching(seq int) func(int) bool { return func(s int) bool { return s == seq } }
func never(int) bool                  { return false }

var registered = on(t0.Add(-48*time.Hour), identity, firstPassword)

func emailRequested(seq int, at time.Time) []event.Envelope {
	return on(at, member.EmailChangeRequested{NewEmail: "jean@nouveau.fr", Sequence: seq, ExpiresAt: at.Add(15 * time.Minute),
		PolicyVersion: credential.CodePolicyVersion})
}

type row struct {
	name    string
	given   []event.Envelope
	when    func(m *member.Member) error
	then    []any
	wantErr error // errors.Is; failure.Internal: any internal error
}

func run(t *testing.T, tests []row) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := member.Rehydrate(tt.given)
			err := tt.when(m)
			switch {
			case tt.wantErr == failure.Internal:
				if err == nil || failure.KindOf(err) != failure.Internal {
					t.Fatalf("err = %v, want an internal error", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if got := m.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}

func TestMemberRegistration(t *testing.T) {
	run(t, []row{
		{
			name: "register opens the account with its first password",
			when: func(m *member.Member) error {
				return m.Register(identity, "$argon2id$hash1", credential.PasswordPolicyVersion, t0)
			},
			then: []any{identity, firstPassword},
		},
		{
			name:  "registering again from the same registration records nothing",
			given: registered,
			when: func(m *member.Member) error {
				return m.Register(identity, "$argon2id$other", credential.PasswordPolicyVersion, t0)
			},
		},
		{
			name:  "registering from another registration",
			given: registered,
			when: func(m *member.Member) error {
				other := identity
				other.RegistrationID = uuid.New()
				return m.Register(other, "$argon2id$other", credential.PasswordPolicyVersion, t0)
			},
			wantErr: member.ErrAlreadyExists,
		},
		{
			name:    "register without a hash is a bug",
			when:    func(m *member.Member) error { return m.Register(identity, "", credential.PasswordPolicyVersion, t0) },
			wantErr: failure.Internal,
		},
	})
}

func TestMemberLogin(t *testing.T) {
	lockedAt := func(at time.Time, d time.Duration) []event.Envelope {
		return on(at, member.Locked{Until: at.Add(d), Reason: member.LockTooManyFailures})
	}
	run(t, []row{
		{
			name:  "a right password opens a session",
			given: registered,
			when:  func(m *member.Member) error { return m.LoginSucceeded(session, firstPassword.Hash, t0) },
			then:  []any{member.LoggedIn{SessionID: session}},
		},
		{
			name:    "no account, no login",
			when:    func(m *member.Member) error { return m.LoginSucceeded(session, "", t0) },
			wantErr: member.ErrNotFound,
		},
		{
			name:    "a password verified against an older hash",
			given:   join(registered, on(t0, member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v", Reason: "change"})),
			when:    func(m *member.Member) error { return m.LoginSucceeded(session, firstPassword.Hash, t0) },
			wantErr: member.ErrPasswordChanged,
		},
		{
			name:    "a wrong password is counted",
			given:   registered,
			when:    func(m *member.Member) error { return m.LoginFailed(t0, logins) },
			then:    []any{failed(1)},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name:    "the fifth wrong password in a row locks for 15 minutes",
			given:   join(registered, failures(t0, 4)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(time.Minute), logins) },
			then:    []any{failed(5), member.Locked{Until: t0.Add(16 * time.Minute), Reason: "too_many_failures"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name:    "a success restarts the count",
			given:   join(registered, failures(t0, 4), on(t0, member.LoggedIn{SessionID: session})),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(time.Minute), logins) },
			then:    []any{failed(1)},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name:  "during a lock nothing is checked nor recorded",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute)),
			when: func(m *member.Member) error {
				return m.LoginSucceeded(session, firstPassword.Hash, t0.Add(14*time.Minute))
			},
			wantErr: member.ErrAccountLocked,
		},
		{
			name:    "a failure during a lock is not counted",
			given:   join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(14*time.Minute), logins) },
			wantErr: member.ErrAccountLocked,
		},
		{
			name:  "the lock ends at Until",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute)),
			when: func(m *member.Member) error {
				return m.LoginSucceeded(session, firstPassword.Hash, t0.Add(15*time.Minute))
			},
			then: []any{member.LoggedIn{SessionID: session}},
		},
		{
			name:    "after a lock the count starts again",
			given:   join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(20*time.Minute), logins) },
			then:    []any{failed(1)},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name: "a second lock within 24 hours lasts twice as long",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute),
				failures(t0.Add(time.Hour), 4)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(time.Hour), logins) },
			then:    []any{failed(5), member.Locked{Until: t0.Add(time.Hour + 30*time.Minute), Reason: "too_many_failures"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name: "a third lock lasts an hour",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute),
				failures(t0.Add(time.Hour), 5), lockedAt(t0.Add(time.Hour), 30*time.Minute),
				failures(t0.Add(2*time.Hour), 4)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(2*time.Hour), logins) },
			then:    []any{failed(5), member.Locked{Until: t0.Add(3 * time.Hour), Reason: "too_many_failures"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name: "locks are capped at 24 hours",
			given: func() []event.Envelope {
				h := registered
				for i := range 10 {
					h = join(h, failures(t0.Add(time.Duration(i)*time.Minute), 5), lockedAt(t0.Add(time.Duration(i)*time.Minute), time.Second))
				}
				return join(h, failures(t0.Add(time.Hour), 4))
			}(),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(time.Hour), logins) },
			then:    []any{failed(5), member.Locked{Until: t0.Add(25 * time.Hour), Reason: "too_many_failures"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name: "a lock older than 24 hours no longer doubles",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute),
				failures(t0.Add(25*time.Hour), 4)),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(25*time.Hour), logins) },
			then:    []any{failed(5), member.Locked{Until: t0.Add(25*time.Hour + 15*time.Minute), Reason: "too_many_failures"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name:  "a reset password ends the lock",
			given: join(registered, failures(t0, 5), lockedAt(t0, 15*time.Minute), on(t0.Add(time.Minute), member.PasswordSet{Hash: "$argon2id$new", PolicyVersion: "v", Reason: "reset"})),
			when:  func(m *member.Member) error { return m.LoginSucceeded(session, "$argon2id$new", t0.Add(2*time.Minute)) },
			then:  []any{member.LoggedIn{SessionID: session}},
		},
		{
			name:  "logout",
			given: registered,
			when:  func(m *member.Member) error { return m.Logout(session, "", t0) },
			then:  []any{member.LoggedOut{SessionID: session, Reason: "logout"}},
		},
		{
			name:    "logout of no account",
			when:    func(m *member.Member) error { return m.Logout(session, "", t0) },
			wantErr: member.ErrNotFound,
		},
	})
}

// TestHourlyCeiling checks the ceiling of failures per hour on its own, with a policy whose consecutive rule
// never fires (with the current policy the consecutive locks keep failures far below it).
func TestHourlyCeiling(t *testing.T) {
	p := member.LoginPolicy{MaxConsecutiveFailures: 1000, LockBase: time.Minute, LockMax: time.Hour,
		LockWindow: 24 * time.Hour, MaxFailuresPerHour: 3}
	run(t, []row{
		{
			name:    "the failure that reaches the ceiling locks until the oldest is an hour old",
			given:   join(registered, on(t0, failed(1)), on(t0.Add(10*time.Minute), failed(2))),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(30*time.Minute), p) },
			then:    []any{failed(3), member.Locked{Until: t0.Add(time.Hour), Reason: "hourly_limit"}},
			wantErr: member.ErrInvalidCredentials,
		},
		{
			name:    "failures older than an hour do not count",
			given:   join(registered, on(t0, failed(1)), on(t0.Add(10*time.Minute), failed(2))),
			when:    func(m *member.Member) error { return m.LoginFailed(t0.Add(61*time.Minute), p) },
			then:    []any{failed(3)},
			wantErr: member.ErrInvalidCredentials,
		},
	})
	if c := member.CurrentLoginPolicy(); c.MaxFailuresPerHour != 100 || c.MaxConsecutiveFailures != 5 {
		t.Fatalf("current policy: %+v", c)
	}
}

// TestCurrentPolicyStaysUnderTheCeiling simulates a guesser who tries as fast as the locks allow for a day: no
// sliding hour ever holds more than 100 failures (in fact far fewer).
func TestCurrentPolicyStaysUnderTheCeiling(t *testing.T) {
	m := member.Rehydrate(registered)
	history := registered
	now := t0
	var times []time.Time
	for now.Before(t0.Add(24 * time.Hour)) {
		if err := m.CheckLogin(now); err != nil {
			now = m.LockedUntil()
			continue
		}
		m = member.Rehydrate(history)
		if err := m.LoginFailed(now, logins); !errors.Is(err, member.ErrInvalidCredentials) {
			t.Fatal(err)
		}
		history = join(history, on(now, m.Events()...))
		m = member.Rehydrate(history)
		times = append(times, now)
		now = now.Add(time.Second)
	}
	worst := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Hour; j++ {
			n++
		}
		worst = max(worst, n)
	}
	if worst == 0 || worst > 100 {
		t.Fatalf("worst hour: %d failures", worst)
	}
	if len(times) > 60 {
		t.Fatalf("%d failures in a day", len(times))
	}
}

func TestMemberProfile(t *testing.T) {
	run(t, []row{
		{
			name:  "a new address",
			given: registered,
			when:  func(m *member.Member) error { return m.ChangeAddress(address, t0) },
			then:  []any{address},
		},
		{
			name:  "the same address records nothing",
			given: join(registered, on(t0, address)),
			when:  func(m *member.Member) error { return m.ChangeAddress(address, t0) },
		},
		{
			name:    "an address of no account",
			when:    func(m *member.Member) error { return m.ChangeAddress(address, t0) },
			wantErr: member.ErrNotFound,
		},
		{
			name:    "an unvalidated address is a bug",
			given:   registered,
			when:    func(m *member.Member) error { return m.ChangeAddress(member.AddressChanged{Line1: "x"}, t0) },
			wantErr: failure.Internal,
		},
		{
			name:  "the phone is removed",
			given: registered,
			when:  func(m *member.Member) error { return m.ChangePhone("", t0) },
			then:  []any{member.PhoneChanged{MobilePhone: ""}},
		},
		{
			name:  "the same phone records nothing",
			given: registered,
			when:  func(m *member.Member) error { return m.ChangePhone("+33612345678", t0) },
		},
		{
			name:  "a new phone",
			given: registered,
			when:  func(m *member.Member) error { return m.ChangePhone("+33712345678", t0) },
			then:  []any{member.PhoneChanged{MobilePhone: "+33712345678"}},
		},
	})
}

func TestMemberEmailChange(t *testing.T) {
	// rejected is a wrong code as recorded before verdicts existed; verdict one with the policy's verdict.
	rejected := func(n int) member.EmailChangeRejected { return member.EmailChangeRejected{Attempt: n} }
	verdict := func(n int, exhausted bool) member.EmailChangeRejected {
		return member.EmailChangeRejected{Attempt: n, Exhausted: &exhausted}
	}
	withMax := func(n int) credential.CodePolicy { p := codes; p.MaxAttempts = n; return p }
	run(t, []row{
		{
			name:  "a request sends a code for the first sequence",
			given: registered,
			when:  func(m *member.Member) error { return m.RequestEmailChange("jean@nouveau.fr", t0, codes) },
			then: []any{member.EmailChangeRequested{NewEmail: "jean@nouveau.fr", Sequence: 1,
				ExpiresAt: t0.Add(15 * time.Minute), PolicyVersion: credential.CodePolicyVersion}},
		},
		{
			name:    "the current address, in any case",
			given:   registered,
			when:    func(m *member.Member) error { return m.RequestEmailChange("Jean.Dupont@EXAMPLE.fr", t0, codes) },
			wantErr: member.ErrEmailUnchanged,
		},
		{
			name:  "a new request within a minute",
			given: join(registered, emailRequested(1, t0)),
			when: func(m *member.Member) error {
				return m.RequestEmailChange("jean@autre.fr", t0.Add(30*time.Second), codes)
			},
			wantErr: credential.ErrCodeResendTooSoon,
		},
		{
			name:  "a new request after a minute takes the next sequence",
			given: join(registered, emailRequested(1, t0)),
			when:  func(m *member.Member) error { return m.RequestEmailChange("jean@autre.fr", t0.Add(time.Minute), codes) },
			then: []any{member.EmailChangeRequested{NewEmail: "jean@autre.fr", Sequence: 2,
				ExpiresAt: t0.Add(16 * time.Minute), PolicyVersion: credential.CodePolicyVersion}},
		},
		{
			name:  "the right code changes the email",
			given: join(registered, emailRequested(1, t0)),
			when:  func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), codes) },
			then:  []any{member.EmailChanged{Email: "jean@nouveau.fr"}},
		},
		{
			name:    "a wrong code is counted",
			given:   join(registered, emailRequested(1, t0)),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(never, t0.Add(time.Minute), codes) },
			then:    []any{verdict(1, false)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:    "the fifth wrong code voids the request",
			given:   join(registered, emailRequested(1, t0), on(t0, rejected(1), rejected(2), rejected(3), rejected(4))),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(never, t0.Add(time.Minute), codes) },
			then:    []any{verdict(5, true)},
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:    "a void request takes no code, even the right one (rejections without verdict: the current maximum)",
			given:   join(registered, emailRequested(1, t0), on(t0, rejected(1), rejected(2), rejected(3), rejected(4), rejected(5))),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), codes) },
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:  "a new request starts with fresh attempts",
			given: join(registered, emailRequested(1, t0), on(t0, rejected(1), rejected(2), rejected(3), rejected(4), rejected(5)), emailRequested(2, t0.Add(2*time.Minute))),
			when:  func(m *member.Member) error { return m.ConfirmEmailChange(matching(2), t0.Add(3*time.Minute), codes) },
			then:  []any{member.EmailChanged{Email: "jean@nouveau.fr"}},
		},
		{
			name:    "the code of a replaced request is wrong",
			given:   join(registered, emailRequested(1, t0), emailRequested(2, t0.Add(2*time.Minute))),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0.Add(3*time.Minute), codes) },
			then:    []any{verdict(1, false)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:  "a recorded exhaustion stays void under a higher maximum",
			given: join(registered, emailRequested(1, t0), on(t0, verdict(1, false), verdict(2, false), verdict(3, false), verdict(4, false), verdict(5, true))),
			when: func(m *member.Member) error {
				return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), withMax(10))
			},
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:  "recorded verdicts are not decided again under a lower maximum",
			given: join(registered, emailRequested(1, t0), on(t0, verdict(1, false), verdict(2, false), verdict(3, false), verdict(4, false))),
			when: func(m *member.Member) error {
				return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), withMax(3))
			},
			then: []any{member.EmailChanged{Email: "jean@nouveau.fr"}},
		},
		{
			name:    "the next wrong code is decided under the lower maximum",
			given:   join(registered, emailRequested(1, t0), on(t0, verdict(1, false), verdict(2, false), verdict(3, false), verdict(4, false))),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(never, t0.Add(time.Minute), withMax(3)) },
			then:    []any{verdict(5, true)},
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:  "rejections without verdict, then one with: the recorded verdict decides",
			given: join(registered, emailRequested(1, t0), on(t0, rejected(1), rejected(2), rejected(3), verdict(4, false))),
			when: func(m *member.Member) error {
				return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), withMax(3))
			},
			then: []any{member.EmailChanged{Email: "jean@nouveau.fr"}},
		},
		{
			name:    "an expired code",
			given:   join(registered, emailRequested(1, t0)),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0.Add(15*time.Minute), codes) },
			wantErr: credential.ErrCodeExpired,
		},
		{
			name:    "no change waiting",
			given:   registered,
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0, codes) },
			wantErr: member.ErrNoEmailChange,
		},
		{
			name:    "a confirmed change is not confirmed twice",
			given:   join(registered, emailRequested(1, t0), on(t0, member.EmailChanged{Email: "jean@nouveau.fr"})),
			when:    func(m *member.Member) error { return m.ConfirmEmailChange(matching(1), t0.Add(time.Minute), codes) },
			wantErr: member.ErrNoEmailChange,
		},
	})
}

func TestMemberPassword(t *testing.T) {
	run(t, []row{
		{
			name:  "a change made in a session",
			given: registered,
			when: func(m *member.Member) error {
				return m.SetPassword("$argon2id$hash2", "v2", member.ReasonChange, firstPassword.Hash, session, t0)
			},
			then: []any{member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v2", Reason: "change", SessionID: session}},
		},
		{
			name:  "a change verified against an older password",
			given: join(registered, on(t0, member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v", Reason: "change"})),
			when: func(m *member.Member) error {
				return m.SetPassword("$argon2id$hash3", "v2", member.ReasonChange, firstPassword.Hash, session, t0)
			},
			wantErr: member.ErrPasswordChanged,
		},
		{
			name:  "a reset",
			given: registered,
			when: func(m *member.Member) error {
				return m.SetPassword("$argon2id$hash2", "v2", member.ReasonReset, "", uuid.Nil, t0)
			},
			then: []any{member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v2", Reason: "reset"}},
		},
		{
			name:  "an unknown reason is a bug",
			given: registered,
			when: func(m *member.Member) error {
				return m.SetPassword("$argon2id$hash2", "v2", "whim", "", uuid.Nil, t0)
			},
			wantErr: failure.Internal,
		},
	})
}

func TestMemberPasswordRehash(t *testing.T) {
	rehashed := func(h string) []event.Envelope { return on(t0, member.PasswordRehashed{Hash: h}) }
	run(t, []row{
		{
			name:  "a login rehashes the verified hash",
			given: registered,
			when: func(m *member.Member) error {
				if err := m.LoginSucceeded(session, firstPassword.Hash, t0); err != nil {
					return err
				}
				return m.RehashPassword(firstPassword.Hash, "$argon2id$hash1b", t0)
			},
			then: []any{member.LoggedIn{SessionID: session}, member.PasswordRehashed{Hash: "$argon2id$hash1b"}},
		},
		{
			name:  "no new hash, no rehash",
			given: registered,
			when:  func(m *member.Member) error { return m.RehashPassword(firstPassword.Hash, "", t0) },
		},
		{
			name:  "a hash rehashed meanwhile by another login is not rehashed again",
			given: join(registered, rehashed("$argon2id$hash1b")),
			when: func(m *member.Member) error {
				if err := m.LoginSucceeded(session, firstPassword.Hash, t0); err != nil {
					return err // verified against the hash before the rehash: the same password
				}
				return m.RehashPassword(firstPassword.Hash, "$argon2id$hash1c", t0)
			},
			then: []any{member.LoggedIn{SessionID: session}},
		},
		{
			name:  "a change verified against the hash before a rehash",
			given: join(registered, rehashed("$argon2id$hash1b")),
			when: func(m *member.Member) error {
				return m.SetPassword("$argon2id$hash2", "v2", member.ReasonChange, firstPassword.Hash, session, t0)
			},
			then: []any{member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v2", Reason: "change", SessionID: session}},
		},
		{
			name:    "after a new password, the hashes of the old one no longer verify",
			given:   join(registered, rehashed("$argon2id$hash1b"), on(t0, member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v", Reason: "reset"})),
			when:    func(m *member.Member) error { return m.LoginSucceeded(session, firstPassword.Hash, t0) },
			wantErr: member.ErrPasswordChanged,
		},
		{
			name:  "a rehash of a password changed meanwhile records nothing",
			given: join(registered, on(t0, member.PasswordSet{Hash: "$argon2id$hash2", PolicyVersion: "v", Reason: "reset"})),
			when:  func(m *member.Member) error { return m.RehashPassword(firstPassword.Hash, "$argon2id$hash1b", t0) },
		},
		{
			name:    "no account",
			when:    func(m *member.Member) error { return m.RehashPassword(firstPassword.Hash, "$argon2id$hash1b", t0) },
			wantErr: member.ErrNotFound,
		},
	})
	m := member.Rehydrate(join(registered, rehashed("$argon2id$hash1b")))
	if m.PasswordHash() != "$argon2id$hash1b" {
		t.Errorf("stored hash after a rehash: %q", m.PasswordHash())
	}
}

func TestMemberStateAndString(t *testing.T) {
	m := member.Rehydrate(join(registered, on(t0, address, member.PhoneChanged{MobilePhone: ""}),
		emailRequested(1, t0), on(t0, member.EmailChanged{Email: "jean@nouveau.fr"}), failures(t0, 2)))
	if !m.Registered() || m.Email() != "jean@nouveau.fr" || m.Identity().MobilePhone != "" || m.Address() != address ||
		m.Failures() != 2 || m.PasswordHash() != firstPassword.Hash {
		t.Fatalf("state: %+v", m.Identity())
	}
	if _, _, ok := m.PendingEmail(); ok {
		t.Fatal("email change still pending")
	}
	s := m.String()
	for _, secret := range []string{identity.NIR, identity.LastName, "nouveau", firstPassword.Hash, "Lilas"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String leaks %q: %s", secret, s)
		}
	}
	locked := &member.LockedError{Until: t0}
	if !errors.Is(locked, member.ErrAccountLocked) || failure.CodeOf(locked) != "auth.locked" ||
		failure.KindOf(locked) != failure.Forbidden {
		t.Fatalf("LockedError: %v %s %s", locked, failure.CodeOf(locked), failure.KindOf(locked))
	}
}
