package memberdirectory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Errors of the queries. Match with errors.Is.
var (
	// ErrNotFound is returned by Get for a member the directory does not know (yet).
	ErrNotFound = failure.New(failure.NotFound, "memberdirectory.not_found", "no member with this id")
	// ErrInvalidQuery is returned by Search for a query that is neither a name nor a whole NIR: empty, or digits
	// that are not 13 or 15 characters long. A NIR of the right length that does not validate comes back with the
	// domain/nir error instead (wrong key, impossible month, ...), which says what is wrong.
	ErrInvalidQuery = failure.New(failure.Invalid, "memberdirectory.invalid_query",
		"query is neither a name nor a whole NIR")
)

// Search limits.
const (
	// DefaultLimit is the number of entries Search returns when asked for 0 or fewer.
	DefaultLimit = 50
	// MaxLimit is the most entries Search returns; a larger limit is lowered to it.
	MaxLimit = 50
)

// Status is what a member's account allows now.
type Status string

// The statuses.
const (
	StatusActive Status = "active"
	// StatusLocked: logins are suspended until Entry.LockedUntil, after repeated failures.
	StatusLocked Status = "locked"
)

// Entry is a member as the directory shows it to staff. Personal data: never logged.
type Entry struct {
	MemberID  uuid.UUID `json:"member_id"`
	LastName  string    `json:"last_name"`
	FirstName string    `json:"first_name"`
	// SearchName is the folded full name, last name first (see Fold).
	SearchName string `json:"search_name"`
	BirthDate  string `json:"birth_date"` // YYYY-MM-DD
	NIR        string `json:"nir"`        // canonical 13-character body
	NIRKey     int    `json:"nir_key"`
	Email      string `json:"email"`
	Status     Status `json:"status"`
	// LockedUntil is set only while Status is StatusLocked.
	LockedUntil  *time.Time `json:"locked_until,omitempty"`
	RegisteredAt time.Time  `json:"registered_at"`
	// Revision is the member stream's revision of the last event the entry reflects.
	Revision uint64 `json:"revision"`
}

// Queries reads the live version of the directory through its views. On SQLite it uses the read-only pool.
type Queries struct {
	db   *sqlx.DB
	hash NIRHash
	now  func() time.Time
}

// NewQueries returns the queries over db. nirHash must be the function the projection was built with (a search by
// NIR looks up its hash); now decides whether a lock still holds (nil: time.Now). NewQueries panics if nirHash is
// nil, a wiring mistake.
func NewQueries(db *sqldb.DB, nirHash NIRHash, now func() time.Time) *Queries {
	if nirHash == nil {
		panic("memberdirectory: NewQueries needs a NIR hash function")
	}
	if now == nil {
		now = time.Now
	}
	return &Queries{db: db.Reader(), hash: nirHash, now: now}
}

const selectEntry = "SELECT d.member_id, d.last_name, d.first_name, d.search_name, d.last_key, d.first_key, " +
	"d.birth_date, d.nir, d.nir_key, d.nir_hash, d.email, d.locked_until, d.registered_at, d.revision, " +
	"d.last_position FROM " + Name + " d"

// Get returns the entry of memberID, or an error wrapping ErrNotFound.
func (q *Queries) Get(ctx context.Context, memberID uuid.UUID) (Entry, error) {
	var r row
	err := sqlx.GetContext(ctx, q.db, &r, q.db.Rebind(selectEntry+" WHERE d.member_id = ?"), memberID.String())
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("memberdirectory: member-%s: %w", memberID, ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("memberdirectory: get member-%s: %w", memberID, err)
	}
	return q.entry(r), nil
}

// Search returns up to limit members (see DefaultLimit and MaxLimit) matching query, ordered by folded last name,
// first name, then id:
//
//   - a query holding digits is a NIR: 15 characters with the key or 13 without (spaces, dots and dashes
//     ignored), matched exactly through its keyed hash. A NIR that does not validate is an error (the domain/nir
//     sentinel, or ErrInvalidQuery for a wrong length): names hold no digits, so a name search could only come
//     back empty, and the caseworker is better told the number is mistyped;
//   - otherwise every word of the query, folded, must start a word of the member's folded names: "dup jea" finds
//     Jean-Marie Dupont, and so do "DUPONT" and "jean-marie"; accents and case do not matter.
//
// An empty query is ErrInvalidQuery: the directory is not listed whole.
func (q *Queries) Search(ctx context.Context, query string, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	n, isNIR, err := parseNIR(query)
	if err != nil {
		return nil, fmt.Errorf("memberdirectory: search: %w", err)
	}
	var rows []row
	if isNIR {
		err = sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(selectEntry+
			" WHERE d.nir_hash = ? ORDER BY d.last_key, d.first_key, d.member_id LIMIT ?"), q.hash(n.Body()), limit)
	} else {
		ws := parts(query)
		if len(ws) == 0 {
			return nil, fmt.Errorf("memberdirectory: search: %w", ErrInvalidQuery)
		}
		// Each word narrows the members to those with a name word in [word, word + the highest rune): a range scan
		// of the words table's primary key per word.
		var where []string
		var args []any
		for _, w := range ws {
			where = append(where, "d.member_id IN (SELECT w.member_id FROM "+Name+"_words w WHERE w.word >= ? AND w.word < ?)")
			args = append(args, w, w+string(utf8.MaxRune))
		}
		args = append(args, limit)
		err = sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(selectEntry+" WHERE "+strings.Join(where, " AND ")+
			" ORDER BY d.last_key, d.first_key, d.member_id LIMIT ?"), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("memberdirectory: search: %w", err)
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = q.entry(r)
	}
	return out, nil
}

// parseNIR tells whether query is meant as a NIR (it holds a digit) and, if so, parses it in its 15- or
// 13-character form.
func parseNIR(query string) (nir.NIR, bool, error) {
	if !strings.ContainsFunc(query, unicode.IsDigit) {
		return nir.NIR{}, false, nil
	}
	full, errFull := nir.Parse(query)
	if errFull == nil {
		return full, true, nil
	}
	login, errLogin := nir.ParseLogin(query)
	if errLogin == nil {
		return login, true, nil
	}
	switch {
	case !errors.Is(errFull, nir.ErrLength):
		return nir.NIR{}, false, errFull // 15 characters: what is wrong with them
	case !errors.Is(errLogin, nir.ErrLoginLength):
		return nir.NIR{}, false, errLogin
	}
	return nir.NIR{}, false, ErrInvalidQuery
}

func (q *Queries) entry(r row) Entry {
	e := Entry{
		MemberID: r.MemberID, LastName: r.LastName, FirstName: r.FirstName, SearchName: r.SearchName,
		BirthDate: r.BirthDate, NIR: r.NIR, NIRKey: r.NIRKey, Email: r.Email, Status: StatusActive,
		RegisteredAt: r.RegisteredAt.UTC(), Revision: uint64(r.Revision),
	}
	if r.LockedUntil.Valid && q.now().Before(r.LockedUntil.Time) {
		until := r.LockedUntil.Time.UTC()
		e.Status, e.LockedUntil = StatusLocked, &until
	}
	return e
}
