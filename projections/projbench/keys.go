package projbench

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// KeyStore is the benchmark's throwaway key store: a real keystore.Store on a SQLite database of its own under a
// temporary directory, with a random KEK, as the embedded default keeps it.
type KeyStore struct {
	dir string
	db  *sqldb.DB
	kek []byte
}

// NewKeyStore creates the database (migrated) under dir (the system temp dir if empty).
func NewKeyStore(ctx context.Context, dir string) (*KeyStore, error) {
	d, err := os.MkdirTemp(dir, "projbench-keys-*")
	if err != nil {
		return nil, fmt.Errorf("projbench: key store: %w", err)
	}
	db, err := sqldb.Open(ctx, sqldb.SQLite, filepath.Join(d, "keys.db"), sqldb.Options{})
	if err != nil {
		_ = os.RemoveAll(d)
		return nil, fmt.Errorf("projbench: key store: %w", err)
	}
	k := &KeyStore{dir: d, db: db, kek: make([]byte, keystore.KeySize)}
	if err := keystore.Migrate(ctx, db); err != nil {
		_ = k.Close()
		return nil, fmt.Errorf("projbench: key store: %w", err)
	}
	_, _ = rand.Read(k.kek)
	return k, nil
}

// Handle returns a new handle on the key store, with the binary's default settings and an empty key cache: each
// subject's data key is read from the table and unwrapped on its first use, as in a freshly started process.
func (k *KeyStore) Handle() (*keystore.Store, error) {
	return keystore.New(k.db, keystore.Config{KEK: k.kek})
}

// Close closes and removes the database.
func (k *KeyStore) Close() error {
	err := k.db.Close()
	_ = os.RemoveAll(k.dir)
	return err
}
