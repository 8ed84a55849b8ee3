package sessions

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, db *sqldb.DB) (*Store, *clock) {
	t.Helper()
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	return New(db, Policy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour, TouchEvery: time.Minute}, c.now), c
}

func TestSessionLifecycle(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		member := uuid.New()
		token, digest := credentials.NewToken()
		id := uuid.New()
		if _, err := s.Create(ctx, digest, id, member, "member"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Lookup(ctx, token)
		if err != nil || got.Subject != member || got.ID != id || got.Role != "member" {
			t.Fatalf("lookup = %+v, %v", got, err)
		}
		if want := c.now().Add(30 * time.Minute); !got.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want idle expiry %v", got.ExpiresAt, want)
		}
		// Activity every 20 minutes keeps it alive past the idle period...
		for i := 0; i < 5; i++ {
			c.add(20 * time.Minute)
			if _, err := s.Lookup(ctx, token); err != nil {
				t.Fatalf("active session ended after %d×20 min: %v", i+1, err)
			}
		}
		// ...but 31 idle minutes end it.
		c.add(31 * time.Minute)
		if _, err := s.Lookup(ctx, token); !errors.Is(err, ErrInvalid) {
			t.Fatalf("idle session: %v", err)
		}
		if _, err := s.Lookup(ctx, "not-a-token"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

func TestAbsoluteLifetimeAndRevocation(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, c := setup(t, db)
		member := uuid.New()
		tokA, dA := credentials.NewToken()
		tokB, dB := credentials.NewToken()
		tokC, dC := credentials.NewToken()
		keep := uuid.New()
		s.Create(ctx, dA, keep, member, "member")
		s.Create(ctx, dB, uuid.New(), member, "member")
		other := uuid.New()
		s.Create(ctx, dC, uuid.New(), other, "member")
		n, err := s.RevokeAllFor(ctx, member, keep)
		if err != nil || n != 1 {
			t.Fatalf("revoked %d, %v; want 1", n, err)
		}
		if _, err := s.Lookup(ctx, tokB); !errors.Is(err, ErrInvalid) {
			t.Fatal("revoked session still works")
		}
		if _, err := s.Lookup(ctx, tokC); err != nil {
			t.Fatal("another member's session was revoked")
		}
		if err := s.Revoke(ctx, tokC); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, tokC); !errors.Is(err, ErrInvalid) {
			t.Fatal("logged-out session still works")
		}
		// Active every 10 minutes, the kept session still ends 12 hours after login.
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
			c.add(10 * time.Minute)
			if _, err := s.Lookup(ctx, tokA); err != nil {
				t.Fatalf("session ended early at %v: %v", elapsed, err)
			}
		}
		c.add(10 * time.Minute)
		if _, err := s.Lookup(ctx, tokA); !errors.Is(err, ErrInvalid) {
			t.Fatal("session outlived its absolute lifetime")
		}
		if n, err := s.Purge(ctx, c.now()); err != nil || n != 3 {
			t.Fatalf("purged %d, %v; want 3", n, err)
		}
	})
}
