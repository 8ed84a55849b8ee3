package keystore_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func kek(b byte) []byte { return bytes.Repeat([]byte{b}, keystore.KeySize) }

// newStore migrates db and returns a store on it with cfg (KEK 0x01 when none).
func newStore(t testing.TB, db *sqldb.DB, cfg keystore.Config) *keystore.Store {
	t.Helper()
	if err := keystore.Migrate(ctxT(t), db); err != nil {
		t.Fatal(err)
	}
	if cfg.KEK == nil {
		cfg.KEK = kek(1)
	}
	s, err := keystore.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSeal(t *testing.T, s *keystore.Store, subject uuid.UUID, aad, plain string) []byte {
	t.Helper()
	sealed, err := s.Seal(subject, []byte(aad), []byte(plain))
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	return sealed
}

func mustOpen(t *testing.T, s *keystore.Store, subject uuid.UUID, aad string, sealed []byte, want string) {
	t.Helper()
	got, err := s.Open(subject, []byte(aad), sealed)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if string(got) != want {
		t.Fatalf("open = %q, want %q", got, want)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	err := keystore.Config{KEK: []byte("short"), PreviousKEKs: [][]byte{kek(2), []byte("x")}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "KEK must be 32 bytes") || !strings.Contains(err.Error(), "previous KEK 2") {
		t.Fatalf("Validate = %v", err)
	}
	if err := (keystore.Config{KEK: kek(1), PreviousKEKs: [][]byte{kek(2)}}).Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := keystore.New(nil, keystore.Config{KEK: kek(1)}); err == nil {
		t.Fatal("New accepted no database")
	}
	if id := keystore.KEKID(kek(1)); len(id) != 16 || strings.Contains(id, "0101") || id == keystore.KEKID(kek(2)) {
		t.Fatalf("KEKID = %q", id)
	}
}

func TestRoundTripAndAssociatedData(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, keystore.Config{})
		alice, bob := uuid.New(), uuid.New()
		sealed := mustSeal(t, s, alice, "aad-1", `{"name":"Alice Martin"}`)
		if bytes.Contains(sealed, []byte("Alice")) {
			t.Fatal("the plaintext is in the sealed bytes")
		}
		mustOpen(t, s, alice, "aad-1", sealed, `{"name":"Alice Martin"}`)
		// two seals of the same data differ (random nonce), both open
		again := mustSeal(t, s, alice, "aad-1", `{"name":"Alice Martin"}`)
		if bytes.Equal(sealed, again) {
			t.Fatal("two seals gave the same bytes")
		}
		mustOpen(t, s, alice, "aad-1", again, `{"name":"Alice Martin"}`)
		if _, err := s.Open(alice, []byte("aad-2"), sealed); err == nil {
			t.Fatal("opened under other associated data")
		}
		mustSeal(t, s, bob, "aad-1", "bob")
		if _, err := s.Open(bob, []byte("aad-1"), sealed); err == nil {
			t.Fatal("opened alice's data with bob's key")
		}
		if _, err := s.Open(alice, []byte("aad-1"), sealed[:10]); err == nil {
			t.Fatal("opened truncated data")
		}
		// a fresh store (a restart, no cache) opens what was sealed
		mustOpen(t, newStore(t, db, keystore.Config{}), alice, "aad-1", sealed, `{"name":"Alice Martin"}`)
	})
}

func TestEraseForgetsTheSubjectOnly(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, keystore.Config{})
		alice, bob, never := uuid.New(), uuid.New(), uuid.New()
		sa := mustSeal(t, s, alice, "a", "alice")
		sb := mustSeal(t, s, bob, "b", "bob")
		if err := s.Erase(ctxT(t), alice, never); err != nil {
			t.Fatal(err)
		}
		if err := s.Erase(ctxT(t), alice); err != nil { // idempotent
			t.Fatalf("second erase: %v", err)
		}
		other := newStore(t, db, keystore.Config{}) // another replica, cold cache
		for name, st := range map[string]*keystore.Store{"this replica": s, "another replica": other} {
			if _, err := st.Open(alice, []byte("a"), sa); !errors.Is(err, event.ErrErased) {
				t.Errorf("%s: open erased = %v, want ErrErased", name, err)
			}
			if _, err := st.Seal(alice, []byte("a"), []byte("new")); !errors.Is(err, event.ErrErased) {
				t.Errorf("%s: seal erased = %v, want ErrErased", name, err)
			}
			if _, err := st.Seal(never, []byte("n"), []byte("new")); !errors.Is(err, event.ErrErased) {
				t.Errorf("%s: seal for a subject erased before any key = %v, want ErrErased", name, err)
			}
			mustOpen(t, st, bob, "b", sb, "bob")
		}
		var wrapped []byte
		if err := db.QueryRowxContext(ctxT(t), db.Rebind(`SELECT wrapped_key FROM data_keys WHERE subject = ?`), alice.String()).
			Scan(&wrapped); err != nil || wrapped != nil {
			t.Fatalf("the erased row still holds %x (%v)", wrapped, err)
		}
	})
}

