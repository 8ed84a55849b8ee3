package command_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
)

func TestMemberActivateFiveWrongCodesLock(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	reg := f.register(t, memberJean)
	right := f.activationCode(t, reg.RegistrationID)
	wrong := memberWrongCode(right)
	for i := 1; i <= 4; i++ {
		_, err := f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, wrong, memberPassword)
		memberWant(t, err, failure.Rule, "code.wrong", "code")
		if i == 2 { // a resend does not give five more guesses
			f.clock.Advance(time.Minute)
			if _, err := f.h.ResendActivationCode(ctx, memberAnonymous(), reg.RegistrationID); err != nil {
				t.Fatal(err)
			}
			right = f.activationCode(t, reg.RegistrationID)
			wrong = memberWrongCode(right)
		}
	}
	_, err := f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, wrong, memberPassword)
	memberWant(t, err, failure.Rule, "registration.locked", "")

	events := f.events(t, memberRegistrationStream(reg.RegistrationID))
	var attempts []int
	for _, e := range events {
		if r, ok := e.(registration.CodeRejected); ok {
			attempts = append(attempts, r.Attempt)
		}
	}
	if !reflect.DeepEqual(attempts, []int{1, 2, 3, 4, 5}) || events[len(events)-1] != (registration.Locked{Reason: "too_many_attempts"}) {
		t.Fatalf("events: %#v", events)
	}
	_, err = f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, right, memberPassword)
	memberWant(t, err, failure.Rule, "registration.locked", "")
	f.clock.Advance(time.Minute)
	_, err = f.h.ResendActivationCode(ctx, memberAnonymous(), reg.RegistrationID)
	memberWant(t, err, failure.Rule, "registration.locked", "")
	if n := f.countRecords(t, "member-"); n != 0 {
		t.Fatalf("%d member events", n)
	}
}

func TestMemberActivateRefusals(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	reg := f.register(t, memberJean)
	code := f.activationCode(t, reg.RegistrationID)
	before := f.countRecords(t, "")

	tests := []struct {
		name, code, password string
		kind                 failure.Kind
		want, field          string
	}{
		{"malformed code", "1234", memberPassword, failure.Invalid, "code.malformed", "code"},
		{"short password", code, "court", failure.Invalid, "password.too_short", "password"},
		{"common password", code, "motdepasse123", failure.Invalid, "password.too_common", "password"},
		{"password with the name", code, "dupont jean 1985 paris", failure.Invalid, "password.contains_personal_data", "password"},
		{"password with the NIR", code, "x1850375115042x", failure.Invalid, "password.contains_personal_data", "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, tt.code, tt.password)
			memberWant(t, err, tt.kind, tt.want, tt.field)
		})
	}
	if after := f.countRecords(t, ""); after != before {
		t.Fatalf("%d events appended by refused activations", after-before)
	}
	_, err := f.h.Activate(ctx, memberAnonymous(), uuid.New(), code, memberPassword)
	memberWant(t, err, failure.NotFound, "registration.not_found", "")

	f.clock.Advance(15 * time.Minute)
	_, err = f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, code, memberPassword)
	memberWant(t, err, failure.Rule, "code.expired", "code")
	if after := f.countRecords(t, ""); after != before {
		t.Fatal("an expired code appended events")
	}
}

func TestMemberActivateRetryAndResume(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	reg := f.register(t, memberJean)
	code := f.activationCode(t, reg.RegistrationID)
	meta := memberAnonymous()

	// The first attempt stops after the claim: the member stream is unavailable.
	f.failing.FailNext(member.Category)
	if _, err := f.h.Activate(ctx, meta, reg.RegistrationID, code, memberPassword); failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("interrupted activation: %v", err)
	}
	if f.countRecords(t, "nirclaim-") != 1 || f.countRecords(t, "member-") != 0 {
		t.Fatal("the interruption is not where the test wants it")
	}
	// The retry completes what is missing.
	first, err := f.h.Activate(ctx, meta, reg.RegistrationID, code, memberPassword)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	// Another retry of the same call (a lost answer) returns the same account and writes nothing.
	again, err := f.h.Activate(ctx, meta, reg.RegistrationID, code, memberPassword)
	if err != nil || again != first {
		t.Fatalf("second retry: %+v, %v (first %+v)", again, err, first)
	}
	if f.countRecords(t, "nirclaim-") != 1 || f.countRecords(t, "member-") != 2 || f.countRecords(t, "registration-") != 3 {
		t.Fatalf("events written twice: %d claim, %d member, %d registration", f.countRecords(t, "nirclaim-"),
			f.countRecords(t, "member-"), f.countRecords(t, "registration-"))
	}
	// A new activation of a completed registration.
	_, err = f.h.Activate(ctx, memberAnonymous(), reg.RegistrationID, code, memberPassword)
	memberWant(t, err, failure.Rule, "registration.completed", "")
}

func TestMemberActivateRetryOfWrongCode(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	reg := f.register(t, memberJean)
	wrong := memberWrongCode(f.activationCode(t, reg.RegistrationID))
	meta := memberAnonymous()
	for range 2 {
		_, err := f.h.Activate(ctx, meta, reg.RegistrationID, wrong, memberPassword)
		memberWant(t, err, failure.Rule, "code.wrong", "code")
	}
	if n := f.countRecords(t, "registration-"); n != 3 {
		t.Fatalf("a retried wrong code was counted twice: %d events", n)
	}
}

func TestMemberActivateAlreadyRegistered(t *testing.T) {
	f := newMemberFixture(t)
	ctx := memberCtx(t)
	// Two registrations of the same person before either is activated: both go on; the first activated wins.
	a := f.register(t, memberJean)
	b := f.register(t, memberJean)
	if _, err := f.h.Activate(ctx, memberAnonymous(), a.RegistrationID, f.activationCode(t, a.RegistrationID), memberPassword); err != nil {
		t.Fatal(err)
	}
	_, err := f.h.Activate(ctx, memberAnonymous(), b.RegistrationID, f.activationCode(t, b.RegistrationID), memberPassword)
	memberWant(t, err, failure.Rule, "registration.already_registered", "")
	if n := f.countRecords(t, "member-"); n != 2 {
		t.Fatalf("%d member events: the second registration opened an account", n)
	}
}

func TestMemberActivateConcurrently(t *testing.T) {
	f := newMemberFixture(t)
	reg := f.register(t, memberJean)
	code := f.activationCode(t, reg.RegistrationID)
	var wg sync.WaitGroup
	results := make([]command.ActivateResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.h.Activate(memberCtx(t), memberAnonymous(), reg.RegistrationID, code, memberPassword)
		}()
	}
	wg.Wait()
	succeeded := 0
	for i, err := range errs {
		switch {
		case err == nil:
			succeeded++
			if results[i].MemberID == uuid.Nil {
				t.Fatalf("result %+v", results[i])
			}
		case failure.CodeOf(err) != "registration.completed":
			t.Fatalf("activation %d: %v", i, err)
		}
	}
	t.Logf("%d of %d concurrent activations succeeded, the others found the registration completed", succeeded, len(errs))
	if succeeded == 0 {
		t.Fatal("no activation succeeded")
	}
	if f.countRecords(t, "nirclaim-") != 1 || f.countRecords(t, "member-") != 2 || f.countRecords(t, "registration-") != 3 {
		t.Fatalf("concurrent activations wrote %d claim, %d member, %d registration events", f.countRecords(t, "nirclaim-"),
			f.countRecords(t, "member-"), f.countRecords(t, "registration-"))
	}
}
