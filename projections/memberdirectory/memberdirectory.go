// Package memberdirectory is the staff's member directory (GET /v1/staff/members?q= and /v1/staff/members/{id}): for
// every member, names, birth date, NIR, email, status and registration date, found by NIR or by name.
//
// Search by NIR never goes through the NIR in clear: the projection stores, in an indexed column, a keyed hash of
// the NIR body computed by a function injected at construction (cmd builds it on the server key, see
// adapters/keyedhash), and a search hashes the NIR typed with the same function. Without the key the index says
// nothing about anyone's NIR. The clear body is kept in a plain column only, for display to staff. Changing the
// key changes every hash: bump Version so the directory is rebuilt with the new one.
//
// Search by name goes through the folded words of each member's names (Fold: lower case, accents removed) kept in a
// table of their own, whose primary key answers "words starting with …" with a range scan.
//
// It folds the events of the member streams only ("member-<id>"); every other event is skipped. Rows keep the
// member stream's revision of the last event applied to them, and an event at or below it changes nothing.
//
// When the member's data is erased (member.DataErased), the entry's personal columns read event.ErasedText (the NIR
// key 0) and its lookups are gone: no NIR hash, no name words, empty sort keys, so that no search finds the member;
// a rebuild after the member's key is destroyed gives the same entry from the events decoded as erased (a NIR that
// reads event.ErasedText is never hashed). The rows hold personal data: never log them. Opening a member's data is
// recorded by the caller (an event on the memberaccess stream), not here: projections run no side effects.
package memberdirectory

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query ("memberdirectory",
// "memberdirectory_words").
const Name = "memberdirectory"

// Version is the current version of the projection. Bump it when the schema, the folding, the search words or the
// NIR hash (its key) change: the runner rebuilds the new version beside the live one and switches readers over once
// it has caught up.
//
//   - 2: the email and the lock are the member aggregate's fold (member.State): a password set by a
//     forgotten-password reset ends the lock here too, as it does for logins and in projections/accounts.
//   - 3: member.DataErased erases the entry's personal columns and its lookups (NIR hash, name words); an event
//     decoded as erased gives an entry no search finds.
const Version = 3

//go:embed migrations
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// NIRHash returns the keyed hash of a canonical 13-character NIR body, as stored in the directory's lookup column.
// It must be deterministic and keyed (an HMAC under the server key), and the same for the projection and its
// queries.
type NIRHash func(nirBody string) string

// Projection folds member events into one directory row per member and its search words. It is stateless and safe
// for concurrent use.
type Projection struct {
	projections.Meta
	hash NIRHash
}

// New returns the projection at its current Version. nirHash computes the lookup column (see NIRHash); New panics
// if it is nil, a wiring mistake.
func New(nirHash NIRHash) *Projection {
	if nirHash == nil {
		panic("memberdirectory: New needs a NIR hash function")
	}
	return &Projection{Meta: meta, hash: nirHash}
}

// row is a directory entry as stored.
type row struct {
	MemberID     uuid.UUID    `db:"member_id"` // TEXT: uuid scans from and writes as its canonical string
	LastName     string       `db:"last_name"`
	FirstName    string       `db:"first_name"`
	SearchName   string       `db:"search_name"`
	LastKey      string       `db:"last_key"`
	FirstKey     string       `db:"first_key"`
	BirthDate    string       `db:"birth_date"`
	NIR          string       `db:"nir"`
	NIRKey       int          `db:"nir_key"`
	NIRHash      string       `db:"nir_hash"`
	Email        string       `db:"email"`
	LockedUntil  sql.NullTime `db:"locked_until"`
	RegisteredAt time.Time    `db:"registered_at"`
	Revision     int64        `db:"revision"`
	LastPosition int64        `db:"last_position"`
}

var columns = []string{"member_id", "last_name", "first_name", "search_name", "last_key", "first_key", "birth_date",
	"nir", "nir_key", "nir_hash", "email", "locked_until", "registered_at", "revision", "last_position"}

func (r *row) values() []any {
	locked := r.LockedUntil
	if locked.Valid {
		locked.Time = locked.Time.UTC()
	}
	return []any{r.MemberID.String(), r.LastName, r.FirstName, r.SearchName, r.LastKey, r.FirstKey, r.BirthDate, r.NIR,
		r.NIRKey, r.NIRHash, r.Email, locked, r.RegisteredAt.UTC(), r.Revision, r.LastPosition}
}

// entry is a member's state while a batch is folded.
type entry struct {
	row          row
	state        member.State // the account as the domain folds it, loaded from the row's fields
	exists       bool
	changed      bool
	namesChanged bool
}

// Apply folds the batch member by member: each member's row is read once, the member's new events (above the row's
// revision) are applied in order, and the row is written back with an upsert guarded by the revision. Events that
// change nothing the directory shows (logins, password and address changes) are passed over without a write.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	return projections.StreamFold[*entry]{
		Keep:  shown,
		Load:  func(s event.StreamID) (*entry, error) { return load(ctx, tx, table, s.ID) },
		Fold:  p.apply,
		Write: func(en *entry) error { return write(ctx, tx, table, en) },
	}.Apply(batch)
}

