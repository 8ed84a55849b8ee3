package registration_test

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
	"github.com/msa-dossier/dossier/domain/registration"
)

var (
	t0     = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	policy = credential.CurrentCodePolicy()
	member = uuid.MustParse("5b8f2f0e-7d1c-4f55-9a55-1f0c8f0b6f2a")

	applicant = registration.Started{NIR: "1850375115042", Key: 16, LastName: "Dupont", FirstName: "Jean",
		BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "+33612345678", TermsVersion: "2026-11"}
	issued1 = registration.CodeIssued{Sequence: 1, ExpiresAt: t0.Add(15 * time.Minute), Channel: "email",
		PolicyVersion: credential.CodePolicyVersion}
)

// on dates events at t, as the store hands them out.
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

func rejected(n int) registration.CodeRejected { return registration.CodeRejected{Attempt: n} }

// matching returns a code check that accepts only sequence seq.
func matching(seq int) func(int) bool { return func(s int) bool { return s == seq } }

func never(int) bool { return false }

// started is a registration whose first code was issued at t0.
var started = on(t0, applicant, issued1)

// refused is a registration refused at t0.
var refused = on(t0, applicant, registration.Refused{Reason: registration.RefusedNotInsured})

func TestRegistration(t *testing.T) {
	tests := []struct {
		name    string
		given   []event.Envelope
		when    func(r *registration.Registration) error
		then    []any
		wantErr error // matched with errors.Is; failure.Internal means any internal error
	}{
		{
			name: "a form that may go on gets its first code",
			when: func(r *registration.Registration) error { return r.Start(applicant, "", t0, policy) },
			then: []any{applicant, issued1},
		},
		{
			name: "a form of someone not insured is refused, without code",
			when: func(r *registration.Registration) error {
				return r.Start(applicant, registration.RefusedNotInsured, t0, policy)
			},
			then: []any{applicant, registration.Refused{Reason: "not_insured"}},
		},
		{
			name: "a form of someone already registered is refused, without code",
			when: func(r *registration.Registration) error {
				return r.Start(applicant, registration.RefusedAlreadyRegistered, t0, policy)
			},
			then: []any{applicant, registration.Refused{Reason: "already_registered"}},
		},
		{
			name:    "an unknown refusal is a bug",
			when:    func(r *registration.Registration) error { return r.Start(applicant, "maybe", t0, policy) },
			wantErr: failure.Internal,
		},
		{
			name: "an unvalidated applicant is a bug",
			when: func(r *registration.Registration) error {
				return r.Start(registration.Started{NIR: "1"}, "", t0, policy)
			},
			wantErr: failure.Internal,
		},
		{
			name:    "a registration starts once",
			given:   started,
			when:    func(r *registration.Registration) error { return r.Start(applicant, "", t0, policy) },
			wantErr: registration.ErrAlreadyStarted,
		},
		{
			name:    "resend within the cooldown",
			given:   started,
			when:    func(r *registration.Registration) error { return r.Resend(t0.Add(59*time.Second), policy) },
			wantErr: credential.ErrCodeResendTooSoon,
		},
		{
			name:  "resend after the cooldown issues the next sequence",
			given: started,
			when:  func(r *registration.Registration) error { return r.Resend(t0.Add(time.Minute), policy) },
			then: []any{registration.CodeIssued{Sequence: 2, ExpiresAt: t0.Add(16 * time.Minute), Channel: "email",
				PolicyVersion: credential.CodePolicyVersion}},
		},
		{
			name:  "the cooldown runs from the last code",
			given: join(started, on(t0.Add(5*time.Minute), registration.CodeIssued{Sequence: 2, ExpiresAt: t0.Add(20 * time.Minute)})),
			when: func(r *registration.Registration) error {
				return r.Resend(t0.Add(5*time.Minute+30*time.Second), policy)
			},
			wantErr: credential.ErrCodeResendTooSoon,
		},
		{
			name:  "resend on a refused registration answers like a success and issues nothing",
			given: refused,
			when:  func(r *registration.Registration) error { return r.Resend(t0.Add(2*time.Minute), policy) },
		},
		{
			name:    "resend on a refused registration has the same cooldown after its start",
			given:   refused,
			when:    func(r *registration.Registration) error { return r.Resend(t0.Add(10*time.Second), policy) },
			wantErr: credential.ErrCodeResendTooSoon,
		},
		{
			name:    "resend on a locked registration",
			given:   join(started, on(t0, rejected(1), rejected(2), rejected(3), rejected(4), rejected(5), registration.Locked{Reason: "too_many_attempts"})),
			when:    func(r *registration.Registration) error { return r.Resend(t0.Add(time.Hour), policy) },
			wantErr: registration.ErrLocked,
		},
		{
			name:    "resend on a completed registration",
			given:   join(started, on(t0, registration.Completed{MemberID: member})),
			when:    func(r *registration.Registration) error { return r.Resend(t0.Add(time.Hour), policy) },
			wantErr: registration.ErrCompleted,
		},
		{
			name:    "resend on nothing",
			when:    func(r *registration.Registration) error { return r.Resend(t0, policy) },
			wantErr: registration.ErrNotFound,
		},
		{
			name:  "the right code records nothing (Complete follows)",
			given: started,
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(time.Minute), policy)
			},
		},
		{
			name:    "a wrong code is counted",
			given:   started,
			when:    func(r *registration.Registration) error { return r.VerifyCode(never, t0.Add(time.Minute), policy) },
			then:    []any{rejected(1)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:    "attempts are counted across resends: the fifth wrong code locks",
			given:   join(started, on(t0, rejected(1), rejected(2)), on(t0.Add(2*time.Minute), registration.CodeIssued{Sequence: 2, ExpiresAt: t0.Add(17 * time.Minute)}), on(t0.Add(3*time.Minute), rejected(3), rejected(4))),
			when:    func(r *registration.Registration) error { return r.VerifyCode(never, t0.Add(4*time.Minute), policy) },
			then:    []any{rejected(5), registration.Locked{Reason: "too_many_attempts"}},
			wantErr: registration.ErrLocked,
		},
		{
			name:  "after a resend only the last code is right",
			given: join(started, on(t0.Add(2*time.Minute), registration.CodeIssued{Sequence: 2, ExpiresAt: t0.Add(17 * time.Minute)})),
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(3*time.Minute), policy)
			},
			then:    []any{rejected(1)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:  "an expired code is refused without counting",
			given: started,
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(15*time.Minute), policy)
			},
			wantErr: credential.ErrCodeExpired,
		},
		{
			name:  "a locked registration takes no code, even the right one",
			given: join(started, on(t0, rejected(1), rejected(2), rejected(3), rejected(4), rejected(5), registration.Locked{Reason: "too_many_attempts"})),
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(time.Minute), policy)
			},
			wantErr: registration.ErrLocked,
		},
		{
			name:  "a refused registration has no right code",
			given: refused,
			when: func(r *registration.Registration) error {
				return r.VerifyCode(func(int) bool { return true }, t0.Add(time.Minute), policy)
			},
			then:    []any{rejected(1)},
			wantErr: credential.ErrCodeWrong,
		},
		{
			name:    "a refused registration locks like any other",
			given:   join(refused, on(t0, rejected(1), rejected(2), rejected(3), rejected(4))),
			when:    func(r *registration.Registration) error { return r.VerifyCode(never, t0.Add(time.Minute), policy) },
			then:    []any{rejected(5), registration.Locked{Reason: "too_many_attempts"}},
			wantErr: registration.ErrLocked,
		},
		{
			name:    "a refused registration expires like a first code",
			given:   refused,
			when:    func(r *registration.Registration) error { return r.VerifyCode(never, t0.Add(15*time.Minute), policy) },
			wantErr: credential.ErrCodeExpired,
		},
		{
			name:  "a completed registration takes no code",
			given: join(started, on(t0, registration.Completed{MemberID: member})),
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(time.Minute), policy)
			},
			wantErr: registration.ErrCompleted,
		},
		{
			name:  "complete opens the account",
			given: started,
			when:  func(r *registration.Registration) error { return r.Complete(member, t0.Add(time.Minute)) },
			then:  []any{registration.Completed{MemberID: member}},
		},
		{
			name:  "completing again for the same member records nothing",
			given: join(started, on(t0, registration.Completed{MemberID: member})),
			when:  func(r *registration.Registration) error { return r.Complete(member, t0.Add(time.Minute)) },
		},
		{
			name:    "completing for another member",
			given:   join(started, on(t0, registration.Completed{MemberID: member})),
			when:    func(r *registration.Registration) error { return r.Complete(uuid.New(), t0.Add(time.Minute)) },
			wantErr: registration.ErrCompleted,
		},
		{
			name:    "a refused registration never completes",
			given:   refused,
			when:    func(r *registration.Registration) error { return r.Complete(member, t0.Add(time.Minute)) },
			wantErr: failure.Internal,
		},
		{
			name:  "events of unknown types are ignored",
			given: join(on(t0, struct{ Other int }{1}), started),
			when: func(r *registration.Registration) error {
				return r.VerifyCode(matching(1), t0.Add(time.Minute), policy)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registration.Rehydrate(tt.given)
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

// TestRehydrateMatchesDecisions checks that the state after recording equals the state rehydrated from the same
// events: apply is the only way state changes.
func TestRehydrateMatchesDecisions(t *testing.T) {
	r := registration.Rehydrate(nil)
	if err := r.Start(applicant, "", t0, policy); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := r.VerifyCode(never, t0.Add(time.Duration(i)*time.Second), policy); !errors.Is(err, credential.ErrCodeWrong) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := r.Resend(t0.Add(2*time.Minute), policy); err != nil {
		t.Fatal(err)
	}
	again := registration.Rehydrate(on(t0, r.Events()...))
	if again.Attempts() != 3 || again.Sequence() != 2 || r.Attempts() != 3 || r.Sequence() != 2 {
		t.Fatalf("attempts/sequence: recorded %d/%d, rehydrated %d/%d", r.Attempts(), r.Sequence(), again.Attempts(), again.Sequence())
	}
	if !again.ExpiresAt().Equal(t0.Add(17*time.Minute)) || again.Applicant() != applicant {
		t.Fatalf("rehydrated state differs: %v", again)
	}
	if s := again.String(); s == "" || strings.Contains(s, applicant.NIR) || strings.Contains(s, applicant.LastName) ||
		strings.Contains(s, applicant.Email) {
		t.Fatalf("String leaks personal data: %q", s)
	}
}
