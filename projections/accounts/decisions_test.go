package accounts

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// memberHistory drives the member aggregate itself, so that the events come from its decisions and the account can
// be compared with what it decides.
type memberHistory struct {
	t        *testing.T
	m        *member.Member
	h        *projectionstest.History
	registry *event.Registry
	taken    int // events of m already added to h
}

func newMemberHistory(t *testing.T, pos *uint64) *memberHistory {
	t.Helper()
	reg, err := event.NewRegistry(member.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	mh := &memberHistory{t: t, m: member.Rehydrate(nil), h: projectionstest.NewHistory(member.Category, pos, start), registry: reg}
	mh.do(func(m *member.Member) error { return m.Register(registered(), "$argon2id$x", "1", start) })
	return mh
}

// do runs a decision (its error is returned: wrong codes are errors too) and adds the events it recorded.
func (mh *memberHistory) do(decide func(m *member.Member) error) error {
	mh.t.Helper()
	err := decide(mh.m)
	for _, e := range mh.m.Events()[mh.taken:] {
		name, _, _, encErr := mh.registry.Encode(e)
		if encErr != nil {
			mh.t.Fatal(encErr)
		}
		mh.h.Add(name, e)
	}
	mh.taken = len(mh.m.Events())
	return err
}

func (mh *memberHistory) account(db *sqldb.DB, p *Projection, now time.Time) Account {
	mh.t.Helper()
	projectionstest.Apply(mh.t, db, p, mh.h.Events...)
	a, err := NewQueries(db, fixedClock(now)).Get(projectionstest.Ctx(mh.t), mh.h.Stream.ID)
	if err != nil {
		mh.t.Fatal(err)
	}
	return a
}

// The wrong code that uses up the attempts voids the email change: the aggregate refuses even the right code from
// then on, and the account no longer shows the change as pending.
func TestEmailChangeVoidedByTooManyWrongCodes(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		mh := newMemberHistory(t, &pos)
		policy := credential.CurrentCodePolicy()
		now := start.Add(time.Minute)
		if err := mh.do(func(m *member.Member) error { return m.RequestEmailChange("new@example.org", now, policy) }); err != nil {
			t.Fatal(err)
		}
		wrong := func(int) bool { return false }
		for i := 1; i < policy.MaxAttempts; i++ {
			if err := mh.do(func(m *member.Member) error { return m.ConfirmEmailChange(wrong, now, policy) }); !errors.Is(err, credential.ErrCodeWrong) {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		a := mh.account(db, p, now)
		if a.PendingEmail == nil || a.PendingEmail.Email != "new@example.org" {
			t.Fatalf("after %d wrong codes the change should still wait for its code: %+v", policy.MaxAttempts-1, a.PendingEmail)
		}

		if err := mh.do(func(m *member.Member) error { return m.ConfirmEmailChange(wrong, now, policy) }); !errors.Is(err, credential.ErrCodeAttemptsExhausted) {
			t.Fatalf("last wrong code: %v", err)
		}
		// The aggregate's decision: the request is void, even the right code is refused.
		if err := mh.m.ConfirmEmailChange(func(int) bool { return true }, now, policy); !errors.Is(err, credential.ErrCodeAttemptsExhausted) {
			t.Fatalf("right code after the attempts ran out: %v, want the request void", err)
		}
		a = mh.account(db, p, now)
		if a.PendingEmail != nil {
			t.Errorf("voided email change still pending: %+v", a.PendingEmail)
		}
		if a.Email != registered().Email || a.Revision != uint64(len(mh.h.Events)-1) {
			t.Errorf("account after the void: email %q revision %d", a.Email, a.Revision)
		}

		// A new request (after the cooldown) is pending again.
		later := now.Add(policy.ResendCooldown)
		if err := mh.do(func(m *member.Member) error { return m.RequestEmailChange("other@example.org", later, policy) }); err != nil {
			t.Fatal(err)
		}
		if a := mh.account(db, p, later); a.PendingEmail == nil || a.PendingEmail.Email != "other@example.org" {
			t.Errorf("new request after a void: %+v", a.PendingEmail)
		}
	})
}

// A forgotten-password reset ends the login lock, as the aggregate decides; a change of password from a session
// opened before the lock does not.
func TestPasswordResetEndsTheLoginLock(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		policy := member.CurrentLoginPolicy()
		lock := func(mh *memberHistory, at time.Time) {
			t.Helper()
			for range policy.MaxConsecutiveFailures {
				_ = mh.do(func(m *member.Member) error { return m.LoginFailed(at, policy) })
			}
			if !mh.m.LockedUntil().After(at) {
				t.Fatalf("not locked after %d failures", policy.MaxConsecutiveFailures)
			}
		}
		at := start.Add(time.Minute)
		during := at.Add(time.Minute)

		reset := newMemberHistory(t, &pos)
		lock(reset, at)
		if a := reset.account(db, p, during); a.Status != StatusLocked || a.LockedUntil == nil {
			t.Fatalf("before the reset: %q until %v, want locked", a.Status, a.LockedUntil)
		}
		if err := reset.do(func(m *member.Member) error {
			return m.SetPassword("$argon2id$new", "1", member.ReasonReset, "", uuid.Nil, during)
		}); err != nil {
			t.Fatal(err)
		}
		if err := reset.m.CheckLogin(during); err != nil || !reset.m.LockedUntil().IsZero() {
			t.Fatalf("the aggregate keeps the lock after a reset (%v, %v): the projection must follow it", err, reset.m.LockedUntil())
		}
		a := reset.account(db, p, during)
		if a.Status != StatusActive || a.LockedUntil != nil || a.PasswordChangedAt == nil || !a.PasswordChangedAt.Equal(reset.h.Events[len(reset.h.Events)-1].Metadata.OccurredAt) {
			t.Errorf("after the reset: %q until %v, password changed %v; want active", a.Status, a.LockedUntil, a.PasswordChangedAt)
		}

		change := newMemberHistory(t, &pos)
		lock(change, at)
		if err := change.do(func(m *member.Member) error {
			return m.SetPassword("$argon2id$new", "1", member.ReasonChange, "$argon2id$x", uuid.New(), during)
		}); err != nil {
			t.Fatal(err)
		}
		if err := change.m.CheckLogin(during); !errors.Is(err, member.ErrAccountLocked) {
			t.Fatalf("the aggregate ends the lock on a change (%v): the projection must follow it", err)
		}
		if a := change.account(db, p, during); a.Status != StatusLocked || a.LockedUntil == nil || !a.LockedUntil.Equal(change.m.LockedUntil()) {
			t.Errorf("after a change: %q until %v, want locked until %v", a.Status, a.LockedUntil, change.m.LockedUntil())
		}
	})
}

