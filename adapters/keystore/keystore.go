// Package keystore keeps the data keys that seal personal data in events (crypto-shredding): one AES-256 key per data
// subject (a member, a registration), created on first use, stored wrapped by a key-encryption key (KEK) in the table
// data_keys of the read-model database. Erasing a subject destroys its key and leaves a tombstone, after which its
// sealed data can never be opened again, from any event, rebuild or replica.
//
// [Store] implements [event.Sealer]: the event registry seals the personal fields of an event under the key of its
// subject on append and opens them on read (see domain/event). The table is not a projection: it is never dropped or
// rebuilt from events (nothing in the events can rebuild it, by design), so it belongs in the backups of the
// read-model database, and a backup older than an erasure brings the erased keys back (see docs/architecture.md).
//
// # Keys
//
// A data key is 32 random bytes; sealed data is nonce (12 random bytes) || AES-256-GCM ciphertext, authenticated with
// the caller's associated data. Data keys are wrapped the same way under the KEK, with the subject's 16 bytes as
// associated data, so a wrapped key moved to another subject's row does not open. Each row names the KEK it is
// wrapped under by a short id (a hash of the KEK, never the KEK). Rotation: configure the new KEK with the old one
// among the previous KEKs (keys wrapped under any configured KEK stay readable), run Rotate, which re-wraps every
// live key under the new KEK (the data keys, and so the events, do not change), then drop the old KEK.
//
// # Replicas
//
// Two replicas sealing for a new subject at once each draw a key, and the first insert wins: both then read the
// winning row back, so a subject has exactly one key. Unwrapped keys are cached in memory for Config.CacheTTL; Erase
// clears the erased subjects from this replica's cache at once, other replicas stop using theirs within CacheTTL.
package keystore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Owner is the migration owner of the data_keys table.
const Owner = "keystore"

// KeySize is the size of a KEK and of a data key: 32 bytes (AES-256).
const KeySize = 32

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the key store's migrations (for status checks).
func Migrations() sqldb.Migrations { return migrations }

// Migrate creates or upgrades the data_keys table.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// Config configures a Store.
type Config struct {
	// KEK is the current key-encryption key (32 bytes): new data keys are wrapped under it, Rotate re-wraps under it.
	KEK []byte
	// PreviousKEKs are older KEKs (32 bytes each) kept readable during a rotation: keys wrapped under them open.
	PreviousKEKs [][]byte
	// CacheTTL is how long an unwrapped key (or an erasure) is kept in memory (default 1 minute; negative: no cache).
	CacheTTL time.Duration
	// CacheSize bounds the number of cached subjects (default 10 000).
	CacheSize int
	// Timeout bounds each database call of Seal and Open, which get no context (default 10 seconds).
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	if c.CacheTTL == 0 {
		c.CacheTTL = time.Minute
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 10_000
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.KEK) != KeySize {
		errs = append(errs, fmt.Errorf("keystore: the KEK must be %d bytes, got %d", KeySize, len(c.KEK)))
	}
	for i, k := range c.PreviousKEKs {
		if len(k) != KeySize {
			errs = append(errs, fmt.Errorf("keystore: previous KEK %d must be %d bytes, got %d", i+1, KeySize, len(k)))
		}
	}
	return errors.Join(errs...)
}

// KEKID returns the short id a KEK is known by in the table: the first 8 bytes of a SHA-256 of it, in hexadecimal.
// It identifies the KEK without revealing it.
func KEKID(kek []byte) string {
	h := sha256.New()
	h.Write([]byte("dossier data kek id\x00"))
	h.Write(kek)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Store is the key store on the read-model database; it implements event.Sealer.
type Store struct {
	db      *sqldb.DB
	cfg     Config
	current string                 // id of the current KEK
	keks    map[string]cipher.AEAD // every configured KEK by id
	now     func() time.Time

	mu    sync.Mutex
	cache map[uuid.UUID]cached
}

// cached is a subject's unwrapped key (or its erasure) until expires.
type cached struct {
	aead    cipher.AEAD // nil when erased
	erased  bool
	expires time.Time
}

var _ event.Sealer = (*Store)(nil)

// New returns a store on db; Migrate must have run.
func New(db *sqldb.DB, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("keystore: no database")
	}
	s := &Store{db: db, cfg: cfg, current: KEKID(cfg.KEK), keks: map[string]cipher.AEAD{}, now: time.Now,
		cache: map[uuid.UUID]cached{}}
	for _, k := range append([][]byte{cfg.KEK}, cfg.PreviousKEKs...) {
		a, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		s.keks[KEKID(k)] = a
	}
	s.cfg.KEK, s.cfg.PreviousKEKs = nil, nil // kept only inside the ciphers
	return s, nil
}

