// Package sessions keeps login sessions server-side: a random opaque token goes to the client, only its SHA-256
// digest is stored. A session ends after an idle period or an absolute lifetime, whichever comes first, or when
// it is revoked (logout, password change).
//
// Tokens come from credentials.NewToken.
//
// Sessions are operational state, not a read model: the facts (logged in, logged out, locked) are events on the
// member's or staff member's stream; this table only answers "is this token still good, and whose is it" on every
// request, which must not wait for a projection. It is updated in place (last activity), which is why it is not
// built from events.
package sessions

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Owner is the migration owner of the sessions table.
const Owner = "sessions"

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// ErrInvalid is any token that does not open a live session: unknown, expired, revoked or malformed. The
// caller cannot tell which (and must not: it would help someone guessing tokens).
var ErrInvalid = failure.New(failure.Unauthenticated, "session.invalid", "no live session for this token")

// Policy bounds a session's life.
type Policy struct {
	Idle     time.Duration // ends after this long without a request (default 30 min)
	Absolute time.Duration // ends this long after login whatever happens (default 12 h)
	// TouchEvery limits writes: last activity is recorded at most this often (default 1 min).
	TouchEvery time.Duration
	// CacheFor is how long a session read from the table may answer again from memory (default DefaultCacheFor;
	// negative: no cache). It is the staleness bound of a revocation made by another process (another replica, an
	// operator's command): a logout, a password change or an erasure through this Store takes effect at once.
	CacheFor time.Duration
}

// DefaultCacheFor is Policy.CacheFor's default.
const DefaultCacheFor = 2 * time.Second

// maxCached bounds the cache: past it, a lookup that reads the table first drops the entries too old to be used.
const maxCached = 100_000

func (p *Policy) setDefaults() {
	if p.Idle <= 0 {
		p.Idle = 30 * time.Minute
	}
	if p.Absolute <= 0 {
		p.Absolute = 12 * time.Hour
	}
	if p.TouchEvery <= 0 {
		p.TouchEvery = time.Minute
	}
	if p.CacheFor == 0 {
		p.CacheFor = DefaultCacheFor
	}
}

// Session is a live session.
type Session struct {
	ID        uuid.UUID // recorded in the login event; never the token
	Subject   uuid.UUID // member or staff id
	Role      string    // "member", "caseworker", …
	CreatedAt time.Time
	ExpiresAt time.Time // the earlier of idle and absolute expiry, as of now
}

// Store keeps sessions in the read-model database, and the sessions it read lately in memory (Policy.CacheFor).
type Store struct {
	db     *sqldb.DB
	policy Policy
	now    func() time.Time

	mu     sync.Mutex
	cached map[[32]byte]cachedSession // by token digest
	// gen counts revocations: a session read from the table before one (or while one is written) is not cached.
	gen uint64
}

// cachedSession is a live session as the table gave it at read.
type cachedSession struct {
	id, subject uuid.UUID
	role        string
	created     time.Time
	seen        time.Time // last activity recorded
	read        time.Time // when the table was read
}

// New returns a store; Migrate must have run.
func New(db *sqldb.DB, policy Policy, now func() time.Time) *Store {
	policy.setDefaults()
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, policy: policy, now: now, cached: make(map[[32]byte]cachedSession)}
}

// fromCache returns the session of digest as read less than CacheFor ago, if it is still live by its expiry as of
// now and needs no activity recorded; the caller reads the table otherwise.
func (s *Store) fromCache(digest [32]byte, now time.Time) (Session, bool) {
	if s.policy.CacheFor < 0 {
		return Session{}, false
	}
	s.mu.Lock()
	c, ok := s.cached[digest]
	s.mu.Unlock()
	if !ok || now.Sub(c.read) >= s.policy.CacheFor || now.Before(c.read) || now.Sub(c.seen) >= s.policy.TouchEvery {
		return Session{}, false
	}
	expires := s.expiry(c.created, c.seen)
	if !now.Before(expires) {
		return Session{}, false
	}
	return Session{ID: c.id, Subject: c.subject, Role: c.role, CreatedAt: c.created, ExpiresAt: expires}, true
}

func (s *Store) generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// remember caches a session read from the table when no revocation began since gen.
func (s *Store) remember(digest [32]byte, c cachedSession, gen uint64) {
	if s.policy.CacheFor < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if len(s.cached) >= maxCached {
		for d, old := range s.cached {
			if c.read.Sub(old.read) >= s.policy.CacheFor {
				delete(s.cached, d)
			}
		}
		if len(s.cached) >= maxCached {
			return
		}
	}
	s.cached[digest] = c
}

