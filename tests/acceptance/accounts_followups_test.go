package acceptance

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The follow-ups of the members-and-staff capability: a second factor reset by an administrator, the member's log of
// who opened their file, and the last administrator who cannot step down.

const staffPassword = "un mot de passe de guichet tres long"

// staffAccount creates a staff account with the operator command and returns its id and TOTP secret.
func (e *memberEnv) staffAccount(t *testing.T, login, name, role string) (id, secret string) {
	t.Helper()
	out := e.admin(t, []byte(staffPassword+"\n"), "admin", "create-staff", "--login", login, "--name", name, "--role", role)
	s := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(out)
	i := regexp.MustCompile(`staff id: +(\S+)`).FindStringSubmatch(out)
	if s == nil || i == nil {
		t.Fatalf("create-staff output:\n%s", out)
	}
	return i[1], s[1]
}

// staffLogin logs in with the current code of secret and returns the answer (201 or the refusal).
func (e *memberEnv) staffLogin(t *testing.T, login, secret string) response {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return e.call(t, "POST", "/v1/staff/sessions", "", map[string]string{"login": login, "password": staffPassword, "totp": code})
}

// TestAdminResetsACaseworkersTOTP: a caseworker loses their phone; an administrator resets the second factor over
// HTTP (the caseworker's session ends at once, the old secret is refused, the new one enrols at the next login); an
// operator does the same with `dossier admin reset-totp`.
func TestAdminResetsACaseworkersTOTP(t *testing.T) {
	e := startMemberEnv(t)
	_, adminSecret := e.staffAccount(t, "a.admin", "Alice Admin", "admin")
	adminToken := e.must(t, 201, e.staffLogin(t, "a.admin", adminSecret), "admin login").str("token")
	cwID, oldSecret := e.staffAccount(t, "c.dupont", "Claire Dupont", "caseworker")
	cwToken := e.must(t, 201, e.staffLogin(t, "c.dupont", oldSecret), "caseworker login").str("token")
	e.must(t, 200, e.call(t, "GET", "/v1/session", cwToken, nil), "caseworker session")

	// A caseworker cannot reset anyone's second factor.
	if r := e.call(t, "POST", "/v1/staff/accounts/"+cwID+"/totp-reset", cwToken, nil); r.status != 403 || r.str("code") != "staff.role_forbidden" {
		t.Fatalf("caseworker resets: %d %s", r.status, r.raw)
	}
	reset := e.must(t, 200, e.call(t, "POST", "/v1/staff/accounts/"+cwID+"/totp-reset", adminToken, nil), "reset")
	newSecret := reset.str("totp_secret")
	if newSecret == "" || newSecret == oldSecret || reset.str("login") != "c.dupont" || reset.header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(reset.str("totp_url"), newSecret) || reset.str("message") == "" {
		t.Fatalf("reset answer: %v %s", reset.header, reset.raw)
	}
	// The caseworker's session ended at once; the old secret no longer logs in; the new one does (first enrolment).
	if r := e.call(t, "GET", "/v1/session", cwToken, nil); r.status != 401 {
		t.Fatalf("caseworker session after the reset: %d %s", r.status, r.raw)
	}
	if r := e.staffLogin(t, "c.dupont", oldSecret); r.status != 401 || r.str("code") != "auth.invalid_credentials" {
		t.Fatalf("login with the old secret: %d %s", r.status, r.raw)
	}
	cwToken = e.must(t, 201, e.staffLogin(t, "c.dupont", newSecret), "login with the new secret").str("token")
	e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q=martin", cwToken, nil), "caseworker works again")
	// The administrator's own session is untouched.
	e.must(t, 200, e.call(t, "GET", "/v1/session", adminToken, nil), "admin session")

	// The reset is recorded on the caseworker's stream with the administrator as actor.
	var resetEvent bool
	for _, ev := range e.readStream(t, "staff-"+cwID) {
		if ev.EventType == "StaffTOTPReset" && strings.Contains(string(ev.UserMetadata), `"role":"admin"`) {
			resetEvent = true
		}
	}
	if !resetEvent {
		t.Fatal("no StaffTOTPReset with the administrator as actor")
	}

	// The operator command, while the server runs: the same, printed once.
	out := e.admin(t, nil, "admin", "reset-totp", "--login", "c.dupont")
	m := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(out)
	if m == nil || m[1] == newSecret || strings.Contains(out, staffPassword) {
		t.Fatalf("reset-totp output:\n%s", out)
	}
	if r := e.call(t, "GET", "/v1/session", cwToken, nil); r.status != 401 {
		t.Fatalf("caseworker session after the operator's reset: %d %s", r.status, r.raw)
	}
	e.must(t, 201, e.staffLogin(t, "c.dupont", m[1]), "login with the operator's secret")
	// No secret in the server's logs.
	for _, secret := range []string{oldSecret, newSecret, m[1], staffPassword} {
		if strings.Contains(e.srv.logs.String(), secret) {
			t.Errorf("a secret in the server's log")
		}
	}
}

