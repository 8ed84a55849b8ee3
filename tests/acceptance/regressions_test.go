package acceptance

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Tests that guard defaults no other story states (issue 11, "tests that would not notice a regression").

// within reports whether got is between lo and hi, give or take slack.
func within(got, lo, hi time.Time, slack time.Duration) bool {
	return !got.Before(lo.Add(-slack)) && !got.After(hi.Add(slack))
}

// sessionCookie returns the session cookie a login answer sets.
func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if c.Name == "dossier_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", r.header)
	return nil
}

// TestSessionDefaultsRegress: `dossier serve` with no session setting gives the documented policy, for members and
// staff alike: a session ends after 30 minutes without a request (expires_at, in the login answer and in
// GET /v1/session) and 12 hours after login whatever happens (the cookie's expiry).
func TestSessionDefaultsRegress(t *testing.T) {
	e := startMemberEnv(t)
	e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	const idle, absolute, slack = 30 * time.Minute, 12 * time.Hour, 2 * time.Second

	check := func(what string, login func() response) {
		t.Helper()
		before := time.Now()
		r := login()
		after := time.Now()
		expires, err := time.Parse(time.RFC3339Nano, r.str("expires_at"))
		if err != nil || !within(expires, before.Add(idle), after.Add(idle), slack) {
			t.Errorf("%s: expires_at %q (%v), want now + %v (idle) between %v and %v", what, r.str("expires_at"), err,
				idle, before.Add(idle), after.Add(idle))
		}
		// The cookie lives as long as the session can: Expires carries whole seconds.
		if c := sessionCookie(t, r); !within(c.Expires, before.Add(absolute).Truncate(time.Second), after.Add(absolute), slack) {
			t.Errorf("%s: cookie expires %v, want now + %v (absolute) between %v and %v", what, c.Expires, absolute,
				before.Add(absolute), after.Add(absolute))
		}
		before = time.Now()
		s := e.must(t, 200, e.call(t, "GET", "/v1/session", r.str("token"), nil), what+": current session")
		after = time.Now()
		// The last activity is recorded at most once a minute: a read right after login may keep the login's expiry.
		if got, err := time.Parse(time.RFC3339Nano, s.str("expires_at")); err != nil || !within(got, expires, after.Add(idle), slack) ||
			got.After(before.Add(idle).Add(time.Minute)) {
			t.Errorf("%s: GET /v1/session expires_at %q (%v), want about now + %v", what, s.str("expires_at"), err, idle)
		}
	}
	check("member", func() response {
		return e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}), "member login")
	})
	check("staff", func() response {
		_, secret := e.staffAccount(t, "s.girard", "Sophie Girard", "caseworker")
		return e.must(t, 201, e.staffLogin(t, "s.girard", secret), "staff login")
	})
}

// TestThrottledOverNewConnectionsRegress: `dossier serve` throttles the endpoints open to anyone per client address,
// so a client that opens a new TCP connection (a new source port) for every attempt is throttled all the same: a
// burst ends in 429 request.too_many with a Retry-After in whole seconds. Fifteen attempts stay below the overall
// limits (20 or more at once): only the limit of the one client can answer them 429.
func TestThrottledOverNewConnectionsRegress(t *testing.T) {
	e := startMemberEnv(t)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, ep := range []struct {
		name, path string
		body       any
	}{
		{"staff login", "/v1/staff/sessions", map[string]string{"login": "personne", "password": "pas le bon mot de passe", "totp": "123456"}},
		{"member login", "/v1/sessions", map[string]string{"nir": unknownNIR, "password": "pas le bon mot de passe"}},
		{"registration", "/v1/registrations", registration(unknownNIR, unknownKey, "Inconnu", "Jean", "1988-09-01", "jean@example.test")},
		{"activation code resend", "/v1/registrations/" + uuid.NewString() + "/code", nil},
		{"password reset", "/v1/password-resets", map[string]string{"nir": unknownNIR, "email": "jean@example.test"}},
	} {
		throttled := false
		for i := 0; i < 15 && !throttled; i++ {
			raw, _ := json.Marshal(ep.body)
			req, _ := http.NewRequest("POST", e.srv.base+ep.path, bytes.NewReader(raw))
			if ep.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", ep.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusTooManyRequests:
				throttled = true
				var b struct {
					Code string `json:"code"`
				}
				secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if json.Unmarshal(body, &b) != nil || b.Code != "request.too_many" || err != nil || secs < 1 {
					t.Errorf("%s: throttled answer %s, Retry-After %q", ep.name, body, resp.Header.Get("Retry-After"))
				}
			case resp.StatusCode >= 500:
				t.Fatalf("%s: attempt %d: %d %s", ep.name, i+1, resp.StatusCode, body)
			}
		}
		if !throttled {
			t.Errorf("%s: 15 attempts from one address, each on a new connection, were never throttled", ep.name)
		}
	}
}