// shown reports whether e is a member event that changes what the directory shows.
func shown(e event.Envelope) bool {
	if e.Stream.Category != member.Category {
		return false
	}
	switch e.Event.(type) {
	case member.Registered, member.EmailChanged, member.Locked, member.PasswordSet, member.DataErased:
		return true // what the directory shows (names, email, lock, erasure) moves only with these
	}
	return false
}

func load(ctx context.Context, tx *sqldb.Tx, table string, id uuid.UUID) (*entry, error) {
	en := &entry{}
	found, err := projections.GetRow(ctx, tx, &en.row, table, "member_id", id.String())
	if err != nil {
		return nil, fmt.Errorf("memberdirectory: read member-%s: %w", id, err)
	}
	if en.exists = found; found {
		en.state = member.State{Registered: true, LockedUntil: en.row.LockedUntil.Time}
		en.state.Identity.Email = en.row.Email
	}
	return en, nil
}

func (p *Projection) apply(en *entry, e event.Envelope) error {
	if en.exists && int64(e.Revision) <= en.row.Revision {
		return nil // applied already: a replay
	}
	if ev, ok := e.Event.(member.Registered); ok {
		en.row = row{
			MemberID: e.Stream.ID, LastName: ev.LastName, FirstName: ev.FirstName,
			SearchName: Fold(ev.LastName + " " + ev.FirstName), LastKey: Fold(ev.LastName), FirstKey: Fold(ev.FirstName),
			BirthDate: ev.BirthDate, NIR: ev.NIR, NIRKey: ev.Key, Email: ev.Email,
			RegisteredAt: e.Metadata.OccurredAt.UTC(),
		}
		if e.Erased || ev.NIR == event.ErasedText {
			en.row.erase() // decoded as erased: nothing to hash, no words to find it by
		} else {
			en.row.NIRHash = p.hash(ev.NIR)
		}
		en.exists, en.namesChanged = true, true
	}
	if after, _ := en.state.Apply(e.Event, e.Metadata.OccurredAt); after.Erased && !en.state.Erased && en.exists {
		// The member's data was erased (member.DataErased, as the domain folds it).
		en.state = after
		en.row.erase()
		en.state.Identity.Email = en.row.Email
		en.row.Revision, en.row.LastPosition = int64(e.Revision), int64(e.Position)
		en.changed, en.namesChanged = true, true
		return nil
	}
	// What the event does to the account (email, lock) is the domain's fold; the directory shows it. An event that
	// changes nothing shown (a password change that is not a reset) is passed over, as the other events are.
	before := en.state
	en.state, _ = en.state.Apply(e.Event, e.Metadata.OccurredAt)
	if _, registered := e.Event.(member.Registered); !registered && en.exists &&
		en.state.Identity.Email == before.Identity.Email && en.state.LockedUntil.Equal(before.LockedUntil) {
		return nil
	}
	en.row.Email, en.row.LockedUntil = en.state.Identity.Email, sql.NullTime{}
	if !en.state.LockedUntil.IsZero() {
		en.row.LockedUntil = sql.NullTime{Time: en.state.LockedUntil.UTC(), Valid: true}
	}
	if !en.exists {
		// The member aggregate opens every stream with Registered. No personal data in the message.
		return fmt.Errorf("memberdirectory: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type,
			member.TypeRegistered)
	}
	en.row.Revision, en.row.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// erase writes event.ErasedText over the entry's personal columns (see projections.Erase) and drops its lookups:
// the NIR hash and the sort keys are emptied, the NIR key is 0, and the folded names read event.ErasedText, which
// gives no search words (see words).
func (r *row) erase() {
	for _, s := range []*string{&r.LastName, &r.FirstName, &r.SearchName, &r.BirthDate, &r.Email} {
		*s = projections.Erase(*s)
	}
	// Every member has a NIR: it reads erased whatever the erased decoding gave, and marks the entry (erased).
	r.NIR, r.LastKey, r.FirstKey, r.NIRHash, r.NIRKey = event.ErasedText, "", "", "", 0
}

// erased reports whether the entry's data was erased (a NIR never reads event.ErasedText otherwise).
func (r *row) erased() bool { return r.NIR == event.ErasedText }

func write(ctx context.Context, tx *sqldb.Tx, table string, en *entry) error {
	if !en.changed {
		return nil
	}
	if err := projections.GuardedUpsert(table, []string{"member_id"}, columns, "revision").
		Exec(ctx, tx, en.row.values()...); err != nil {
		return fmt.Errorf("memberdirectory: %w", err)
	}
	if !en.namesChanged {
		return nil
	}
	wordsTable := table + "_words"
	if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+wordsTable+" WHERE member_id = ?"), en.row.MemberID.String()); err != nil {
		return fmt.Errorf("memberdirectory: replace words: %w", err)
	}
	var ws []string
	if !en.row.erased() { // an erased entry is found by no word
		ws = words(en.row.LastName, en.row.FirstName)
	}
	if len(ws) == 0 {
		return nil
	}
	rows := make([][]any, len(ws))
	for i, w := range ws {
		rows[i] = []any{w, en.row.MemberID.String()}
	}
	if _, err := sqldb.BulkInsert(ctx, tx, wordsTable, []string{"word", "member_id"}, rows,
		"ON CONFLICT (word, member_id) DO NOTHING"); err != nil {
		return fmt.Errorf("memberdirectory: write words: %w", err)
	}
	return nil
}
