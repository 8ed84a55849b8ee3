package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// throttledRoutes are the routes open to anyone that must be throttled, with the throttle each one shares. The
// paths and bodies are refused before any command runs (an id that is not one, a body without a JSON content type):
// what is tested is the throttle in front of the handler, not the handler.
func throttledRoutes(s *Server) []struct {
	name, path string
	throttle   *throttle
} {
	return []struct {
		name, path string
		throttle   *throttle
	}{
		{"registration", "/v1/registrations", s.registrations},
		{"resend of the activation code", "/v1/registrations/not-an-id/code", s.codes},
		{"activation", "/v1/registrations/not-an-id/activation", s.codes},
		{"member login", "/v1/sessions", s.logins},
		{"password reset request", "/v1/password-resets", s.resets},
		{"password reset completion", "/v1/password-resets/not-an-id/completion", s.codes},
		{"staff login", "/v1/staff/sessions", s.logins},
	}
}

// connCounter counts the connections a server accepts and the requests it serves (a source port may be reused by
// a later connection, so connections are counted, not distinct peer addresses).
type connCounter struct {
	mu              sync.Mutex
	conns, requests int
}

func (c *connCounter) state(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		c.mu.Lock()
		c.conns++
		c.mu.Unlock()
	}
}

func (c *connCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// oneConnectionPerRequest is a client that opens a new TCP connection (a new source port) for every request, from
// the loopback address local.
func oneConnectionPerRequest(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}}
}

// post sends an empty-bodied POST (no JSON content type) and returns the status, the Retry-After header and the
// error code of the answer.
func post(t *testing.T, c *http.Client, url string) (status int, retryAfter, code string) {
	t.Helper()
	resp, err := c.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b ErrorBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("answer %d %q is not the error body: %v", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), b.Code
}

// TestEveryOpenEndpointIsThrottledPerAddressRegress: each endpoint open to anyone (registration, codes, logins of
// members and staff, password reset) answers 429 request.too_many with a Retry-After of whole seconds once one
// client's burst is spent, even when every attempt comes on a new TCP connection (a new source port): the throttle
// is keyed on the client's address, not on its address and port. Another address still gets through.
func TestEveryOpenEndpointIsThrottledPerAddressRegress(t *testing.T) {
	for _, rt := range throttledRoutes(newTestServer(t, Deps{})) {
		t.Run(rt.name, func(t *testing.T) {
			s := newTestServer(t, Deps{}) // a fresh server: its throttles are untouched
			var th *throttle
			for _, r := range throttledRoutes(s) {
				if r.path == rt.path {
					th = r.throttle
				}
			}
			peers := &connCounter{}
			srv := httptest.NewUnstartedServer(peers.wrap(s.Handler()))
			srv.Config.ConnState = peers.state
			srv.Start()
			t.Cleanup(srv.Close)
			client := oneConnectionPerRequest("127.0.0.1")

			start := time.Now()
			attempts := 0
			for ; attempts < th.burst; attempts++ {
				status, _, code := post(t, client, srv.URL+rt.path)
				if status == http.StatusTooManyRequests || status >= 500 {
					t.Fatalf("attempt %d of a burst of %d: %d %s", attempts+1, th.burst, status, code)
				}
			}
			// The burst is spent: only the tokens refilled meanwhile (at the per-client rate) get through.
			refilled := func() int { return 1 + int(time.Since(start).Seconds()*float64(th.perClient)) }
			throttled := false
			for ; attempts <= th.burst+refilled() && !throttled; attempts++ {
				status, retryAfter, code := post(t, client, srv.URL+rt.path)
				if status != http.StatusTooManyRequests {
					continue
				}
				throttled = true
				if code != "request.too_many" {
					t.Errorf("throttled answer code %q", code)
				}
				if secs, err := strconv.Atoi(retryAfter); err != nil || secs < 1 {
					t.Errorf("Retry-After %q, want whole seconds ≥ 1", retryAfter)
				}
			}
			if !throttled {
				t.Fatalf("%d attempts from one address, each on a new connection, were never throttled", attempts)
			}
			peers.mu.Lock()
			conns, requests := peers.conns, peers.requests
			peers.mu.Unlock()
			if requests != attempts || conns != attempts {
				t.Fatalf("%d attempts: %d requests on %d connections: the test did not open a connection per attempt", attempts, requests, conns)
			}

			// Another client address has its own budget.
			if status, _, code := post(t, oneConnectionPerRequest("127.0.0.2"), srv.URL+rt.path); status == http.StatusTooManyRequests {
				t.Errorf("another address is throttled too: %d %s", status, code)
			}
		})
	}
}