// The verdict recorded in EmailChangeRejected decides whether the change is void, not the current maximum: a verdict
// "not exhausted" past today's maximum keeps the change pending, "exhausted" before it voids it. Events recorded
// before verdicts existed (no exhausted field) fall back to the current policy on their attempt number.
func TestEmailChangeVerdictIsReadNotDecidedAgain(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		now := start.Add(time.Minute)
		yes, no := true, false
		maxAttempts := credential.CurrentCodePolicy().MaxAttempts
		cases := []struct {
			name     string
			rejected member.EmailChangeRejected
			pending  bool
		}{
			{"recorded: not exhausted, past today's maximum", member.EmailChangeRejected{Attempt: maxAttempts + 2, Exhausted: &no}, true},
			{"recorded: exhausted, before today's maximum", member.EmailChangeRejected{Attempt: 2, Exhausted: &yes}, false},
			{"no verdict, below the maximum", member.EmailChangeRejected{Attempt: maxAttempts - 1}, true},
			{"no verdict, at the maximum", member.EmailChangeRejected{Attempt: maxAttempts}, false},
		}
		for _, c := range cases {
			h := projectionstest.NewHistory(member.Category, &pos, start)
			h.Add(member.TypeRegistered, registered())
			h.Add(member.TypeEmailChangeRequested, member.EmailChangeRequested{NewEmail: "new@example.org", Sequence: 1,
				ExpiresAt: now.Add(15 * time.Minute), PolicyVersion: credential.CodePolicyVersion})
			h.Add(member.TypeEmailChangeRejected, c.rejected)
			projectionstest.Apply(t, db, p, h.Events...)
			a, err := NewQueries(db, fixedClock(now)).Get(projectionstest.Ctx(t), h.Stream.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.PendingEmail != nil; got != c.pending {
				t.Errorf("%s: pending %t, want %t", c.name, got, c.pending)
			}
		}
	})
}

// A rehash of the password on login is no password change: the date of the last change stays.
func TestPasswordRehashIsNoPasswordChange(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		mh := newMemberHistory(t, &pos)
		at := start.Add(time.Hour)
		session := uuid.New()
		if err := mh.do(func(m *member.Member) error { return m.LoginSucceeded(session, "$argon2id$x", at) }); err != nil {
			t.Fatal(err)
		}
		if err := mh.do(func(m *member.Member) error { return m.RehashPassword("$argon2id$x", "$argon2id$y", at) }); err != nil {
			t.Fatal(err)
		}
		if _, ok := mh.m.Events()[len(mh.m.Events())-1].(member.PasswordRehashed); !ok {
			t.Fatalf("no rehash recorded: %#v", mh.m.Events())
		}
		a := mh.account(db, p, at)
		if a.PasswordChangedAt == nil || !a.PasswordChangedAt.Equal(mh.h.Events[1].Metadata.OccurredAt) || a.LastLoginAt == nil || !a.LastLoginAt.Equal(mh.h.Events[2].Metadata.OccurredAt) ||
			a.Revision != uint64(len(mh.h.Events)-1) {
			t.Errorf("after a rehash: password changed %v, last login %v, revision %d", a.PasswordChangedAt, a.LastLoginAt, a.Revision)
		}
	})
}
