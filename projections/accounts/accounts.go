// Package accounts is the member's account as the portal reads it (GET /v1/me): identity (NIR, names, birth date),
// contact details (email, mobile phone, postal address in force and the one to come), the email change waiting for
// its code, the account's status (active, or locked until a time) and its dates (registered, last logins, password
// changed).
//
// It folds the events of the member streams ("member-<id>") only; every other event of the log is skipped. Each row
// keeps the member stream's last revision applied, and an event whose revision is not above it changes nothing, so
// a replayed batch, a rebuild over existing rows or the same event twice leaves the rows as one pass would.
//
// What depends on the day of the read is decided when reading, never when applying (the runner may apply the same
// history at any time): which postal address is in force (the latest whose effective date has come, in France),
// whether the account is still locked, whether a pending email change has expired. Queries take a clock for that.
// What the member aggregate decides from the events alone is decided here the same way: the wrong code that uses up
// the attempts (the verdict recorded in EmailChangeRejected) voids the pending email change, and a password reset
// ends the login lock. A PasswordRehashed (the same password under new hashing parameters) is no password change.
//
// The rows hold personal data (the member's own): never log them. When the member's data is erased
// (member.DataErased), every personal column of the account and of its addresses reads event.ErasedText (the NIR key
// 0) from then on; a rebuild after the member's key is destroyed reads the same from the events themselves.
package accounts

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query ("accounts",
// "accounts_addresses").
const Name = "accounts"

// Version is the current version of the projection. Bump it when the schema or the folding changes: the runner
// rebuilds the new version beside the live one and switches readers over once it has caught up.
//
//   - 2: the wrong code that uses up the attempts voids the pending email change (it no longer shows), and a
//     password set by a forgotten-password reset ends the login lock, as the member aggregate decides.
//
// Reading the verdict recorded in EmailChangeRejected (and falling back to the current policy for events without
// one) needed no new version: every stored event reads as version 2 read it.
//
//   - 3: member.DataErased erases the member's personal columns (identity, contact, pending email, addresses), and
//     an event decoded as erased (its key destroyed) never fails the fold.
const Version = 3

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds member events into one account row per member plus its postal addresses. It is stateless and
// safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// row is an account as stored.
type row struct {
	MemberID              string       `db:"member_id"`
	NIR                   string       `db:"nir"`
	NIRKey                int          `db:"nir_key"`
	LastName              string       `db:"last_name"`
	FirstName             string       `db:"first_name"`
	BirthDate             string       `db:"birth_date"`
	Email                 string       `db:"email"`
	MobilePhone           string       `db:"mobile_phone"`
	PendingEmail          string       `db:"pending_email"`
	PendingEmailExpiresAt sql.NullTime `db:"pending_email_expires_at"`
	LockedUntil           sql.NullTime `db:"locked_until"`
	RegisteredAt          time.Time    `db:"registered_at"`
	LastLoginAt           sql.NullTime `db:"last_login_at"`
	PreviousLoginAt       sql.NullTime `db:"previous_login_at"`
	PasswordChangedAt     sql.NullTime `db:"password_changed_at"`
	Revision              int64        `db:"revision"`
	LastPosition          int64        `db:"last_position"`
}

// columns of the account table, in the order of row's fields.
var columns = []string{"member_id", "nir", "nir_key", "last_name", "first_name", "birth_date", "email",
	"mobile_phone", "pending_email", "pending_email_expires_at", "locked_until", "registered_at", "last_login_at",
	"previous_login_at", "password_changed_at", "revision", "last_position"}

func (r *row) values() []any {
	return []any{r.MemberID, r.NIR, r.NIRKey, r.LastName, r.FirstName, r.BirthDate, r.Email, r.MobilePhone,
		r.PendingEmail, utcNull(r.PendingEmailExpiresAt), utcNull(r.LockedUntil), r.RegisteredAt.UTC(),
		utcNull(r.LastLoginAt), utcNull(r.PreviousLoginAt), utcNull(r.PasswordChangedAt), r.Revision, r.LastPosition}
}

var addressColumns = []string{"member_id", "effective_from", "line1", "line2", "postal_code", "city", "country",
	"revision"}

// account is a member's state while a batch is folded.
type account struct {
	row     row
	state   member.State // the account as the domain folds it, loaded from the row's fields
	exists  bool         // the row is in the table, or a Registered event of this batch created it
	changed bool
	// addresses are the address changes of the batch, in order.
	addresses []addressChange
	// erased: the batch erased the member's data; write erases the stored addresses too.
	erased bool
}

type addressChange struct {
	revision int64
	a        member.AddressChanged
}

// Apply folds the batch, member by member: it reads each member's row once, applies the member's new events to it
// in order (those at or below the row's revision are skipped) and writes it back with an upsert guarded by the
// revision.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	return projections.StreamFold[*account]{
		Keep:  func(e event.Envelope) bool { return e.Stream.Category == member.Category },
		Load:  func(s event.StreamID) (*account, error) { return load(ctx, tx, table, s.ID) },
		Fold:  (*account).apply,
		Write: func(acc *account) error { return p.write(ctx, tx, table, acc) },
	}.Apply(batch)
}