// TestMemberSeesWhoOpenedTheirFile: a caseworker opens Alice's account; Alice's log says when, in which role and for
// what, never who; Bob's log is empty; staff cannot read the members' logs through this route.
func TestMemberSeesWhoOpenedTheirFile(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	if r := e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's empty log"); string(r.raw) != "{\"accesses\":[],\"next\":null}\n" {
		t.Fatalf("log before any opening: %s", r.raw)
	}

	cwID, secret := e.staffAccount(t, "c.dupont", "Claire Dupont", "caseworker")
	login := e.must(t, 201, e.staffLogin(t, "c.dupont", secret), "caseworker login")
	cw := login.str("token")
	before := time.Now().Add(-time.Second)
	e.must(t, 200, e.call(t, "GET", "/v1/staff/members/"+aliceID, cw, nil, "X-Dossier-Min-Position", login.header.Get("X-Dossier-Position")), "open alice")

	var log response
	deadline := time.Now().Add(15 * time.Second)
	for {
		log = e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's log")
		if list, _ := log.body["accesses"].([]any); len(list) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the opening never reached alice's log: %s", log.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	entry := log.body["accesses"].([]any)[0].(map[string]any)
	openedAt, err := time.Parse(time.RFC3339Nano, entry["opened_at"].(string))
	if err != nil || openedAt.Before(before) || openedAt.After(time.Now().Add(time.Second)) || entry["role"] != "caseworker" ||
		entry["purpose"] != "member.account" || entry["role_label"] == "" || entry["purpose_label"] == "" || entry["subject"] != nil {
		t.Fatalf("alice's log: %s", log.raw)
	}
	for _, who := range []string{cwID, "Claire", "Dupont", "c.dupont"} {
		if strings.Contains(string(log.raw), who) {
			t.Errorf("alice's log names the staff member (%s): %s", who, log.raw)
		}
	}
	if r := e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", bob, nil), "bob's log"); string(r.raw) != "{\"accesses\":[],\"next\":null}\n" {
		t.Errorf("bob's log holds alice's opening: %s", r.raw)
	}
	if r := e.call(t, "GET", "/v1/me/accesses", cw, nil); r.status != 403 || r.str("code") != "session.member_required" {
		t.Errorf("a caseworker on the member's log: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/me/accesses?limit=500", alice, nil); r.status != 422 || r.str("code") != "memberaccesses.invalid_page" || r.str("message") == "" {
		t.Errorf("a page too large: %d %s", r.status, r.raw)
	}
}

