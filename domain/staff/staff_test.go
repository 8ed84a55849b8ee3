package staff

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
	"github.com/msa-dossier/dossier/domain/messages"
)

var (
	staffID  = uuid.MustParse("5b0f1c2e-8a0d-4d8e-9a51-3c1d2f7e6b10")
	session1 = uuid.MustParse("0d9e3f4a-6b7c-4d8e-9f10-a1b2c3d4e5f6")
	session2 = uuid.MustParse("7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d")
	now      = time.Date(2026, time.November, 25, 9, 30, 0, 0, time.UTC)
)

const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

// accept is a TOTP check that matches step, refusing it as a replay when it is not after lastStep (as
// credentials.TOTP does).
func accept(step int64) func(int, int64) (int64, error) {
	return func(seq int, lastStep int64) (int64, error) {
		if step <= lastStep {
			return 0, ErrTOTPReplayed
		}
		return step, nil
	}
}

// reject is a TOTP check for a wrong code.
func reject(int, int64) (int64, error) { return 0, ErrTOTPInvalid }

func attempt(passwordOK bool, check func(int, int64) (int64, error)) Attempt {
	return Attempt{At: now, SessionID: session1, PasswordOK: passwordOK, CheckTOTP: check}
}

// created is the history of a freshly created account (enrolment not confirmed yet).
func created() []any {
	return []any{
		Created{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{RoleCaseworker}},
		PasswordSet{Hash: hash, PolicyVersion: PasswordPolicyVersion},
		TOTPEnrolled{Sequence: 1},
	}
}

// confirmed is the history of an account that logged in once, at step 1000.
func confirmed() []any {
	return append(created(), TOTPConfirmed{Sequence: 1, Step: 1000}, LoggedIn{SessionID: session1, Step: 1000})
}

func failures(n int, reason string) []any {
	var out []any
	for i := 1; i <= n; i++ {
		out = append(out, LoginFailed{Failures: i, Reason: reason})
	}
	return out
}

func concat(lists ...[]any) []any {
	var out []any
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// envelopes turns given events into a stream history.
func envelopes(events []any) []event.Envelope {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Stream: StreamFor(staffID), Revision: uint64(i), Event: e}
	}
	return out
}