// CurrentKEKID is the id of the KEK new keys are wrapped under.
func (s *Store) CurrentKEKID() string { return s.current }

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return cipher.NewGCM(b)
}

// seal encrypts plaintext under a: a fresh random nonce followed by the ciphertext.
func seal(a cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("keystore: nonce: %w", err)
	}
	return a.Seal(out, out, plaintext, aad), nil
}

// open decrypts what seal returned.
func open(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, errors.New("too short")
	}
	return a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
}

// Seal encrypts plaintext under subject's data key, creating the key when the subject has none; ErrErased when the
// subject was erased.
func (s *Store) Seal(subject uuid.UUID, aad, plaintext []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	a, err := s.key(ctx, subject, true)
	if err != nil {
		return nil, err
	}
	return seal(a, plaintext, aad)
}

// Open decrypts what Seal returned; ErrErased when the subject was erased. A subject with no key at all, or data that
// does not authenticate, is an error: the data was sealed under a key this store never had (another database, a
// lost table, a wrong KEK).
func (s *Store) Open(subject uuid.UUID, aad, sealed []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	a, err := s.key(ctx, subject, false)
	if err != nil {
		return nil, err
	}
	plain, err := open(a, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("keystore: sealed data of subject %s does not open under its key: %w", subject, err)
	}
	return plain, nil
}

// key returns subject's data key, from the cache or the table; create makes one when the subject has no row.
func (s *Store) key(ctx context.Context, subject uuid.UUID, create bool) (cipher.AEAD, error) {
	if c, ok := s.cached(subject); ok {
		if c.erased {
			return nil, event.ErrErased
		}
		return c.aead, nil
	}
	r, found, err := s.row(ctx, subject)
	if err != nil {
		return nil, err
	}
	if !found {
		if !create {
			return nil, fmt.Errorf("keystore: no data key for subject %s: its data was sealed under a key this database "+
				"never had (another database, a lost data_keys table?)", subject)
		}
		if err := s.insertKey(ctx, subject); err != nil {
			return nil, err
		}
		// Read back whatever row won: ours, or a concurrent replica's.
		if r, found, err = s.row(ctx, subject); err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("keystore: data key of subject %s vanished after its creation", subject)
		}
	}
	if r.erased {
		s.remember(subject, cached{erased: true})
		return nil, event.ErrErased
	}
	raw, err := s.unwrap(subject, r)
	if err != nil {
		return nil, err
	}
	a, err := newAEAD(raw)
	clear(raw)
	if err != nil {
		return nil, err
	}
	s.remember(subject, cached{aead: a})
	return a, nil
}

// keyRow is a data_keys row.
type keyRow struct {
	kekID   string
	wrapped []byte
	erased  bool
}

// row reads subject's row through the read pool (which never waits behind a writer's transaction).
func (s *Store) row(ctx context.Context, subject uuid.UUID) (keyRow, bool, error) {
	var (
		r        keyRow
		erasedAt sql.NullTime
	)
	rd := s.db.Reader()
	err := rd.QueryRowxContext(ctx, rd.Rebind(`SELECT kek_id, wrapped_key, erased_at FROM data_keys WHERE subject = ?`),
		subject.String()).Scan(&r.kekID, &r.wrapped, &erasedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return keyRow{}, false, nil
	case err != nil:
		return keyRow{}, false, fmt.Errorf("keystore: read the data key of %s: %w", subject, err)
	}
	r.erased = erasedAt.Valid || r.wrapped == nil
	return r, true, nil
}