// TestLastAdminCannotDemoteThemselves: the only administrator's step-down is refused; with a second one it passes
// once; two administrators demoting each other at the same moment leave one.
func TestLastAdminCannotDemoteThemselves(t *testing.T) {
	e := startMemberEnv(t)
	aID, aSecret := e.staffAccount(t, "a.admin", "Alice Admin", "admin")
	a := e.must(t, 201, e.staffLogin(t, "a.admin", aSecret), "a login").str("token")
	roles := func(token string) []string {
		var out []string
		for _, r := range e.must(t, 200, e.call(t, "GET", "/v1/session", token, nil), "session").body["roles"].([]any) {
			out = append(out, r.(string))
		}
		return out
	}

	r := e.call(t, "PUT", "/v1/staff/accounts/"+aID+"/roles", a, map[string]any{"roles": []string{"caseworker"}})
	if r.status != 422 || r.str("code") != "staff.last_admin" || !strings.Contains(r.str("message"), "administrateur") ||
		r.header.Get("X-Dossier-Position") != "" {
		t.Fatalf("the last admin steps down: %d %s", r.status, r.raw)
	}
	if got := roles(a); !slices.Contains(got, "admin") {
		t.Fatalf("roles after the refusal: %v", got)
	}

	bID, bSecret := e.staffAccount(t, "b.admin", "Bruno Admin", "admin")
	b := e.must(t, 201, e.staffLogin(t, "b.admin", bSecret), "b login").str("token")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+aID+"/roles", a, map[string]any{"roles": []string{"caseworker"}}), "a steps down")
	if r := e.call(t, "PUT", "/v1/staff/accounts/"+bID+"/roles", a, map[string]any{"roles": []string{"caseworker"}}); r.status != 403 {
		t.Fatalf("a former admin on an admin route: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "PUT", "/v1/staff/accounts/"+bID+"/roles", b, map[string]any{"roles": []string{"supervisor"}}); r.status != 422 || r.str("code") != "staff.last_admin" {
		t.Fatalf("the new last admin steps down: %d %s", r.status, r.raw)
	}

	// Two administrators demote each other at once: one answer is 200, the other 422, and one of them remains.
	cID, cSecret := e.staffAccount(t, "c.admin", "Chloé Admin", "admin")
	c := e.must(t, 201, e.staffLogin(t, "c.admin", cSecret), "c login").str("token")
	// b is the only other administrator: b promotes nobody, c and b race.
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i, call := range []struct{ token, target string }{{b, cID}, {c, bID}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.call(t, "PUT", "/v1/staff/accounts/"+call.target+"/roles", call.token, map[string]any{"roles": []string{"caseworker"}}).status
		}()
	}
	wg.Wait()
	slices.Sort(statuses)
	// The loser may also be refused at the door (403) when the winner's change landed before its request began.
	if statuses[0] != 200 || (statuses[1] != 422 && statuses[1] != 403) {
		t.Fatalf("concurrent demotions answered %v", statuses)
	}
	admins := 0
	for _, tok := range []string{b, c} {
		if slices.Contains(roles(tok), "admin") {
			admins++
		}
	}
	if admins != 1 {
		t.Fatalf("%d administrators left of the two", admins)
	}
}

// TestStaffLoginOfALockedAccountAnswersLikeAWrongPassword (issue 11): a locked staff account answers exactly as an
// unknown login (401 auth.invalid_credentials, no Retry-After), attempt after attempt, even with the right password
// and code; staff have no email address, so the lock is in the account's events only.
func TestStaffLoginOfALockedAccountAnswersLikeAWrongPassword(t *testing.T) {
	e := startMemberEnv(t)
	_, secret := e.staffAccount(t, "c.verrou", "Claire Verrou", "caseworker")
	attempt := func(login, password string, code ...string) response {
		t.Helper()
		for range 20 {
			c := "000000"
			if len(code) > 0 {
				c = code[0]
			}
			r := e.call(t, "POST", "/v1/staff/sessions", "", map[string]string{"login": login, "password": password, "totp": c})
			if r.status != http.StatusTooManyRequests {
				return r
			}
			time.Sleep(3 * time.Second)
		}
		t.Fatal("staff login throttled for a minute")
		return response{}
	}
	for i := 1; i <= 7; i++ { // the fifth locks
		locked := attempt("c.verrou", "pas le bon mot de passe du tout")
		unknown := attempt("personne.inconnue", "pas le bon mot de passe du tout")
		sameAnswer(t, fmt.Sprintf("attempt %d", i), locked, unknown)
		if locked.status != 401 || locked.str("code") != "auth.invalid_credentials" || locked.header.Get("Retry-After") != "" {
			t.Fatalf("attempt %d: %d %s Retry-After %q", i, locked.status, locked.raw, locked.header.Get("Retry-After"))
		}
	}
	code, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	right := attempt("c.verrou", staffPassword, code)
	if right.status != 401 || right.str("code") != "auth.invalid_credentials" || right.header.Get("Retry-After") != "" {
		t.Fatalf("right password and code during the lock: %d %s", right.status, right.raw)
	}
}