func TestStaff(t *testing.T) {
	tests := []struct {
		name  string
		given []any
		when  func(*Staff) error
		then  []any
		err   error // errors.Is; nil: success
	}{
		{
			name: "create",
			when: func(s *Staff) error {
				return s.Create(Account{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"admin", "caseworker", "admin"}, PasswordHash: hash})
			},
			then: []any{
				Created{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{RoleCaseworker, RoleAdmin}},
				PasswordSet{Hash: hash, PolicyVersion: PasswordPolicyVersion},
				TOTPEnrolled{Sequence: 1},
			},
		},
		{
			name:  "create twice",
			given: created(),
			when: func(s *Staff) error {
				return s.Create(Account{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"admin"}, PasswordHash: hash})
			},
			err: ErrAlreadyCreated,
		},
		{
			name: "create with a login not canonical",
			when: func(s *Staff) error {
				return s.Create(Account{Login: "J.Dupont", Name: "Jeanne Dupont", Roles: []string{"admin"}, PasswordHash: hash})
			},
			err: ErrLoginInvalid,
		},
		{
			name: "create with an unknown role",
			when: func(s *Staff) error {
				return s.Create(Account{Login: "j.dupont", Name: "Jeanne Dupont", Roles: []string{"root"}, PasswordHash: hash})
			},
			err: ErrRoleUnknown,
		},
		{
			name: "create without role",
			when: func(s *Staff) error {
				return s.Create(Account{Login: "j.dupont", Name: "Jeanne Dupont", PasswordHash: hash})
			},
			err: ErrRolesEmpty,
		},
		{
			name:  "first valid code confirms the enrolment, then logs in",
			given: created(),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(2000))) },
			then:  []any{TOTPConfirmed{Sequence: 1, Step: 2000}, LoggedIn{SessionID: session1, Step: 2000}},
		},
		{
			name:  "login once confirmed",
			given: confirmed(),
			when: func(s *Staff) error {
				return s.Authenticate(Attempt{At: now, SessionID: session2, PasswordOK: true, CheckTOTP: accept(1001)})
			},
			then: []any{LoggedIn{SessionID: session2, Step: 1001}},
		},
		{
			name:  "the TOTP check gets the enrolment's sequence and the last step",
			given: concat(confirmed(), []any{TOTPEnrolled{Sequence: 2}}),
			when: func(s *Staff) error {
				return s.Authenticate(attempt(true, func(seq int, last int64) (int64, error) {
					if seq != 2 || last != 1000 {
						return 0, errors.New("wrong arguments")
					}
					return 1003, nil
				}))
			},
			then: []any{TOTPConfirmed{Sequence: 2, Step: 1003}, LoggedIn{SessionID: session1, Step: 1003}},
		},
		{
			name:  "wrong password: the code is not even checked",
			given: confirmed(),
			when: func(s *Staff) error {
				return s.Authenticate(attempt(false, func(int, int64) (int64, error) { panic("code checked") }))
			},
			then: []any{LoginFailed{Failures: 1, Reason: ReasonPassword}},
			err:  ErrWrongPassword,
		},
		{
			name:  "wrong TOTP code",
			given: confirmed(),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, reject)) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonTOTP}},
			err:   ErrTOTPInvalid,
		},
		{
			name:  "wrong first code: the enrolment stays unconfirmed",
			given: created(),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, reject)) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonTOTP}},
			err:   ErrTOTPInvalid,
		},
		{
			name:  "replayed code",
			given: confirmed(),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(1000))) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonTOTPReplayed}},
			err:   ErrTOTPReplayed,
		},
		{
			name:  "a step at or before the last one is a replay even if the check let it through",
			given: confirmed(),
			when: func(s *Staff) error {
				return s.Authenticate(attempt(true, func(int, int64) (int64, error) { return 999, nil }))
			},
			then: []any{LoginFailed{Failures: 1, Reason: ReasonTOTPReplayed}},
			err:  ErrTOTPReplayed,
		},
		{
			name:  "the step of the confirming code cannot log in again",
			given: concat(created(), []any{TOTPConfirmed{Sequence: 1, Step: 1500}}),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(1500))) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonTOTPReplayed}},
			err:   ErrTOTPReplayed,
		},
		{
			name:  "failures count across reasons",
			given: concat(confirmed(), failures(2, ReasonPassword), []any{LoginFailed{Failures: 3, Reason: ReasonTOTP}}),
			when:  func(s *Staff) error { return s.Authenticate(attempt(false, reject)) },
			then:  []any{LoginFailed{Failures: 4, Reason: ReasonPassword}},
			err:   ErrWrongPassword,
		},
		{
			name:  "the fifth failure in a row locks for 15 minutes",
			given: concat(confirmed(), failures(4, ReasonPassword)),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, reject)) },
			then: []any{
				LoginFailed{Failures: 5, Reason: ReasonTOTP},
				Locked{Until: now.Add(15 * time.Minute), Reason: LockReasonFailures},
			},
			err: ErrTOTPInvalid,
		},
		{
			name:  "locked: refused, nothing checked or recorded, even the right password and code",
			given: concat(confirmed(), failures(5, ReasonPassword), []any{Locked{Until: now.Add(time.Minute), Reason: LockReasonFailures}}),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(2000))) },
			err:   ErrLocked,
		},
		{
			name:  "the lock ends at its Until",
			given: concat(confirmed(), failures(5, ReasonPassword), []any{Locked{Until: now, Reason: LockReasonFailures}}),
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(2000))) },
			then:  []any{LoggedIn{SessionID: session1, Step: 2000}},
		},
		{
			name: "after a lock, failures count from zero and the next lock doubles",
			given: concat(confirmed(), failures(5, ReasonPassword), []any{Locked{Until: now.Add(-time.Hour), Reason: LockReasonFailures}},
				failures(4, ReasonPassword)),
			when: func(s *Staff) error { return s.Authenticate(attempt(false, reject)) },
			then: []any{
				LoginFailed{Failures: 5, Reason: ReasonPassword},
				Locked{Until: now.Add(30 * time.Minute), Reason: LockReasonFailures},
			},
			err: ErrWrongPassword,
		},
		{
			name: "a successful login resets the doubling",
			given: concat(confirmed(), failures(5, ReasonPassword), []any{Locked{Until: now.Add(-time.Hour), Reason: LockReasonFailures}},
				[]any{LoggedIn{SessionID: session2, Step: 1100}}, failures(4, ReasonTOTP)),
			when: func(s *Staff) error { return s.Authenticate(attempt(false, reject)) },
			then: []any{
				LoginFailed{Failures: 5, Reason: ReasonPassword},
				Locked{Until: now.Add(15 * time.Minute), Reason: LockReasonFailures},
			},
			err: ErrWrongPassword,
		},
		{
			name:  "a success resets the failure count",
			given: concat(confirmed(), failures(4, ReasonTOTP), []any{LoggedIn{SessionID: session2, Step: 1100}}),
			when:  func(s *Staff) error { return s.Authenticate(attempt(false, reject)) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonPassword}},
			err:   ErrWrongPassword,
		},
		{
			name:  "an account without enrolment cannot log in",
			given: created()[:2],
			when:  func(s *Staff) error { return s.Authenticate(attempt(true, accept(2000))) },
			then:  []any{LoginFailed{Failures: 1, Reason: ReasonNotEnrolled}},
			err:   ErrNotEnrolled,
		},
		{
			name: "unknown account",
			when: func(s *Staff) error { return s.Authenticate(attempt(true, accept(2000))) },
			err:  ErrNotFound,
		},
		{
			name:  "logout",
			given: confirmed(),
			when:  func(s *Staff) error { return s.LogOut(session1) },
			then:  []any{LoggedOut{SessionID: session1}},
		},
		{
			name:  "logout twice: nothing more",
			given: concat(confirmed(), []any{LoggedOut{SessionID: session1}}),
			when:  func(s *Staff) error { return s.LogOut(session1) },
		},
		{
			name:  "logout of a session never opened",
			given: confirmed(),
			when:  func(s *Staff) error { return s.LogOut(session2) },
			err:   ErrSessionUnknown,
		},
		{
			name:  "roles change",
			given: confirmed(),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"Auditor", "supervisor"}) },
			then:  []any{RolesChanged{Roles: []string{RoleSupervisor, RoleAuditor}}},
		},
		{
			name:  "roles unchanged: nothing recorded",
			given: concat(confirmed(), []any{RolesChanged{Roles: []string{RoleCaseworker, RoleAdmin}}}),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"admin", "caseworker"}) },
		},
		{
			name:  "medical role added",
			given: confirmed(),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"medical", "caseworker"}) },
			then:  []any{RolesChanged{Roles: []string{RoleCaseworker, RoleMedical}}},
		},
		{
			name:  "medical role removed",
			given: concat(confirmed(), []any{RolesChanged{Roles: []string{RoleCaseworker, RoleMedical}}}),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"caseworker"}) },
			then:  []any{RolesChanged{Roles: []string{RoleCaseworker}}},
		},
		{
			name:  "medical role alone",
			given: confirmed(),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"medical"}) },
			err:   ErrRolesEmpty,
		},
		{
			name:  "roles emptied",
			given: confirmed(),
			when:  func(s *Staff) error { return s.ChangeRoles(nil) },
			err:   ErrRolesEmpty,
		},
		{
			name:  "unknown role",
			given: confirmed(),
			when:  func(s *Staff) error { return s.ChangeRoles([]string{"caseworker", "superuser"}) },
			err:   ErrRoleUnknown,
		},
		{
			name: "roles of an unknown account",
			when: func(s *Staff) error { return s.ChangeRoles([]string{"admin"}) },
			err:  ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Rehydrate(staffID, envelopes(tt.given))
			err := tt.when(s)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got := s.Pending(); !reflect.DeepEqual(got, tt.then) {
				t.Errorf("recorded\n  %#v\nwant\n  %#v", got, tt.then)
			}
		})
	}
}