// insertKey draws a key for subject and inserts it wrapped under the current KEK, unless a row exists already (a
// concurrent replica's key, or a tombstone): the first insert wins, committed before this returns.
func (s *Store) insertKey(ctx context.Context, subject uuid.UUID) error {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("keystore: draw a data key: %w", err)
	}
	wrapped, err := seal(s.keks[s.current], raw, subject[:])
	clear(raw)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO data_keys (subject, kek_id, wrapped_key, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO NOTHING`), subject.String(), s.current, wrapped, s.now().UTC())
	if err != nil {
		return fmt.Errorf("keystore: create the data key of %s: %w", subject, err)
	}
	return nil
}

// unwrap opens a row's wrapped key under the KEK it names.
func (s *Store) unwrap(subject uuid.UUID, r keyRow) ([]byte, error) {
	kek, ok := s.keks[r.kekID]
	if !ok {
		return nil, fmt.Errorf("keystore: the data key of %s is wrapped under KEK %s, which is not configured "+
			"(current KEK %s; during a rotation keep the old KEK among the previous ones)", subject, r.kekID, s.current)
	}
	raw, err := open(kek, r.wrapped, subject[:])
	if err != nil {
		return nil, fmt.Errorf("keystore: the data key of %s does not unwrap under KEK %s: %w", subject, r.kekID, err)
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("keystore: the data key of %s has %d bytes", subject, len(raw))
	}
	return raw, nil
}

// Erase destroys the data keys of subjects, leaving tombstones: their sealed data reads as erased from now on, and
// nothing new can be sealed for them. Erasing a subject without a key leaves a tombstone too; erasing twice does
// nothing more. This replica forgets the keys at once; other replicas within Config.CacheTTL.
func (s *Store) Erase(ctx context.Context, subjects ...uuid.UUID) error {
	if len(subjects) == 0 {
		return nil
	}
	now := s.now().UTC()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		q := tx.Rebind(`INSERT INTO data_keys (subject, kek_id, wrapped_key, created_at, erased_at) VALUES (?, '', NULL, ?, ?)
			ON CONFLICT (subject) DO UPDATE SET wrapped_key = NULL,
			erased_at = COALESCE(data_keys.erased_at, excluded.erased_at)`)
		for _, sub := range subjects {
			if _, err := tx.ExecContext(ctx, q, sub.String(), now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keystore: erase: %w", err)
	}
	for _, sub := range subjects {
		s.remember(sub, cached{erased: true})
	}
	return nil
}

// Rotate re-wraps every live data key under the current KEK and returns how many it re-wrapped (keys already under
// it are left alone). Every KEK a key is wrapped under must be configured (current or previous); the data keys
// themselves, and so every sealed event, do not change. Safe beside running replicas: a key erased meanwhile stays
// erased.
func (s *Store) Rotate(ctx context.Context) (int, error) {
	type old struct {
		subject string
		kekID   string
		wrapped []byte
	}
	var todo []old
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(
		`SELECT subject, kek_id, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL AND erased_at IS NULL AND kek_id <> ?
		ORDER BY subject`), s.current)
	if err != nil {
		return 0, fmt.Errorf("keystore: rotate: %w", err)
	}
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.subject, &o.kekID, &o.wrapped); err != nil {
			rows.Close()
			return 0, fmt.Errorf("keystore: rotate: %w", err)
		}
		todo = append(todo, o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("keystore: rotate: %w", err)
	}
	// Check every key first: a rotation that would stop half-way on a missing KEK does not start.
	missing := map[string]int{}
	for _, o := range todo {
		if _, ok := s.keks[o.kekID]; !ok {
			missing[o.kekID]++
		}
	}
	if len(missing) > 0 {
		var errs []error
		for id, n := range missing {
			errs = append(errs, fmt.Errorf("keystore: rotate: %d key(s) are wrapped under KEK %s, which is not configured "+
				"(give it among the previous KEKs)", n, id))
		}
		return 0, errors.Join(errs...)
	}
	n := 0
	for _, o := range todo {
		sub, err := uuid.Parse(o.subject)
		if err != nil {
			return n, fmt.Errorf("keystore: rotate: subject %q: %w", o.subject, err)
		}
		raw, err := s.unwrap(sub, keyRow{kekID: o.kekID, wrapped: o.wrapped})
		if err != nil {
			return n, err
		}
		wrapped, err := seal(s.keks[s.current], raw, sub[:])
		clear(raw)
		if err != nil {
			return n, err
		}
		res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE data_keys SET kek_id = ?, wrapped_key = ?
			WHERE subject = ? AND kek_id = ? AND wrapped_key IS NOT NULL AND erased_at IS NULL`), s.current, wrapped, o.subject, o.kekID)
		if err != nil {
			return n, fmt.Errorf("keystore: rotate the key of %s: %w", o.subject, err)
		}
		if k, err := res.RowsAffected(); err == nil {
			n += int(k)
		}
	}
	return n, nil
}

// cached returns subject's cache entry while it is fresh.
func (s *Store) cached(subject uuid.UUID) (cached, bool) {
	if s.cfg.CacheTTL < 0 {
		return cached{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[subject]
	if !ok {
		return cached{}, false
	}
	if !s.now().Before(c.expires) {
		delete(s.cache, subject)
		return cached{}, false
	}
	return c, true
}

// remember caches c for subject; when the cache is full, expired entries go first, then arbitrary ones.
func (s *Store) remember(subject uuid.UUID, c cached) {
	if s.cfg.CacheTTL < 0 {
		return
	}
	now := s.now()
	c.expires = now.Add(s.cfg.CacheTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[subject]; !ok && len(s.cache) >= s.cfg.CacheSize {
		for k, v := range s.cache {
			if !now.Before(v.expires) {
				delete(s.cache, k)
			}
		}
		for k := range s.cache {
			if len(s.cache) < s.cfg.CacheSize {
				break
			}
			delete(s.cache, k)
		}
	}
	s.cache[subject] = c
}
