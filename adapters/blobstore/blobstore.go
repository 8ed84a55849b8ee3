// Package blobstore keeps the files members deposit, through gocloud.dev/blob: a local directory on the embedded
// default (fileblob, "./var/blobs"), an object store in production by URL (the driver of its scheme must be linked
// into the binary: only fileblob and memblob are today).
//
// Every file is sealed with its data subject's key (the key store's AES-256-GCM, the same keys as the events'
// personal fields) before it is written, and stored under the SHA-256 of what is stored: once the subject's key is
// destroyed (erasure), the blob is unreadable. Put returns only once the blob is durable (the file and its directory
// fsynced on the local backend; a finished upload on an object store), so an event that references a blob is
// appended after the blob exists. A blob whose event never got appended (a crash, a refused deposit) is an orphan:
// Sweep deletes those older than a grace period that no read model references.
package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	"gocloud.dev/blob/memblob"
	"gocloud.dev/gcerrors"

	"github.com/msa-dossier/dossier/domain/event"
)

// prefix is where blobs live in the bucket; their names are prefix + the hex SHA-256 of the stored bytes.
const prefix = "sha256/"

// aad binds a sealed blob to its purpose: a sealed event field cannot be passed off as a file, nor a file as a field.
var aad = []byte("dossier/blob/v1")

// ErrNotFound is returned by Get for a key the bucket does not hold.
var ErrNotFound = errors.New("blobstore: no such blob")

// Store is a bucket of sealed blobs.
type Store struct {
	bucket *blob.Bucket
	sealer event.Sealer
	dir    string // the local directory of a file:// bucket (fsynced after each write), "" otherwise
	now    func() time.Time
}

// Open opens the bucket at rawURL: "file:///abs/dir" (created if missing), "mem://" (tests), or an object-store
// URL whose driver is linked in. sealer is the key store.
func Open(ctx context.Context, rawURL string, sealer event.Sealer) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("blobstore: a sealer is required")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: bad URL: %w", err)
	}
	s := &Store{sealer: sealer, now: time.Now}
	switch u.Scheme {
	case "file":
		s.dir = filepath.FromSlash(u.Path)
		// The blob directory exists, durably, before the first blob: each Put then fsyncs the file and its directory.
		blobs := filepath.Join(s.dir, strings.TrimSuffix(prefix, "/"))
		if err := os.MkdirAll(blobs, 0o700); err != nil {
			return nil, fmt.Errorf("blobstore: %w", err)
		}
		for _, d := range []string{blobs, s.dir, filepath.Dir(s.dir)} {
			if f, err := os.Open(d); err == nil {
				_ = f.Sync()
				f.Close()
			}
		}
		q := u.Query()
		q.Set("metadata", "skip")
		q.Set("no_tmp_dir", "1") // temporary files beside the final ones: the rename never crosses devices
		u.RawQuery = q.Encode()
		rawURL = u.String()
	case "mem":
		s.bucket = memblob.OpenBucket(nil)
		return s, nil
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s: %w", u.Scheme, err)
	}
	s.bucket = b
	return s, nil
}

// FileURL is the bucket URL of a local directory.
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Put seals content with subject's key, stores it durably under the SHA-256 of the sealed bytes and returns that
// key (hex) and the stored size. Putting the same content twice stores two blobs (the sealing is randomised).
func (s *Store) Put(ctx context.Context, subject uuid.UUID, content []byte) (string, int64, error) {
	sealed, err := s.sealer.Seal(subject, aad, content)
	if err != nil {
		return "", 0, fmt.Errorf("blobstore: seal: %w", err)
	}
	sum := sha256.Sum256(sealed)
	key := hex.EncodeToString(sum[:])
	if err := s.bucket.WriteAll(ctx, prefix+key, sealed, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return "", 0, fmt.Errorf("blobstore: write: %w", err)
	}
	if err := s.sync(key); err != nil {
		return "", 0, err
	}
	return key, int64(len(sealed)), nil
}

// sync makes a local blob durable: the file, then its directory (the rename that made it visible).
func (s *Store) sync(key string) error {
	if s.dir == "" {
		return nil
	}
	dir := filepath.Join(s.dir, filepath.FromSlash(strings.TrimSuffix(prefix, "/")))
	for _, p := range []string{filepath.Join(dir, key), dir} {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("blobstore: sync: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("blobstore: sync: %w", err)
		}
	}
	return nil
}

// Get reads blob key and opens it with subject's key: the file as the member sent it. A destroyed key is
// event.ErrErased; a missing blob ErrNotFound; a blob whose bytes do not hash to its key is an error.
func (s *Store) Get(ctx context.Context, subject uuid.UUID, key string) ([]byte, error) {
	if !validKey(key) {
		return nil, ErrNotFound
	}
	sealed, err := s.bucket.ReadAll(ctx, prefix+key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: read: %w", err)
	}
	if sum := sha256.Sum256(sealed); hex.EncodeToString(sum[:]) != key {
		return nil, fmt.Errorf("blobstore: blob %s does not match its hash", key)
	}
	return s.sealer.Open(subject, aad, sealed)
}

// Exists tells whether blob key is stored.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if !validKey(key) {
		return false, nil
	}
	return s.bucket.Exists(ctx, prefix+key)
}

// Delete removes blob key (missing already is fine).
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, prefix+key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Referenced reports which of keys a recorded event references (the read model of deposits answers it).
type Referenced func(ctx context.Context, keys []string) (map[string]bool, error)

// Sweep deletes the orphans: blobs written more than grace ago that no recorded event references. The grace must
// exceed the longest a deposit can take between storing its first blob and its event reaching the read model (the
// request timeout plus the projections' lag): a blob younger than that may belong to a deposit still in progress.
// It returns how many blobs it deleted.
func (s *Store) Sweep(ctx context.Context, grace time.Duration, referenced Referenced) (int, error) {
	cutoff := s.now().Add(-grace)
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	var old []string
	deleted := 0
	flush := func() error {
		if len(old) == 0 {
			return nil
		}
		refs, err := referenced(ctx, old)
		if err != nil {
			return err
		}
		for _, k := range old {
			if !refs[k] {
				if err := s.Delete(ctx, k); err != nil {
					return err
				}
				deleted++
			}
		}
		old = old[:0]
		return nil
	}
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return deleted, fmt.Errorf("blobstore: list: %w", err)
		}
		key := strings.TrimPrefix(obj.Key, prefix)
		if obj.IsDir || !validKey(key) || obj.ModTime.After(cutoff) {
			continue
		}
		if old = append(old, key); len(old) == 500 {
			if err := flush(); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, flush()
}

func validKey(k string) bool {
	if len(k) != 64 {
		return false
	}
	_, err := hex.DecodeString(k)
	return err == nil
}
