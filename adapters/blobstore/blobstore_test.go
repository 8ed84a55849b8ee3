package blobstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

func keys(t *testing.T) *keystore.Store {
	t.Helper()
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	if err := keystore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.New(db, keystore.Config{KEK: bytes.Repeat([]byte{7}, keystore.KeySize), CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func open(t *testing.T, dir string, ks *keystore.Store) *blobstore.Store {
	t.Helper()
	u, err := blobstore.FileURL(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := blobstore.Open(context.Background(), u, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPutStoresSealedUnderTheHashOfWhatIsStored: the file on disk is not the content (sealed), its name is the
// SHA-256 of its bytes, Get gives the content back, and after the subject's key is destroyed it reads as erased.
func TestPutStoresSealedUnderTheHashOfWhatIsStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ks := keys(t)
	s := open(t, dir, ks)
	member := uuid.New()
	content := []byte("%PDF-1.4 relevé d'identité bancaire de Jeanne Martin")
	key, size, err := s.Put(ctx, member, content)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "sha256", key))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(onDisk); hex.EncodeToString(sum[:]) != key || int64(len(onDisk)) != size {
		t.Fatalf("blob %s holds %d bytes hashing to %x", key, len(onDisk), sum)
	}
	if bytes.Contains(onDisk, []byte("Jeanne")) {
		t.Fatal("the blob holds the content in clear")
	}
	got, err := s.Get(ctx, member, key)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := s.Get(ctx, uuid.New(), key); err == nil {
		t.Fatal("another subject's key opened the blob")
	}
	if err := ks.Erase(ctx, member); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, member, key); !errors.Is(err, event.ErrErased) {
		t.Fatalf("Get after erasure = %v, want ErrErased", err)
	}
}

// TestSweepDeletesOnlyOldOrphans: a blob no event references is deleted once older than the grace period; a
// referenced one and a young orphan stay.
func TestSweepDeletesOnlyOldOrphans(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, keys(t))
	member := uuid.New()
	kept, _, err := s.Put(ctx, member, []byte("referenced"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, _, err := s.Put(ctx, member, []byte("orphan"))
	if err != nil {
		t.Fatal(err)
	}
	young, _, err := s.Put(ctx, member, []byte("young orphan"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, k := range []string{kept, orphan} {
		if err := os.Chtimes(filepath.Join(dir, "sha256", k), old, old); err != nil {
			t.Fatal(err)
		}
	}
	referenced := func(_ context.Context, keys []string) (map[string]bool, error) {
		return map[string]bool{kept: true}, nil
	}
	n, err := s.Sweep(ctx, time.Hour, referenced)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	for k, want := range map[string]bool{kept: true, orphan: false, young: true} {
		if ok, _ := s.Exists(ctx, k); ok != want {
			t.Errorf("after the sweep, blob exists = %v, want %v", ok, want)
		}
	}
}
