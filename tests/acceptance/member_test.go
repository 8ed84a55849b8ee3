package acceptance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/tests/testbin"
)

// Synthetic insured people. A NIR's key is 97 − (the 13-character body mod 97), with 2A/2B read as 19/18 (INSEE;
// the public example 2 55 08 14 168 025 has key 38); the keys below were computed independently of the code.
const (
	aliceNIR, aliceKey = "1850375115042", "16" // male, March 1985
	bobNIR, bobKey     = "2921119004017", "59" // female, Nov 1992 (Corrèze twin of the Ajaccio example)
	unknownNIR         = "1880999350045"       // valid, key 24, not in the reference
	unknownKey         = "24"
)

const insuredCSV = "nir;nom;prénom;date_naissance\n" +
	aliceNIR + aliceKey + ";Martin;Alice;1985-03-12\n" +
	bobNIR + bobKey + ";Le Gall;Bob;1992-11-03\n"

// memberEnv is a running server with an SMTP server that receives its mails.
type memberEnv struct {
	srv  *server
	smtp *smtptest.Server
	// adminEnv is what operator commands need beside the server's working directory to share its stores: the
	// read-model database (which holds the personal-data keys) when it is not the embedded default.
	adminEnv []string
}

func startMemberEnv(t *testing.T, extraArgs ...string) *memberEnv {
	t.Helper()
	smtp, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	s := startServe(t, append([]string{"--smtp-url", fmt.Sprintf("smtp://%s?tls=none", smtp.Addr()),
		"--mail-from", "Mon espace privé <ne-pas-repondre@msa.test>"}, extraArgs...)...)
	s.waitReady(t)
	env := &memberEnv{srv: s, smtp: smtp}
	for i, a := range extraArgs {
		if a == "--postgres-url" && i+1 < len(extraArgs) {
			env.adminEnv = append(env.adminEnv, "DOSSIER_POSTGRES_URL="+extraArgs[i+1])
		}
	}
	// The import runs while the server runs: the operator command reaches the server's node.
	csv := filepath.Join(s.cmd.Dir, "assures.csv")
	if err := os.WriteFile(csv, []byte(insuredCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	env.admin(t, nil, "admin", "import-insured", csv)
	return env
}

// admin runs an operator command in the server's working directory.
func (e *memberEnv) admin(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(testbin.Dossier(t), args...)
	cmd.Dir = e.srv.cmd.Dir
	cmd.Env = append(os.Environ(), e.adminEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dossier %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// call sends a JSON request with an optional bearer token and extra headers.
func (e *memberEnv) call(t *testing.T, method, path, token string, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *memberEnv) must(t *testing.T, want int, r response, what string) response {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.raw)
	}
	return r
}

var codeLine = regexp.MustCompile(`(?m)^\s+(\d{8})\s*$`)

// codeFor waits for the n-th mail carrying a code to addr and returns the code (security notices, which carry
// none, do not count).
func (e *memberEnv) codeFor(t *testing.T, addr string, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := e.smtp.WaitMatch(ctx, n, func(m smtptest.Message) bool {
		return smtptest.To(addr)(m) && codeLine.MatchString(m.Text)
	})
	if err != nil {
		t.Fatalf("waiting for mail %d to %s: %v", n, addr, err)
	}
	m := codeLine.FindStringSubmatch(msgs[n-1].Text)
	if m == nil {
		t.Fatalf("no code in the mail to %s:\n%s", addr, msgs[n-1].Text)
	}
	return m[1]
}

func registration(nirBody, key, last, first, birth, email string) map[string]any {
	return map[string]any{"nir": nirBody, "key": key, "last_name": last, "first_name": first, "birth_date": birth,
		"email": email, "mobile_phone": "06 12 34 56 78", "terms_accepted": true}
}

const (
	alicePassword = "la mer est calme ce matin"
	aliceNewPass  = "un nouveau chemin de halage"
	aliceReset    = "trois canards sur la Vilaine"
)

// TestMemberJourney is the seed's story over HTTP with a real SMTP exchange: register, read the code from the
// mail, activate, log in, check the session, change the email (confirmed by a code), change the password (the
// other session dies), forget the password.
func TestMemberJourney(t *testing.T) {
	e := startMemberEnv(t)

	reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(aliceNIR, aliceKey, "MARTIN", "alice", "1985-03-12", "alice@example.test")), "register")
	regID := reg.str("registration_id")
	code := e.codeFor(t, "alice@example.test", 1)
	act := e.must(t, 201, e.call(t, "POST", "/v1/registrations/"+regID+"/activation", "", map[string]string{"code": code, "password": alicePassword}), "activate")
	memberID := act.str("member_id")

	login := e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}), "login")
	token := login.str("token")
	if c := login.header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "Secure") || !strings.Contains(c, "SameSite=Strict") {
		t.Fatalf("session cookie %q lacks HttpOnly, Secure or SameSite", c)
	}
	sess := e.must(t, 200, e.call(t, "GET", "/v1/session", token, nil), "session")
	if sess.str("member_id") != memberID || sess.str("kind") != "member" || sess.str("expires_at") == "" {
		t.Fatalf("session: %s", sess.raw)
	}
	me := e.must(t, 200, e.call(t, "GET", "/v1/me", token, nil, "X-Dossier-Min-Position", login.header.Get("X-Dossier-Position")), "me")
	if me.str("email") != "alice@example.test" || me.str("last_name") != "MARTIN" || me.str("mobile_phone") != "+33612345678" {
		t.Fatalf("account: %s", me.raw)
	}

	// Address, from a date.
	addr := e.must(t, 200, e.call(t, "PUT", "/v1/me/address", token, map[string]string{"line1": "3 rue des Lilas",
		"postal_code": "35000", "city": "Rennes", "effective_from": time.Now().Format("2006-01-02")}), "address")
	me = e.must(t, 200, e.call(t, "GET", "/v1/me?min_position="+addr.header.Get("X-Dossier-Position"), token, nil), "me after address")
	if a, _ := me.body["address"].(map[string]any); a == nil || a["city"] != "Rennes" {
		t.Fatalf("address not in the account: %s", me.raw)
	}

	// Email change, confirmed by a code sent to the new address.
	e.must(t, 202, e.call(t, "PUT", "/v1/me/email", token, map[string]string{"email": "alice.martin@example.test"}), "email change")
	emailCode := e.codeFor(t, "alice.martin@example.test", 1)
	conf := e.must(t, 200, e.call(t, "POST", "/v1/me/email/confirmation", token, map[string]string{"code": emailCode}), "confirm email")
	me = e.must(t, 200, e.call(t, "GET", "/v1/me", token, nil, "X-Dossier-Min-Position", conf.header.Get("X-Dossier-Position")), "me after email")
	if me.str("email") != "alice.martin@example.test" {
		t.Fatalf("email not changed: %s", me.raw)
	}

	// A second session, then a password change from the first: the second dies.
	other := e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}), "second login").str("token")
	e.must(t, 200, e.call(t, "PUT", "/v1/me/password", token, map[string]string{"current_password": alicePassword, "new_password": aliceNewPass}), "change password")
	e.must(t, 401, e.call(t, "GET", "/v1/me", other, nil), "old session after password change")
	e.must(t, 200, e.call(t, "GET", "/v1/session", token, nil), "current session after password change")
	e.must(t, 401, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}), "old password")

	// Logout ends the session.
	e.must(t, 200, e.call(t, "DELETE", "/v1/session", token, nil), "logout")
	e.must(t, 401, e.call(t, "GET", "/v1/session", token, nil), "session after logout")

	// Forgotten password: the code goes to the account's (new) email.
	reset := e.must(t, 202, e.call(t, "POST", "/v1/password-resets", "", map[string]string{"nir": aliceNIR, "email": "alice.martin@example.test"}), "reset")
	resetCode := e.codeFor(t, "alice.martin@example.test", 2)
	e.must(t, 200, e.call(t, "POST", "/v1/password-resets/"+reset.str("reset_id")+"/completion", "", map[string]string{"code": resetCode, "password": aliceReset}), "complete reset")
	e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": aliceReset}), "login with the reset password")

	// Operators see appends by category, never a member's id or data.
	_, metrics := e.srv.get(t, "/metrics")
	for _, want := range []string{`dossier_eventstore_appends_total{category="member",result="ok"}`, `dossier_eventstore_appended_events_total{category="registration"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(metrics), memberID) || strings.Contains(string(metrics), aliceNIR) || strings.Contains(string(metrics), "example.test") {
		t.Error("/metrics holds a member id or personal data")
	}
	// Nor do the logs (at info level): no NIR, email, name, code, password or token.
	logs := e.srv.logs.String()
	if !strings.Contains(logs, "http request") {
		t.Fatalf("the server logged no requests at info level:\n%s", logs)
	}
	for _, secret := range []string{aliceNIR, "example.test", "MARTIN", code, emailCode, resetCode, alicePassword, aliceNewPass, aliceReset, token} {
		if strings.Contains(logs, secret) {
			t.Errorf("the server log holds personal data or a secret (%d characters)", len(secret))
		}
	}
}

// TestRegistrationGivesNothingAway: an unknown NIR, an already registered one and a new one get the same answer.
func TestRegistrationGivesNothingAway(t *testing.T) {
	e := startMemberEnv(t)
	known := e.call(t, "POST", "/v1/registrations", "", registration(bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test"))
	unknown := e.call(t, "POST", "/v1/registrations", "", registration(unknownNIR, unknownKey, "Inconnu", "Jean", "1988-09-01", "jean@example.test"))
	for _, r := range []response{known, unknown} {
		if r.status != 202 || r.str("registration_id") == "" || r.str("message") != known.str("message") {
			t.Fatalf("answers differ: %d %s / %d %s", known.status, known.raw, unknown.status, unknown.raw)
		}
	}
	e.codeFor(t, "bob@example.test", 1)
	time.Sleep(500 * time.Millisecond)
	for _, m := range e.smtp.Messages() {
		if smtptest.To("jean@example.test")(m) {
			t.Fatal("a code was mailed for a NIR the fund does not cover")
		}
	}
	// Invalid input: a stable code, a French message, the field, nothing written.
	bad := e.call(t, "POST", "/v1/registrations", "", registration(aliceNIR, "17", "Martin", "Alice", "1985-03-12", "alice@example.test"))
	if bad.status != 422 || bad.str("code") != "nir.invalid_key" || bad.str("message") == "" || bad.str("field") == "" {
		t.Fatalf("wrong key: %d %s", bad.status, bad.raw)
	}
	if r := e.call(t, "POST", "/v1/registrations", "", "not an object"); r.status != 400 || r.str("code") != "request.malformed_json" {
		t.Fatalf("malformed body: %d %s", r.status, r.raw)
	}
}

// TestFiveWrongCodesLockTheRegistration.
func TestFiveWrongCodesLockTheRegistration(t *testing.T) {
	e := startMemberEnv(t)
	reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")), "register")
	good := e.codeFor(t, "bob@example.test", 1)
	wrong := "00000000"
	if wrong == good {
		wrong = "11111111"
	}
	path := "/v1/registrations/" + reg.str("registration_id") + "/activation"
	for i := 1; i <= 5; i++ {
		r := e.call(t, "POST", path, "", map[string]string{"code": wrong, "password": alicePassword})
		if r.status != 422 {
			t.Fatalf("wrong code %d: %d %s", i, r.status, r.raw)
		}
	}
	r := e.call(t, "POST", path, "", map[string]string{"code": good, "password": alicePassword})
	if r.status == 201 || r.str("code") != "registration.locked" {
		t.Fatalf("right code after five wrong ones: %d %s", r.status, r.raw)
	}
}

// TestAccessIsCheckedAgainstTheCaller: members only ever reach their own data, staff routes refuse members, a
// caseworker cannot call an admin route, and a staff opening of a member's data is recorded.
func TestAccessIsCheckedAgainstTheCaller(t *testing.T) {
	e := startMemberEnv(t)
	tokens := map[string]string{}
	ids := map[string]string{}
	for _, p := range []struct{ name, nir, key, last, first, birth string }{
		{"alice", aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12"},
		{"bob", bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03"},
	} {
		email := p.name + "@example.test"
		reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(p.nir, p.key, p.last, p.first, p.birth, email)), "register "+p.name)
		code := e.codeFor(t, email, 1)
		ids[p.name] = e.must(t, 201, e.call(t, "POST", "/v1/registrations/"+reg.str("registration_id")+"/activation", "",
			map[string]string{"code": code, "password": alicePassword}), "activate "+p.name).str("member_id")
		tokens[p.name] = e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": p.nir, "password": alicePassword}), "login "+p.name).str("token")
	}
	me := e.must(t, 200, e.call(t, "GET", "/v1/me", tokens["bob"], nil), "bob's account")
	if me.str("member_id") != ids["bob"] || strings.Contains(string(me.raw), ids["alice"]) {
		t.Fatalf("bob's /v1/me: %s", me.raw)
	}
	// Members are refused on staff routes, whatever member id they name.
	for _, path := range []string{"/v1/staff/members/" + ids["alice"], "/v1/staff/members?q=Martin"} {
		if r := e.call(t, "GET", path, tokens["bob"], nil); r.status != 403 || r.str("code") != "session.staff_required" {
			t.Fatalf("member on %s: %d %s", path, r.status, r.raw)
		}
	}
	if r := e.call(t, "GET", "/v1/me", "", nil); r.status != 401 {
		t.Fatalf("anonymous /v1/me: %d", r.status)
	}

	// A caseworker, created by the operator command while the server runs, logs in with password + TOTP.
	out := e.admin(t, []byte("un mot de passe d'agent tres long\n"), "admin", "create-staff", "--login", "c.dupont", "--name", "Claire Dupont", "--role", "caseworker")
	secret := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(out)
	staffID := regexp.MustCompile(`staff id: +(\S+)`).FindStringSubmatch(out)
	if secret == nil || staffID == nil {
		t.Fatalf("create-staff output:\n%s", out)
	}
	otpCode, err := totp.GenerateCodeCustom(secret[1], time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	wrongOTP := "000000"
	if otpCode == wrongOTP {
		wrongOTP = "111111"
	}
	if r := e.call(t, "POST", "/v1/staff/sessions", "", map[string]string{"login": "c.dupont", "password": "un mot de passe d'agent tres long", "totp": wrongOTP}); r.status != 401 {
		t.Fatalf("wrong TOTP: %d %s", r.status, r.raw)
	}
	staffLogin := e.must(t, 201, e.call(t, "POST", "/v1/staff/sessions", "", map[string]string{"login": "c.dupont", "password": "un mot de passe d'agent tres long", "totp": otpCode}), "staff login")
	staffToken := staffLogin.str("token")
	search := e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q=martin", staffToken, nil, "X-Dossier-Min-Position", staffLogin.header.Get("X-Dossier-Position")), "directory search")
	if !strings.Contains(string(search.raw), ids["alice"]) || strings.Contains(string(search.raw), ids["bob"]) {
		t.Fatalf("search for martin: %s", search.raw)
	}
	byNIR := e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q="+bobNIR, staffToken, nil), "search by NIR")
	if !strings.Contains(string(byNIR.raw), ids["bob"]) {
		t.Fatalf("search by NIR: %s", byNIR.raw)
	}
	opened := e.must(t, 200, e.call(t, "GET", "/v1/staff/members/"+ids["alice"], staffToken, nil), "open a member")
	if opened.str("member_id") != ids["alice"] {
		t.Fatalf("opened member: %s", opened.raw)
	}
	// The opening is recorded in Alice's access log, naming the caseworker: read it from the server's node.
	access := e.readStream(t, "memberaccess-"+ids["alice"])
	if len(access) != 1 || access[0].EventType != "MemberDataOpenedByStaff" || !strings.Contains(string(access[0].Data), staffID[1]) {
		t.Fatalf("access log of the opened member: %+v", access)
	}
	if bobs := e.readStream(t, "memberaccess-"+ids["bob"]); len(bobs) != 0 {
		t.Fatalf("bob was not opened, yet his access log has %d events", len(bobs))
	}
	// A caseworker cannot call an admin route; a member token is refused there too.
	if r := e.call(t, "PUT", "/v1/staff/accounts/"+staffID[1]+"/roles", staffToken, map[string]any{"roles": []string{"admin"}}); r.status != 403 || r.str("code") != "staff.role_forbidden" {
		t.Fatalf("caseworker on an admin route: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "PUT", "/v1/staff/accounts/"+staffID[1]+"/roles", tokens["alice"], map[string]any{"roles": []string{"admin"}}); r.status != 403 {
		t.Fatalf("member on an admin route: %d %s", r.status, r.raw)
	}
}

// nodeClient connects the official client to the server's embedded node (its address is in var/events/node.addr);
// the caller closes it.
func (e *memberEnv) nodeClient(t *testing.T) *esdb.Client {
	t.Helper()
	addr, err := os.ReadFile(filepath.Join(e.srv.cmd.Dir, "var", "events", "node.addr"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := esdb.ParseConnectionString("esdb://" + strings.TrimSpace(string(addr)) + "?tls=false")
	if err != nil {
		t.Fatal(err)
	}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// readStream reads a stream from the server's embedded node (nodeClient); a stream that does not exist reads as
// empty.
func (e *memberEnv) readStream(t *testing.T, stream string) []*esdb.RecordedEvent {
	t.Helper()
	client := e.nodeClient(t)
	defer client.Close()
	rs, err := client.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		var esErr *esdb.Error
		if errors.As(err, &esErr) && esErr.Code() == esdb.ErrorCodeResourceNotFound {
			return nil
		}
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		out = append(out, ev.Event)
	}
}

// TestLoginIsThrottled: a burst of logins from one address ends in 429 with Retry-After.
func TestLoginIsThrottled(t *testing.T) {
	e := startMemberEnv(t)
	for i := 0; i < 40; i++ {
		r := e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": unknownNIR, "password": "pas le bon mot de passe"})
		if r.status == 429 {
			if r.str("code") != "request.too_many" || r.header.Get("Retry-After") == "" {
				t.Fatalf("throttled answer: %s %v", r.raw, r.header)
			}
			return
		}
		if r.status != 401 {
			t.Fatalf("login %d: %d %s", i, r.status, r.raw)
		}
	}
	t.Fatal("40 logins in a row from one address were never throttled")
}

// loginAnswer tries a login, waiting out the per-client throttle (429) so that only the login's own answer counts.
func (e *memberEnv) loginAnswer(t *testing.T, nirBody, password string) response {
	t.Helper()
	for range 20 {
		r := e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": nirBody, "password": password})
		if r.status != http.StatusTooManyRequests {
			return r
		}
		time.Sleep(3 * time.Second)
	}
	t.Fatal("login throttled for a minute")
	return response{}
}

// sameAnswer fails unless a and b have the same status, body and headers (but the date and the request id).
func sameAnswer(t *testing.T, what string, a, b response) {
	t.Helper()
	if a.status != b.status || !bytes.Equal(a.raw, b.raw) {
		t.Fatalf("%s: %d %s, unknown NIR %d %s", what, a.status, a.raw, b.status, b.raw)
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		return h
	}
	if ha, hb := strip(a.header), strip(b.header); fmt.Sprint(ha) != fmt.Sprint(hb) {
		t.Fatalf("%s: headers %v, unknown NIR %v", what, ha, hb)
	}
}

// TestLoginOfALockedAccountAnswersLikeAnUnknownNIR (issue 11, item 1): whoever tries NIRs cannot tell a locked
// account from a NIR without one, attempt after attempt, even with the right password; the owner is told by mail,
// once, with the end of the lock and what to do.
func TestLoginOfALockedAccountAnswersLikeAnUnknownNIR(t *testing.T) {
	e := startMemberEnv(t)
	e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	for i := 1; i <= 7; i++ {
		locked := e.loginAnswer(t, aliceNIR, "pas le bon mot de passe du tout")
		unknown := e.loginAnswer(t, unknownNIR, "pas le bon mot de passe du tout")
		sameAnswer(t, fmt.Sprintf("attempt %d", i), locked, unknown)
		if locked.status != 401 || locked.str("code") != "auth.invalid_credentials" || locked.header.Get("Retry-After") != "" {
			t.Fatalf("attempt %d: %d %s Retry-After %q", i, locked.status, locked.raw, locked.header.Get("Retry-After"))
		}
	}
	// The right password during the lock: the same answer still.
	sameAnswer(t, "right password during the lock", e.loginAnswer(t, aliceNIR, alicePassword),
		e.loginAnswer(t, unknownNIR, alicePassword))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	isNotice := func(m smtptest.Message) bool {
		return smtptest.To("alice@example.test")(m) && strings.Contains(m.Subject, "suspendue")
	}
	msgs, err := e.smtp.WaitMatch(ctx, 1, isNotice)
	if err != nil {
		t.Fatalf("no lock notice to the owner: %v", err)
	}
	text := msgs[0].Text
	for _, part := range []string{"suspendue jusqu'au", "(heure de Paris)", "« Mot de passe oublié »", "Si ce n'était pas vous"} {
		if !strings.Contains(text, part) {
			t.Errorf("lock notice lacks %q:\n%s", part, text)
		}
	}
	if codeLine.MatchString(text) || strings.Contains(text, aliceNIR) {
		t.Errorf("lock notice holds a code or the NIR:\n%s", text)
	}
	time.Sleep(time.Second)
	if msgs, _ := e.smtp.WaitMatch(ctx, 1, isNotice); len(msgs) != 1 {
		t.Fatalf("%d lock notices, want 1", len(msgs))
	}
}

// TestMemberNotifiedOfEmailAndPasswordChanges (issue 11, item 2): an email change is told to the old address, a
// password change and a reset to the account's address, once each, with no code in them.
func TestMemberNotifiedOfEmailAndPasswordChanges(t *testing.T) {
	e := startMemberEnv(t)
	token := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	e.must(t, 202, e.call(t, "PUT", "/v1/me/email", token, map[string]string{"email": "alice.martin@example.test"}), "email change")
	code := e.codeFor(t, "alice.martin@example.test", 1)
	e.must(t, 200, e.call(t, "POST", "/v1/me/email/confirmation", token, map[string]string{"code": code}), "confirm email")
	e.must(t, 200, e.call(t, "PUT", "/v1/me/password", token, map[string]string{"current_password": alicePassword, "new_password": aliceNewPass}), "change password")
	reset := e.must(t, 202, e.call(t, "POST", "/v1/password-resets", "", map[string]string{"nir": aliceNIR, "email": "alice.martin@example.test"}), "reset")
	resetCode := e.codeFor(t, "alice.martin@example.test", 2)
	e.must(t, 200, e.call(t, "POST", "/v1/password-resets/"+reset.str("reset_id")+"/completion", "", map[string]string{"code": resetCode, "password": aliceReset}), "complete reset")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	notice := func(addr, subject string) func(smtptest.Message) bool {
		return func(m smtptest.Message) bool { return smtptest.To(addr)(m) && m.Subject == subject }
	}
	emailNotice := notice("alice@example.test", "L'adresse email de votre espace privé a été modifiée")
	passwordNotice := notice("alice.martin@example.test", "Le mot de passe de votre espace privé a été modifié")
	old, err := e.smtp.WaitMatch(ctx, 1, emailNotice)
	if err != nil {
		t.Fatalf("no notice to the old address: %v", err)
	}
	if strings.Contains(old[0].Text, "alice.martin") || codeLine.MatchString(old[0].Text) ||
		!strings.Contains(old[0].Text, "Si vous n'êtes pas à l'origine de ce changement") {
		t.Errorf("email change notice:\n%s", old[0].Text)
	}
	pw, err := e.smtp.WaitMatch(ctx, 2, passwordNotice)
	if err != nil {
		t.Fatalf("password notices: %v", err)
	}
	if !strings.Contains(pw[0].Text+pw[1].Text, "modifié depuis votre espace privé") ||
		!strings.Contains(pw[0].Text+pw[1].Text, "réinitialisé") {
		t.Errorf("password notices:\n%s\n---\n%s", pw[0].Text, pw[1].Text)
	}
	time.Sleep(time.Second)
	if n := len(filterMails(e.smtp.Messages(), emailNotice)); n != 1 {
		t.Errorf("%d email change notices, want 1", n)
	}
	if n := len(filterMails(e.smtp.Messages(), passwordNotice)); n != 2 {
		t.Errorf("%d password notices, want 2 (change, reset)", n)
	}
}

func filterMails(msgs []smtptest.Message, keep func(smtptest.Message) bool) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range msgs {
		if keep(m) {
			out = append(out, m)
		}
	}
	return out
}
