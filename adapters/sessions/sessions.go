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
}

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
}

// Session is a live session.
type Session struct {
	ID        uuid.UUID // recorded in the login event; never the token
	Subject   uuid.UUID // member or staff id
	Role      string    // "member", "caseworker", …
	CreatedAt time.Time
	ExpiresAt time.Time // the earlier of idle and absolute expiry, as of now
}

// Store keeps sessions in the read-model database.
type Store struct {
	db     *sqldb.DB
	policy Policy
	now    func() time.Time
}

// New returns a store; Migrate must have run.
func New(db *sqldb.DB, policy Policy, now func() time.Time) *Store {
	policy.setDefaults()
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, policy: policy, now: now}
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
	now := s.now().UTC()
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
	return Session{ID: id, Subject: subject, Role: r.Role, CreatedAt: created, ExpiresAt: s.expiry(created, seen)}, nil
}

func digestOf(token string) []byte {
	d := credentials.DigestOf(token)
	return d[:]
}

// Revoke ends the session of a token (logout). Revoking an unknown or ended session is not an error.
func (s *Store) Revoke(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE session SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL`),
		s.now().UTC(), digestOf(token))
	return err
}

// RevokeAllFor ends every session of subject except the one with id keep (uuid.Nil: all), as a password change
// requires. It returns how many sessions it ended.
func (s *Store) RevokeAllFor(ctx context.Context, subject, keep uuid.UUID) (int64, error) {
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