func TestOpenWithoutAnyKeyIsLoud(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, keystore.Config{})
		elsewhere := newStore(t, sqldbtest.NewTarget(t, db.Dialect()).Open(t), keystore.Config{})
		subject := uuid.New()
		sealed := mustSeal(t, elsewhere, subject, "x", "data")
		_, err := s.Open(subject, []byte("x"), sealed)
		if err == nil || errors.Is(err, event.ErrErased) || !strings.Contains(err.Error(), "no data key") {
			t.Fatalf("open without a key = %v, want a loud error", err)
		}
	})
}

// Two replicas on one database seal for a new subject at the same time: one key wins, each opens the other's data.
func TestConcurrentFirstSealMakesOneKey(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		one := newStore(t, tg.Open(t), keystore.Config{})
		two := newStore(t, tg.Open(t), keystore.Config{})
		for round := 0; round < 5; round++ {
			subject := uuid.New()
			var (
				wg     sync.WaitGroup
				sealed [2][]byte
				errs   [2]error
			)
			start := make(chan struct{})
			for i, s := range []*keystore.Store{one, two} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					sealed[i], errs[i] = s.Seal(subject, []byte("aad"), []byte{byte('a' + i)})
				}()
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs[:]...); err != nil {
				t.Fatal(err)
			}
			mustOpen(t, one, subject, "aad", sealed[1], "b")
			mustOpen(t, two, subject, "aad", sealed[0], "a")
			var n int
			db := tg.Open(t)
			if err := db.QueryRowxContext(ctxT(t), db.Rebind(`SELECT COUNT(*) FROM data_keys WHERE subject = ?`), subject.String()).
				Scan(&n); err != nil || n != 1 {
				t.Fatalf("rows for the subject = %d (%v)", n, err)
			}
		}
	})
}