func TestLockedErrorGivesTheEnd(t *testing.T) {
	until := now.Add(7 * time.Minute)
	s := Rehydrate(staffID, envelopes(concat(confirmed(), failures(5, ReasonTOTP), []any{Locked{Until: until, Reason: LockReasonFailures}})))
	err := s.Authenticate(attempt(true, accept(2000)))
	var le *LockedError
	if !errors.As(err, &le) || !le.Until.Equal(until) || failure.CodeOf(err) != "staff.locked" || failure.KindOf(err) != failure.Unauthenticated {
		t.Fatalf("error %v", err)
	}
	if got, locked := s.LockedUntil(now); !locked || !got.Equal(until) {
		t.Errorf("LockedUntil = %v, %v", got, locked)
	}
}

func TestAuthenticateAbortsOnAnInternalTOTPError(t *testing.T) {
	boom := errors.New("secret is not base32")
	s := Rehydrate(staffID, envelopes(confirmed()))
	err := s.Authenticate(attempt(true, func(int, int64) (int64, error) { return 0, boom }))
	if !errors.Is(err, boom) || len(s.Pending()) != 0 {
		t.Fatalf("error %v, pending %v", err, s.Pending())
	}
}

func TestRehydrateState(t *testing.T) {
	s := Rehydrate(staffID, envelopes(concat(confirmed(), []any{RolesChanged{Roles: []string{RoleAuditor}}, TOTPEnrolled{Sequence: 2}})))
	if !s.Exists() || s.ID() != staffID || s.Login() != "j.dupont" || s.Name() != "Jeanne Dupont" || s.PasswordHash() != hash {
		t.Errorf("identity: %+v", s)
	}
	if !reflect.DeepEqual(s.Roles(), []string{RoleAuditor}) || s.MedicalService() {
		t.Errorf("roles %v", s.Roles())
	}
	if s.TOTPSequence() != 2 || s.TOTPConfirmed() || s.LastStep() != 1000 {
		t.Errorf("totp: sequence %d confirmed %v last step %d", s.TOTPSequence(), s.TOTPConfirmed(), s.LastStep())
	}
	// Roles returns a copy
	s.Roles()[0] = "admin"
	if s.Roles()[0] != RoleAuditor {
		t.Error("Roles shares its slice")
	}
	if Rehydrate(staffID, nil).Exists() {
		t.Error("empty history exists")
	}
}