// forget drops the cached sessions of digest, or of subject but the session keep. A revocation calls it before
// and after its write, so this process never answers from memory for a session it ended: a lookup that read the
// table before the write committed does not cache what it read (gen).
func (s *Store) forget(digest *[32]byte, subject, keep uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if digest != nil {
		delete(s.cached, *digest)
		return
	}
	for d, c := range s.cached {
		if c.subject == subject && c.id != keep {
			delete(s.cached, d)
		}
	}
}

// Migrate creates or upgrades the sessions table.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// Create stores a session opened now for subject, under the token's digest.
func (s *Store) Create(ctx context.Context, digest [32]byte, id, subject uuid.UUID, role string) (Session, error) {
	now := s.now().UTC()
	sess := Session{ID: id, Subject: subject, Role: role, CreatedAt: now, ExpiresAt: s.expiry(now, now)}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO session (digest, id, subject, role, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), digest[:], id.String(), subject.String(), role, now, now, now.Add(s.policy.Absolute))
	if err != nil {
		return Session{}, fmt.Errorf("sessions: create: %w", err)
	}
	return sess, nil
}

func (s *Store) expiry(created, lastSeen time.Time) time.Time {
	idle, abs := lastSeen.Add(s.policy.Idle), created.Add(s.policy.Absolute)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

type row struct {
	ID         string       `db:"id"`
	Subject    string       `db:"subject"`
	Role       string       `db:"role"`
	CreatedAt  time.Time    `db:"created_at"`
	LastSeenAt time.Time    `db:"last_seen_at"`
	RevokedAt  sql.NullTime `db:"revoked_at"`
}

// Lookup returns the live session of a token and records the activity (at most every TouchEvery).
func (s *Store) Lookup(ctx context.Context, token string) (Session, error) {
	d, err := credentials.ParseToken(token)
	if err != nil {
		return Session{}, ErrInvalid
	}
	now := s.now().UTC()
	if sess, ok := s.fromCache(d, now); ok {
		return sess, nil
	}
	gen := s.generation()
	digest := d[:]
	var r row
	err = s.db.Reader().GetContext(ctx, &r, s.db.Rebind(`SELECT id, subject, role, created_at, last_seen_at, revoked_at
		FROM session WHERE digest = ?`), digest)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrInvalid
	}
	if err != nil {
		return Session{}, failure.Wrap("sessions.Lookup", failure.Unavailable, err)
	}
	created, seen := r.CreatedAt.UTC(), r.LastSeenAt.UTC()
	if r.RevokedAt.Valid || !now.Before(s.expiry(created, seen)) {
		return Session{}, ErrInvalid
	}
	if now.Sub(seen) >= s.policy.TouchEvery {
		seen = now
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE session SET last_seen_at = ? WHERE digest = ? AND revoked_at IS NULL`),
			now, digest); err != nil {
			return Session{}, failure.Wrap("sessions.Lookup", failure.Unavailable, err)
		}
	}
	id, err1 := uuid.Parse(r.ID)
	subject, err2 := uuid.Parse(r.Subject)
	if err := errors.Join(err1, err2); err != nil {
		return Session{}, fmt.Errorf("sessions: corrupt row: %w", err)
	}
	s.remember(d, cachedSession{id: id, subject: subject, role: r.Role, created: created, seen: seen, read: now}, gen)
	return Session{ID: id, Subject: subject, Role: r.Role, CreatedAt: created, ExpiresAt: s.expiry(created, seen)}, nil
}

// Revoke ends the session of a token (logout). Revoking an unknown or ended session is not an error.
func (s *Store) Revoke(ctx context.Context, token string) error {
	d := credentials.DigestOf(token)
	s.forget(&d, uuid.Nil, uuid.Nil)
	defer s.forget(&d, uuid.Nil, uuid.Nil)
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE session SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL`),
		s.now().UTC(), d[:])
	return err
}

// RevokeAllFor ends every session of subject except the one with id keep (uuid.Nil: all), as a password change
// requires. It returns how many sessions it ended.
func (s *Store) RevokeAllFor(ctx context.Context, subject, keep uuid.UUID) (int64, error) {
	s.forget(nil, subject, keep)
	defer s.forget(nil, subject, keep)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE session SET revoked_at = ? WHERE subject = ? AND id <> ? AND revoked_at IS NULL`),
		s.now().UTC(), subject.String(), keep.String())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Purge deletes sessions whose absolute lifetime or revocation is at or before cutoff, so the table does not
// grow forever (an idle-expired session goes when its absolute lifetime ends).
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM session WHERE expires_at <= ? OR revoked_at <= ?`), cutoff.UTC(), cutoff.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// StatsCached is how many sessions the Store holds in memory (for tests and metrics).
func (s *Store) StatsCached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cached)
}
