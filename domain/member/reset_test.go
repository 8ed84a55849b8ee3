package member_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

var memberID = uuid.MustParse("c3c1a1de-2b8c-4a55-8f0e-5a1f2f9b7d21")

func TestClaim(t *testing.T) {
	tests := []struct {
		name    string
		given   []event.Envelope
		claim   uuid.UUID
		then    []any
		wantErr error
	}{
		{name: "a free NIR is claimed", claim: memberID, then: []any{member.Claimed{MemberID: memberID}}},
		{name: "claiming again for the same member records nothing", given: on(t0, member.Claimed{MemberID: memberID}), claim: memberID},
		{name: "a NIR claimed by another member", given: on(t0, member.Claimed{MemberID: memberID}), claim: uuid.New(), wantErr: member.ErrNIRClaimed},
		{name: "no member is a bug", claim: uuid.Nil, wantErr: failure.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := member.RehydrateClaim(tt.given)
			err := c.Claim(tt.claim, t0)
			switch {
			case tt.wantErr == failure.Internal:
				if failure.KindOf(err) != failure.Internal || err == nil {
					t.Fatalf("err = %v", err)
				}
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := c.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events: got %#v want %#v", got, tt.then)
			}
			if id, ok := c.Member(); tt.wantErr == nil && (!ok || id != tt.claim) {
				t.Fatalf("Member() = %v, %t", id, ok)
			}
		})
	}
}

func TestReset(t *testing.T) {
	requested := on(t0, member.ResetRequested{MemberID: memberID, Sequence: 1, ExpiresAt: t0.Add(15 * time.Minute),
		PolicyVersion: credential.CodePolicyVersion})
	refused := on(t0, member.ResetRefused{Reason: member.ResetRefusedEmailMismatch})
	rejected := func(n int) member.ResetCodeRejected { return member.ResetCodeRejected{Attempt: n} }
	fourWrong := on(t0, rejected(1), rejected(2), rejected(3), rejected(4))
	tests := []struct {
		name    string
		given   []event.Envelope
		when    func(r *member.Reset) error
		then    []any
		wantErr error
	}{
		{
			name: "a request for a member sends the first code",
			when: func(r *member.Reset) error { return r.Request(memberID, t0, codes) },
			then: []any{member.ResetRequested{MemberID: memberID, Sequence: 1, ExpiresAt: t0.Add(15 * time.Minute),
				PolicyVersion: credential.CodePolicyVersion}},
		},
		{
			name: "a refused request",
			when: func(r *member.Reset) error { return r.Refuse(member.ResetRefusedUnknownAccount, t0) },
			then: []any{member.ResetRefused{Reason: "unknown_account"}},
		},
		{
			name:    "an unknown refusal is a bug",
			when:    func(r *member.Reset) error { return r.Refuse("", t0) },
			wantErr: failure.Internal,
		},
		{
			name:    "a procedure opens once",
			given:   requested,
			when:    func(r *member.Reset) error { return r.Request(memberID, t0, codes) },
			wantErr: failure.Conflict,
		},
		{
			name:  "the right code records nothing",
			given: requested,
			when:  func(r *member.Reset) error { return r.VerifyCode(matching(1), t0.Add(time.Minute), codes) },
		},
		{
			name:    "a wrong code",
			given:   requested,
			when:    func(r *member.Reset) error { return r.VerifyCode(never, t0.Add(time.Minute), codes) },
			then:    []any{rejected(1)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:    "the fifth wrong code locks",
			given:   join(requested, fourWrong),
			when:    func(r *member.Reset) error { return r.VerifyCode(never, t0.Add(time.Minute), codes) },
			then:    []any{rejected(5), member.ResetLocked{Reason: "too_many_attempts"}},
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:    "a locked procedure takes no code",
			given:   join(requested, fourWrong, on(t0, rejected(5), member.ResetLocked{Reason: "too_many_attempts"})),
			when:    func(r *member.Reset) error { return r.VerifyCode(matching(1), t0.Add(time.Minute), codes) },
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:    "an expired code",
			given:   requested,
			when:    func(r *member.Reset) error { return r.VerifyCode(matching(1), t0.Add(15*time.Minute), codes) },
			wantErr: credential.ErrCodeExpired,
		},
		{
			name:  "a refused procedure has no right code",
			given: refused,
			when: func(r *member.Reset) error {
				return r.VerifyCode(func(int) bool { return true }, t0.Add(time.Minute), codes)
			},
			then:    []any{rejected(1)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:    "a refused procedure locks the same way",
			given:   join(refused, fourWrong),
			when:    func(r *member.Reset) error { return r.VerifyCode(never, t0.Add(time.Minute), codes) },
			then:    []any{rejected(5), member.ResetLocked{Reason: "too_many_attempts"}},
			wantErr: credential.ErrCodeAttemptsExhausted,
		},
		{
			name:    "a refused procedure expires the same way",
			given:   refused,
			when:    func(r *member.Reset) error { return r.VerifyCode(never, t0.Add(15*time.Minute), codes) },
			wantErr: credential.ErrCodeExpired,
		},
		{
			name:    "no procedure",
			when:    func(r *member.Reset) error { return r.VerifyCode(never, t0, codes) },
			wantErr: member.ErrResetNotFound,
		},
		{
			name:  "complete",
			given: requested,
			when:  func(r *member.Reset) error { return r.Complete(t0) },
			then:  []any{member.ResetCompleted{}},
		},
		{
			name:  "completing again records nothing",
			given: join(requested, on(t0, member.ResetCompleted{})),
			when:  func(r *member.Reset) error { return r.Complete(t0) },
		},
		{
			name:    "a completed procedure takes no code",
			given:   join(requested, on(t0, member.ResetCompleted{})),
			when:    func(r *member.Reset) error { return r.VerifyCode(matching(1), t0.Add(time.Minute), codes) },
			wantErr: member.ErrResetCompleted,
		},
		{
			name:    "a refused procedure never completes",
			given:   refused,
			when:    func(r *member.Reset) error { return r.Complete(t0) },
			wantErr: failure.Internal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := member.RehydrateReset(tt.given)
			err := tt.when(r)
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
			if got := r.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}
