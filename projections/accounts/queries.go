package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database (a scratch container)

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrNotFound is returned by Get for a member the projection has not seen (yet).
var ErrNotFound = failure.New(failure.NotFound, "account.not_found", "account not found")

// Status is what the account allows now.
type Status string

// The statuses.
const (
	// StatusActive: the member may log in.
	StatusActive Status = "active"
	// StatusLocked: logins are suspended until Account.LockedUntil, after repeated failures.
	StatusLocked Status = "locked"
)

// Address is a postal address and the day it takes effect.
type Address struct {
	Line1         string `json:"line1"`
	Line2         string `json:"line2,omitempty"`
	PostalCode    string `json:"postal_code"`
	City          string `json:"city"`
	Country       string `json:"country"`
	EffectiveFrom string `json:"effective_from"` // YYYY-MM-DD
}

// PendingEmail is an email change waiting for the code sent to the new address. The code is never here.
type PendingEmail struct {
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Account is the member's account as the portal shows it. Personal data: the member's own, never logged.
type Account struct {
	MemberID    uuid.UUID `json:"member_id"`
	NIR         string    `json:"nir"`     // canonical 13-character body
	NIRKey      int       `json:"nir_key"` // 1-97
	LastName    string    `json:"last_name"`
	FirstName   string    `json:"first_name"`
	BirthDate   string    `json:"birth_date"` // YYYY-MM-DD
	Email       string    `json:"email"`
	MobilePhone string    `json:"mobile_phone,omitempty"` // E.164
	// Address is the postal address in force on the day of the read (nil before the first one takes effect).
	Address *Address `json:"address,omitempty"`
	// ScheduledAddress is the next address to take effect after that day, if one is planned.
	ScheduledAddress *Address `json:"scheduled_address,omitempty"`
	// PendingEmail is the email change awaiting confirmation, until its code expires.
	PendingEmail *PendingEmail `json:"pending_email,omitempty"`
	Status       Status        `json:"status"`
	// LockedUntil is when logins open again; set only while Status is StatusLocked.
	LockedUntil  *time.Time `json:"locked_until,omitempty"`
	RegisteredAt time.Time  `json:"registered_at"`
	// LastLoginAt is the latest login (the current session's, right after logging in); PreviousLoginAt the one
	// before it, what "your last visit" shows.
	LastLoginAt       *time.Time `json:"last_login_at,omitempty"`
	PreviousLoginAt   *time.Time `json:"previous_login_at,omitempty"`
	PasswordChangedAt *time.Time `json:"password_changed_at,omitempty"`
	// Revision is the member stream's last revision the account reflects: an ETag for If-Match.
	Revision uint64 `json:"revision"`
	// Position is the global position of that event.
	Position uint64 `json:"position"`
}

// Queries reads the live version of the projection, through its views. On SQLite it uses the read-only pool, so a
// read never waits behind the runner's batch.
type Queries struct {
	db    *sqlx.DB
	now   func() time.Time
	paris *time.Location
}

// NewQueries returns the queries over db. now is the clock that decides which address is in force, whether a lock
// still holds and whether a pending email change has expired; nil means time.Now.
func NewQueries(db *sqldb.DB, now func() time.Time) *Queries {
	if now == nil {
		now = time.Now
	}
	return &Queries{db: db.Reader(), now: now, paris: paris()}
}

// paris is the time zone of the fund: an address "effective from" a date takes effect at midnight in France.
func paris() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600) // unreachable with time/tzdata linked in
	}
	return loc
}

// joined is an account row with one of its addresses (none: the address columns are null).
type joined struct {
	row
	EffectiveFrom sql.NullString `db:"addr_effective_from"`
	Line1         sql.NullString `db:"addr_line1"`
	Line2         sql.NullString `db:"addr_line2"`
	PostalCode    sql.NullString `db:"addr_postal_code"`
	City          sql.NullString `db:"addr_city"`
	Country       sql.NullString `db:"addr_country"`
}

// One statement, hence one snapshot: the account and its addresses always agree.
const selectAccount = "SELECT a.*, d.effective_from AS addr_effective_from, d.line1 AS addr_line1, " +
	"d.line2 AS addr_line2, d.postal_code AS addr_postal_code, d.city AS addr_city, d.country AS addr_country " +
	"FROM " + Name + " a LEFT JOIN " + Name + "_addresses d ON d.member_id = a.member_id " +
	"WHERE a.member_id = ? ORDER BY d.effective_from"

// Get returns the account of memberID as it stands now (see NewQueries), or an error wrapping ErrNotFound.
func (q *Queries) Get(ctx context.Context, memberID uuid.UUID) (Account, error) {
	var rows []joined
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(selectAccount), memberID.String()); err != nil {
		return Account{}, fmt.Errorf("accounts: get member-%s: %w", memberID, err)
	}
	if len(rows) == 0 {
		return Account{}, fmt.Errorf("accounts: member-%s: %w", memberID, ErrNotFound)
	}
	now := q.now()
	r := rows[0].row
	a := Account{
		MemberID: memberID, NIR: r.NIR, NIRKey: r.NIRKey, LastName: r.LastName, FirstName: r.FirstName,
		BirthDate: r.BirthDate, Email: r.Email, MobilePhone: r.MobilePhone, Status: StatusActive,
		RegisteredAt: r.RegisteredAt.UTC(), LastLoginAt: timePtr(r.LastLoginAt),
		PreviousLoginAt: timePtr(r.PreviousLoginAt), PasswordChangedAt: timePtr(r.PasswordChangedAt),
		Revision: uint64(r.Revision), Position: uint64(r.LastPosition),
	}
	if r.LockedUntil.Valid && now.Before(r.LockedUntil.Time) {
		a.Status, a.LockedUntil = StatusLocked, timePtr(r.LockedUntil)
	}
	if r.PendingEmail != "" && r.PendingEmailExpiresAt.Valid && now.Before(r.PendingEmailExpiresAt.Time) {
		a.PendingEmail = &PendingEmail{Email: r.PendingEmail, ExpiresAt: r.PendingEmailExpiresAt.Time.UTC()}
	}
	// Rows come by effective date: the address in force is the last one whose date has come, the scheduled one
	// the first after it.
	today := now.In(q.paris).Format(time.DateOnly)
	for _, j := range rows {
		if !j.EffectiveFrom.Valid {
			continue
		}
		addr := &Address{Line1: j.Line1.String, Line2: j.Line2.String, PostalCode: j.PostalCode.String,
			City: j.City.String, Country: j.Country.String, EffectiveFrom: j.EffectiveFrom.String}
		if addr.EffectiveFrom <= today {
			a.Address = addr
		} else if a.ScheduledAddress == nil {
			a.ScheduledAddress = addr
		}
	}
	return a, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