func TestRotationKeepsEverythingReadable(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		old := newStore(t, db, keystore.Config{KEK: kek(1)})
		subjects := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		var sealed [][]byte
		for _, s := range subjects {
			sealed = append(sealed, mustSeal(t, old, s, "aad", s.String()))
		}
		if err := old.Erase(ctxT(t), subjects[2]); err != nil {
			t.Fatal(err)
		}

		// A wrong KEK fails loudly (never ErrErased, never garbage).
		wrong := newStore(t, db, keystore.Config{KEK: kek(9)})
		if _, err := wrong.Open(subjects[0], []byte("aad"), sealed[0]); err == nil || errors.Is(err, event.ErrErased) ||
			!strings.Contains(err.Error(), "not configured") {
			t.Fatalf("open under a wrong KEK = %v", err)
		}
		if n, err := wrong.Rotate(ctxT(t)); err == nil || n != 0 {
			t.Fatalf("rotate without the old KEK = %d, %v", n, err)
		}

		// Step 1: the new KEK, the old one as previous: everything reads before and after the rotation.
		both := newStore(t, db, keystore.Config{KEK: kek(2), PreviousKEKs: [][]byte{kek(1)}})
		mustOpen(t, both, subjects[0], "aad", sealed[0], subjects[0].String())
		n, err := both.Rotate(ctxT(t))
		if err != nil || n != 2 {
			t.Fatalf("rotate = %d, %v; want the 2 live keys", n, err)
		}
		if n, err := both.Rotate(ctxT(t)); err != nil || n != 0 {
			t.Fatalf("second rotate = %d, %v; want 0", n, err)
		}
		var ids []string
		if err := db.SelectContext(ctxT(t), &ids, `SELECT DISTINCT kek_id FROM data_keys WHERE wrapped_key IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != keystore.KEKID(kek(2)) {
			t.Fatalf("kek ids after rotation = %v", ids)
		}

		// Step 2: the old KEK dropped: still readable, the erased subject still erased.
		only := newStore(t, db, keystore.Config{KEK: kek(2)})
		for i := range 2 {
			mustOpen(t, only, subjects[i], "aad", sealed[i], subjects[i].String())
		}
		if _, err := only.Open(subjects[2], []byte("aad"), sealed[2]); !errors.Is(err, event.ErrErased) {
			t.Fatalf("erased after rotation = %v", err)
		}
		// and the old KEK alone no longer reads the keys
		if _, err := newStore(t, db, keystore.Config{KEK: kek(1)}).Open(subjects[0], []byte("aad"), sealed[0]); err == nil {
			t.Fatal("the dropped KEK still opens")
		}
	})
}

// The table holds no data key in clear: the wrapped bytes are not the key, and the KEK is nowhere.
func TestTableHoldsNoKeyInClear(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, keystore.Config{})
		subject := uuid.New()
		mustSeal(t, s, subject, "aad", "x")
		var (
			kekID   string
			wrapped []byte
		)
		if err := db.QueryRowxContext(ctxT(t), db.Rebind(`SELECT kek_id, wrapped_key FROM data_keys WHERE subject = ?`),
			subject.String()).Scan(&kekID, &wrapped); err != nil {
			t.Fatal(err)
		}
		if kekID != keystore.KEKID(kek(1)) || strings.Contains(kekID, "0101") {
			t.Fatalf("kek_id = %q", kekID)
		}
		// nonce (12) + key (32) + tag (16)
		if len(wrapped) != 12+keystore.KeySize+16 || bytes.Contains(wrapped, kek(1)[:8]) {
			t.Fatalf("wrapped key of %d bytes", len(wrapped))
		}
		// Unwrapped by hand under the KEK, the key differs from every stored byte run and opens the sealed data.
		key := gcmOpen(t, kek(1), wrapped, subject[:])
		if len(key) != keystore.KeySize || bytes.Contains(wrapped, key) {
			t.Fatalf("the data key (%d bytes) is in the row in clear", len(key))
		}
		sealed := mustSeal(t, s, subject, "aad", "secret")
		if got := gcmOpen(t, key, sealed, []byte("aad")); string(got) != "secret" {
			t.Fatalf("the unwrapped key opens %q", got)
		}
	})
}

// gcmOpen opens nonce||ciphertext under key with the standard library alone.
func gcmOpen(t *testing.T, key, sealed, aad []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Open(nil, sealed[:12], sealed[12:], aad)
	if err != nil {
		t.Fatalf("gcm open: %v", err)
	}
	return out
}

// Without a cache every call reads the table: an erasure on one replica is seen by the other at once.
func TestNoCacheSeesOtherReplicasErasure(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		one := newStore(t, tg.Open(t), keystore.Config{CacheTTL: -1})
		two := newStore(t, tg.Open(t), keystore.Config{CacheTTL: -1})
		subject := uuid.New()
		sealed := mustSeal(t, one, subject, "aad", "x")
		mustOpen(t, two, subject, "aad", sealed, "x")
		if err := one.Erase(ctxT(t), subject); err != nil {
			t.Fatal(err)
		}
		if _, err := two.Open(subject, []byte("aad"), sealed); !errors.Is(err, event.ErrErased) {
			t.Fatalf("open on the other replica = %v", err)
		}
	})
}

func TestCacheStaysBounded(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStore(t, db, keystore.Config{CacheSize: 3})
		var subjects []uuid.UUID
		var sealed [][]byte
		for i := range 8 {
			subjects = append(subjects, uuid.New())
			sealed = append(sealed, mustSeal(t, s, subjects[i], "aad", "v"))
		}
		for i := range 8 {
			mustOpen(t, s, subjects[i], "aad", sealed[i], "v")
		}
	})
}

// Seal and Open with a warm cache (the steady state of appends and rebuilds).
func BenchmarkSealOpenWarm(b *testing.B) {
	tg := sqldbtest.NewTarget(b, sqldb.SQLite)
	s := newStore(b, tg.Open(b), keystore.Config{})
	subject := uuid.New()
	aad := []byte("0123456789abcdefMemberRegistered")
	plain := []byte(`{"nir":"1850775123456","first_name":"Jeanne","last_name":"Dupont","email":"jeanne.dupont@example.org"}`)
	if _, err := s.Seal(subject, aad, plain); err != nil {
		b.Fatal(err)
	}
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Seal(subject, aad, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	sealed, _ := s.Seal(subject, aad, plain)
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Open(subject, aad, sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}