func TestLockDuration(t *testing.T) {
	for n, want := range map[int]time.Duration{
		1: 15 * time.Minute, 2: 30 * time.Minute, 3: time.Hour, 4: 2 * time.Hour, 5: 4 * time.Hour, 6: 8 * time.Hour,
		7: 16 * time.Hour, 8: 24 * time.Hour, 9: 24 * time.Hour, 1000: 24 * time.Hour,
	} {
		if got := LockDuration(n); got != want {
			t.Errorf("LockDuration(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestCanonicalLogin(t *testing.T) {
	for in, want := range map[string]string{
		"j.dupont": "j.dupont", "  J.Dupont ": "j.dupont", "abc": "abc", "a-b.c-2": "a-b.c-2",
		strings.Repeat("a", 64): strings.Repeat("a", 64),
	} {
		if got, err := CanonicalLogin(in); err != nil || got != want {
			t.Errorf("CanonicalLogin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", strings.Repeat("a", 65), "j dupont", "j_dupont", "jérôme", "j@dupont", "a\x00b"} {
		if _, err := CanonicalLogin(in); !errors.Is(err, ErrLoginInvalid) {
			t.Errorf("CanonicalLogin(%q): %v", in, err)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	if got, err := NormalizeName("  Jeanne   Dupont-Hélène "); err != nil || got != "Jeanne Dupont-Hélène" {
		t.Errorf("NormalizeName = %q, %v", got, err)
	}
	for _, in := range []string{"", "   ", "Jeanne\tDupont", "a\x00", strings.Repeat("é", 101), "Fran\xe7ois"} {
		if _, err := NormalizeName(in); !errors.Is(err, ErrNameInvalid) {
			t.Errorf("NormalizeName(%q): %v", in, err)
		}
	}
}

func TestNormalizeRoles(t *testing.T) {
	got, err := NormalizeRoles([]string{"admin", "Medical", " Caseworker", "auditor", "admin", "supervisor"})
	if err != nil || !reflect.DeepEqual(got, AllRoles()) {
		t.Errorf("NormalizeRoles = %v, %v", got, err)
	}
	if _, err := NormalizeRoles([]string{}); !errors.Is(err, ErrRolesEmpty) {
		t.Errorf("empty: %v", err)
	}
	// The medical service is an attribute of a working role, never a role on its own.
	if _, err := NormalizeRoles([]string{"medical", " MEDICAL"}); !errors.Is(err, ErrRolesEmpty) {
		t.Errorf("medical alone: %v", err)
	}
	got, err = NormalizeRoles([]string{"medical", "caseworker"})
	if err != nil || !reflect.DeepEqual(got, []string{RoleCaseworker, RoleMedical}) || !MedicalService(got) {
		t.Errorf("caseworker + medical = %v, %v", got, err)
	}
	if MedicalService([]string{RoleSupervisor}) {
		t.Error("a supervisor without the medical role belongs to the medical service")
	}
	if _, err := NormalizeRoles([]string{"member"}); !errors.Is(err, ErrRoleUnknown) {
		t.Errorf("member: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw   string
		want error
	}{
		{"Trois pommes vertes au jardin", nil},
		{"Lune bleue 7!", ErrPasswordTooShort},               // 13: enough for a member, not for staff
		{"Lune bleu!", ErrPasswordTooShort},                  // below the members' 12 as well: the staff message
		{"12345678901234", credential.ErrPasswordDigitsOnly}, // 14 digits: below 50 bits
		{"motdepasse2026!", credential.ErrPasswordTooCommon},
		{"jdupont aime les pommes", credential.ErrPasswordPersonalData},
		{"Trois pommes\tvertes au jardin", credential.ErrPasswordInvalidCharacter},
		{strings.Repeat("Trois pommes ", 10), credential.ErrPasswordTooLong},
	}
	for _, tt := range tests {
		err := CheckPassword(nil, tt.pw, "j.dupont", "Jeanne Dupont")
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.pw, err, tt.want)
		}
	}
	if failure.KindOf(CheckPassword(nil, "short")) != failure.Invalid {
		t.Error("too short is not Invalid")
	}
}

func TestNewAccess(t *testing.T) {
	got, err := NewAccess(staffID, RoleCaseworker, "member.profile", "")
	if err != nil || got != (MemberDataOpened{StaffID: staffID, Role: RoleCaseworker, What: "member.profile"}) {
		t.Errorf("NewAccess = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		id                  uuid.UUID
		role, what, subject string
		want                error
	}{
		{uuid.Nil, RoleCaseworker, "member.profile", "", ErrAccessInvalid},
		{staffID, RoleCaseworker, "", "", ErrAccessInvalid},
		{staffID, RoleCaseworker, "Member Profile", "", ErrAccessInvalid},
		{staffID, RoleCaseworker, strings.Repeat("a", 65), "", ErrAccessInvalid},
		{staffID, "member", "member.profile", "", ErrRoleUnknown},
		{staffID, RoleMedical, "member.profile", "", ErrRoleUnknown}, // an attribute, not a role one acts in
	} {
		if _, err := NewAccess(tc.id, tc.role, tc.what, tc.subject); !errors.Is(err, tc.want) {
			t.Errorf("NewAccess(%v, %q, %q, %q) = %v, want %v", tc.id, tc.role, tc.what, tc.subject, err, tc.want)
		}
	}
}

// The subject of an opening (which request) is optional, bounded and made of reference characters only: the member
// reads it.
func TestNewAccessSubject(t *testing.T) {
	for _, subject := range []string{"MSA-2026-7KQ2-M9XD-3F0A", "a", "ref_1.2-x", strings.Repeat("A", MaxAccessSubjectLength)} {
		got, err := NewAccess(staffID, RoleAuditor, ViewCaseFile, subject)
		if err != nil || got != (MemberDataOpened{StaffID: staffID, Role: RoleAuditor, What: ViewCaseFile, Subject: subject}) {
			t.Errorf("NewAccess(subject %q) = %+v, %v", subject, got, err)
		}
	}
	for _, subject := range []string{
		strings.Repeat("A", MaxAccessSubjectLength+1),
		"MSA 2026", " MSA-2026-7KQ2-M9XD-3F0A", "MSA-2026\n", "<b>MSA</b>", "MSA-2026-é", "MSA/2026", "a\x00b",
	} {
		if _, err := NewAccess(staffID, RoleCaseworker, ViewCaseFile, subject); !errors.Is(err, ErrAccessInvalid) {
			t.Errorf("NewAccess(subject %q) = %v, want %v", subject, err, ErrAccessInvalid)
		}
	}
}

func TestClaimLogin(t *testing.T) {
	events, err := ClaimLogin(nil, staffID)
	if err != nil || !reflect.DeepEqual(events, []any{LoginClaimed{StaffID: staffID}}) {
		t.Fatalf("ClaimLogin on an empty stream = %v, %v", events, err)
	}
	history := []event.Envelope{{Event: LoginClaimed{StaffID: staffID}}}
	if _, err := ClaimLogin(history, uuid.New()); !errors.Is(err, ErrLoginTaken) || failure.KindOf(err) != failure.Conflict {
		t.Errorf("ClaimLogin on a claimed stream: %v", err)
	}
	if id, ok := ClaimedBy(history); !ok || id != staffID {
		t.Errorf("ClaimedBy = %v, %v", id, ok)
	}
	if _, ok := ClaimedBy(nil); ok {
		t.Error("ClaimedBy on an empty stream")
	}
}

func TestEveryErrorHasACodeAndAMessage(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Errors() {
		if seen[e.Code] {
			t.Errorf("duplicate code %s", e.Code)
		}
		seen[e.Code] = true
		if m, _ := messages.FR(e.Code); e.Code == "" || m == "" || e.Kind == failure.Internal {
			t.Errorf("%+v", e)
		}
	}
	for _, code := range []string{"staff.login_taken", "auth.invalid_credentials"} {
		if m, _ := messages.FR(code); m == "" || !seen[code] {
			t.Errorf("missing message for %s", code)
		}
	}
}

func TestDefinitionsBuildARegistry(t *testing.T) {
	r, err := event.NewRegistry(Definitions())
	if err != nil {
		t.Fatal(err)
	}
	name, _, data, err := r.Encode(Locked{Until: now, Reason: LockReasonFailures})
	if err != nil || name != TypeLocked {
		t.Fatalf("Encode: %s, %v", name, err)
	}
	back, err := r.Decode(name, 1, data)
	if err != nil || !reflect.DeepEqual(back, Locked{Until: now, Reason: LockReasonFailures}) {
		t.Errorf("Decode = %#v, %v", back, err)
	}
}
