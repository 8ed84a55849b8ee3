package httpapi

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSessionDefaultPolicyRegress: with the default policy (sessions.Policy{}, as `dossier serve` builds it) a
// session seen over HTTP ends after 30 minutes without a request and 12 hours after login however active, and
// GET /v1/session tells the portal the idle expiry. The clock is the store's: no test waits for it.
func TestSessionDefaultPolicyRegress(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	if err := sessions.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	store := sessions.New(db, sessions.Policy{}, clock.Now)
	s := newTestServer(t, Deps{Sessions: store})
	if s.deps.SessionAbsolute != 12*time.Hour {
		t.Errorf("the cookie's default lifetime is %v, want 12h", s.deps.SessionAbsolute)
	}
	open := func() (string, time.Time) {
		t.Helper()
		token, digest := credentials.NewToken()
		sess, err := store.Create(context.Background(), digest, uuid.New(), uuid.New(), kindMember)
		if err != nil {
			t.Fatal(err)
		}
		return token, sess.CreatedAt
	}
	// current answers GET /v1/session: the status and the expires_at it gives.
	current := func(token string) (int, time.Time) {
		t.Helper()
		rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(token))
		var b sessionBody
		_ = json.Unmarshal(rec.Body.Bytes(), &b)
		return rec.Code, b.ExpiresAt
	}

	// Idle: 30 minutes after the last request, and not a moment later.
	token, login := open()
	if status, exp := current(token); status != 200 || !exp.Equal(login.Add(30*time.Minute)) {
		t.Fatalf("right after login: %d, expires_at %v, want %v", status, exp, login.Add(30*time.Minute))
	}
	clock.advance(29 * time.Minute)
	if status, exp := current(token); status != 200 || !exp.Equal(clock.Now().Add(30*time.Minute)) {
		t.Fatalf("after 29 idle minutes: %d, expires_at %v, want %v (the request counts as activity)", status, exp,
			clock.Now().Add(30*time.Minute))
	}
	clock.advance(30 * time.Minute)
	if status, _ := current(token); status != 401 {
		t.Fatalf("after 30 idle minutes: %d, want 401", status)
	}

	// Absolute: active every 20 minutes, the session still ends 12 hours after login; the idle expiry never runs
	// past that end.
	token, login = open()
	end := login.Add(12 * time.Hour)
	for clock.Now().Add(20 * time.Minute).Before(end) {
		clock.advance(20 * time.Minute)
		status, exp := current(token)
		want := clock.Now().Add(30 * time.Minute)
		if want.After(end) {
			want = end
		}
		if status != 200 || !exp.Equal(want) {
			t.Fatalf("active session %v after login: %d, expires_at %v, want %v", clock.Now().Sub(login), status, exp, want)
		}
	}
	clock.advance(end.Sub(clock.Now()))
	if status, _ := current(token); status != 401 {
		t.Fatalf("an active session 12 h after login: %d, want 401", status)
	}
}
