package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A member whose login is refused (429) tries loginAttempts times, then gives up: counted, and without a session.
// (The server here is a stand-in that refuses every login, outside the system under test.)
func TestMixLoginGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"code":"auth.throttled"}`))
	}))
	defer srv.Close()
	rec := newRecorder()
	c := newClient(srv.URL, nil, rec, 5*time.Second)
	c.nir = "1840512345678"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	login(ctx, c)
	if got := calls.Load(); got != loginAttempts || c.token != "" || rec.loginsGivenUp != 1 {
		t.Fatalf("%d calls, token %q, %d logins given up; want %d calls, no token, 1", got, c.token, rec.loginsGivenUp, loginAttempts)
	}
	if rec.nUnexp != 0 {
		t.Fatalf("%d unexpected answers: a throttled login is expected", rec.nUnexp)
	}
}
