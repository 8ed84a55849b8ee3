package sessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// The cache of sessions (Policy.CacheFor): a revocation through the Store takes effect at once in its process
// (logout, password change ending the other sessions); one made by another process (a second replica, an
// operator's command) within CacheFor; expiry holds as without a cache.
func TestSessionCacheBounds(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		a, c := setup(t, db)          // replica A
		b := New(db, a.policy, c.now) // replica B, same table, same clock
		lookup := func(s *Store, token string) error { _, err := s.Lookup(ctx, token); return err }
		open := func(subject uuid.UUID) (string, uuid.UUID) {
			token, digest := credentials.NewToken()
			id := uuid.New()
			if _, err := a.Create(ctx, digest, id, subject, "member"); err != nil {
				t.Fatal(err)
			}
			return token, id
		}
		member := uuid.New()

		// Logout on A: A refuses the token at once, though it answered it from memory a moment before.
		tok, _ := open(member)
		for _, s := range []*Store{a, a, b, b} {
			if err := lookup(s, tok); err != nil {
				t.Fatalf("fresh session: %v", err)
			}
		}
		if a.StatsCached() == 0 {
			t.Fatal("nothing cached after a lookup")
		}
		if err := a.Revoke(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := lookup(a, tok); !errors.Is(err, ErrInvalid) {
			t.Fatalf("same replica, right after the logout: %v, want ErrInvalid", err)
		}
		// B may answer from memory for less than CacheFor, never at CacheFor.
		c.add(a.policy.CacheFor)
		if err := lookup(b, tok); !errors.Is(err, ErrInvalid) {
			t.Fatalf("other replica, CacheFor after the logout: %v, want ErrInvalid", err)
		}

		// A password change on A ends the member's other sessions at once on A, and keeps the current one.
		keepTok, keepID := open(member)
		otherTok, _ := open(member)
		for _, tk := range []string{keepTok, otherTok} {
			if err := lookup(a, tk); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.RevokeAllFor(ctx, member, keepID); err != nil {
			t.Fatal(err)
		}
		if err := lookup(a, otherTok); !errors.Is(err, ErrInvalid) {
			t.Fatalf("other session right after the password change: %v, want ErrInvalid", err)
		}
		if err := lookup(a, keepTok); err != nil {
			t.Fatalf("kept session: %v", err)
		}

		// Idle expiry holds on a cached session: the entry is no use past the idle period.
		idleTok, _ := open(uuid.New())
		if err := lookup(a, idleTok); err != nil {
			t.Fatal(err)
		}
		c.add(31 * time.Minute)
		if err := lookup(a, idleTok); !errors.Is(err, ErrInvalid) {
			t.Fatalf("idle session answered from memory: %v", err)
		}
	})
}