// load reads a member's row inside the batch's transaction.
func load(ctx context.Context, tx *sqldb.Tx, table string, id uuid.UUID) (*account, error) {
	acc := &account{}
	found, err := projections.GetRow(ctx, tx, &acc.row, table, "member_id", id.String())
	if err != nil {
		return nil, fmt.Errorf("accounts: read member-%s: %w", id, err)
	}
	if acc.exists = found; found {
		acc.state = acc.row.state()
	}
	return acc, nil
}

// state loads the stored fields of an account into the domain's state: what its fold reads to move the row.
func (r *row) state() member.State {
	s := member.State{Registered: true, LastLogin: r.LastLoginAt.Time, LockedUntil: r.LockedUntil.Time}
	s.Identity.Email, s.Identity.MobilePhone = r.Email, r.MobilePhone
	if r.PendingEmail != "" {
		s.EmailChangeOpen = true
		s.EmailChange.NewEmail, s.EmailChange.ExpiresAt = r.PendingEmail, r.PendingEmailExpiresAt.Time
	}
	return s
}

// apply folds one event of the member's stream, unless the row holds it already (a replay). Events that change
// nothing shown (a failed login, a logout, a wrong confirmation code) still move the revision, so that the row says
// how far the stream was read.
func (acc *account) apply(e event.Envelope) error {
	if acc.exists && int64(e.Revision) <= acc.row.Revision {
		return nil // applied already: a replay
	}
	at := sql.NullTime{Time: e.Metadata.OccurredAt.UTC(), Valid: true}
	if reg, ok := e.Event.(member.Registered); ok {
		acc.row = row{
			MemberID: e.Stream.ID.String(), NIR: reg.NIR, NIRKey: reg.Key, LastName: reg.LastName,
			FirstName: reg.FirstName, BirthDate: reg.BirthDate, Email: reg.Email, MobilePhone: reg.MobilePhone,
			RegisteredAt: at.Time,
		}
		acc.exists = true
	} else if !acc.exists {
		// The member aggregate opens every stream with Registered: anything else first is a bug to look at, not
		// a row to invent. No personal data in the message: stream, revision and type only.
		return fmt.Errorf("accounts: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, member.TypeRegistered)
	}
	// What the event does to the account is the domain's fold; this projection only decides what its row shows.
	after, _ := acc.state.Apply(e.Event, e.Metadata.OccurredAt)
	acc.state = after
	acc.row.Email, acc.row.MobilePhone = after.Identity.Email, after.Identity.MobilePhone
	acc.row.LockedUntil = sql.NullTime{}
	if !after.LockedUntil.IsZero() {
		acc.row.LockedUntil = sql.NullTime{Time: after.LockedUntil.UTC(), Valid: true}
	}
	// A change whose attempts are used up is void (member.State.EmailChangeVoid): for rejections recorded before
	// verdicts existed, the current code policy decides from the attempt number, as the aggregate does.
	acc.row.PendingEmail, acc.row.PendingEmailExpiresAt = "", sql.NullTime{}
	if after.EmailChangeOpen && !after.EmailChangeVoid(credential.CurrentCodePolicy()) {
		acc.row.PendingEmail = after.EmailChange.NewEmail
		acc.row.PendingEmailExpiresAt = sql.NullTime{Time: after.EmailChange.ExpiresAt.UTC(), Valid: true}
	}
	switch ev := e.Event.(type) {
	case member.PasswordSet:
		acc.row.PasswordChangedAt = at
	case member.LoggedIn:
		acc.row.PreviousLoginAt, acc.row.LastLoginAt = acc.row.LastLoginAt, at
	case member.AddressChanged:
		if _, err := time.Parse(time.DateOnly, ev.EffectiveFrom); err != nil {
			if e.Erased {
				break // an erased address whose date cannot be read either: nothing of it to show
			}
			return fmt.Errorf("accounts: %s revision %d: effective date is not YYYY-MM-DD", e.Stream, e.Revision)
		}
		acc.addresses = append(acc.addresses, addressChange{revision: int64(e.Revision), a: ev})
	}
	if after.Erased { // the member's data was erased (member.DataErased): the addresses too, once written
		acc.row.erase()
		acc.erased = true
	}
	acc.row.Revision, acc.row.LastPosition = int64(e.Revision), int64(e.Position)
	acc.changed = true
	return nil
}

// erase writes event.ErasedText over the personal columns of the account (see projections.Erase); the NIR key,
// a number, becomes 0.
func (r *row) erase() {
	for _, s := range []*string{&r.NIR, &r.LastName, &r.FirstName, &r.BirthDate, &r.Email, &r.MobilePhone,
		&r.PendingEmail} {
		*s = projections.Erase(*s)
	}
	r.NIRKey = 0
}

// write stores a member's row and address changes.
func (p *Projection) write(ctx context.Context, tx *sqldb.Tx, table string, acc *account) error {
	if !acc.changed {
		return nil
	}
	if err := projections.GuardedUpsert(table, []string{"member_id"}, columns, "revision").
		Exec(ctx, tx, acc.row.values()...); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	addresses := table + "_addresses"
	for _, c := range acc.addresses {
		// A change recorded later speaks for every day from its effective date on: it replaces the addresses
		// planned from that date (a member who planned a move for September and then for August moves in August).
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+addresses+" WHERE member_id = ? AND effective_from >= ?"),
			acc.row.MemberID, c.a.EffectiveFrom); err != nil {
			return fmt.Errorf("accounts: replace addresses: %w", err)
		}
		if err := projections.GuardedUpsert(addresses, []string{"member_id", "effective_from"}, addressColumns, "revision").
			Exec(ctx, tx, acc.row.MemberID, c.a.EffectiveFrom, c.a.Line1, c.a.Line2, c.a.PostalCode, c.a.City,
				c.a.Country, c.revision); err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
	}
	if acc.erased {
		if err := eraseAddresses(ctx, tx, addresses, acc.row.MemberID); err != nil {
			return err
		}
	}
	return nil
}

// eraseAddresses writes event.ErasedText over the texts of every address of a member (their effective dates, dates
// of facts, stay). Writing it again changes nothing.
func eraseAddresses(ctx context.Context, tx *sqldb.Tx, table, memberID string) error {
	set := make([]string, 0, 5)
	args := make([]any, 0, 6)
	for _, c := range []string{"line1", "line2", "postal_code", "city", "country"} {
		set = append(set, c+" = CASE WHEN "+c+" = '' THEN '' ELSE ? END")
		args = append(args, event.ErasedText)
	}
	args = append(args, memberID)
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+table+" SET "+strings.Join(set, ", ")+" WHERE member_id = ?"),
		args...); err != nil {
		return fmt.Errorf("accounts: erase addresses: %w", err)
	}
	return nil
}

func utcNull(t sql.NullTime) sql.NullTime {
	if t.Valid {
		t.Time = t.Time.UTC()
	}
	return t
}
