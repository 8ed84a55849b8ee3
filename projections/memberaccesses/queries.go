package memberaccesses

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
)

// Page sizes: DefaultLimit openings when the caller names none, at most MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ErrInvalidPage refuses a limit outside 1..MaxLimit, or a cursor that is not one this package gave.
var ErrInvalidPage = failure.New(failure.Invalid, "memberaccesses.invalid_page", "invalid page of accesses")

// Access is one opening of the member's data by a staff member, as the member reads it: when, in which capacity
// (the role, and its French name), for what (the view, which item of it when the event names one: the reference of
// the request for a case file, and its French label, "Consultation de votre demande MSA-2026-…"). Never who.
type Access struct {
	OpenedAt     time.Time `json:"opened_at"`
	Role         string    `json:"role"`
	RoleLabel    string    `json:"role_label"`
	Purpose      string    `json:"purpose"`
	Subject      string    `json:"subject,omitempty"`
	PurposeLabel string    `json:"purpose_label"`
}

// Page is one page of a member's access log, the newest opening first. Before, when set, is the cursor of the next
// (older) page: pass it back as Query.Before.
type Page struct {
	Accesses []Access `json:"accesses"`
	Before   *uint64  `json:"next_before,omitempty"`
	// Next is the same cursor by the paging convention (projections.EncodeCursor), "" on the last page.
	Next string `json:"-"`
}

// Query selects a page: openings older than Before (a cursor from a previous Page; nil: from the newest), or than
// the opaque cursor After (a Page's Next), at most Limit of them (0: DefaultLimit).
type Query struct {
	Before *uint64
	After  string
	Limit  int
}

// CursorOf returns the paging convention's cursor of a Before value.
func CursorOf(before uint64) string { return projections.EncodeCursor(strconv.FormatUint(before, 10)) }

// Queries reads the live version of the projection, through its view. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// List returns a page of memberID's access log, the newest first (in the order of the member's access stream, which
// is the order the openings were recorded in). A member with no opening gets an empty list.
func (q *Queries) List(ctx context.Context, memberID uuid.UUID, in Query) (Page, error) {
	limit := in.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return Page{}, ErrInvalidPage
	}
	where, args := "member_id = ?", []any{memberID.String()}
	if in.After != "" {
		parts, err := projections.DecodeCursor(in.After, 1)
		if err != nil {
			return Page{}, err
		}
		b, err := strconv.ParseUint(parts[0], 10, 63)
		if err != nil {
			return Page{}, projections.ErrInvalidCursor
		}
		in.Before = &b
	}
	if in.Before != nil {
		where += " AND revision < ?"
		args = append(args, int64(*in.Before))
	}
	var rows []struct {
		Revision int64     `db:"revision"`
		OpenedAt time.Time `db:"opened_at"`
		Role     string    `db:"role"`
		What     string    `db:"what"`
		Subject  string    `db:"subject"`
	}
	// One row more than the page, to know whether an older page exists.
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT revision, opened_at, role, what, subject FROM "+Name+
		" WHERE "+where+" ORDER BY revision DESC LIMIT ?"), append(args, limit+1)...); err != nil {
		return Page{}, fmt.Errorf("memberaccesses: list: %w", err)
	}
	page := Page{Accesses: make([]Access, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			next := uint64(rows[i-1].Revision)
			page.Before, page.Next = &next, CursorOf(next)
			break
		}
		page.Accesses = append(page.Accesses, Access{OpenedAt: r.OpenedAt.UTC(), Role: r.Role,
			RoleLabel: staff.AccessRoleLabel(r.Role), Purpose: r.What, Subject: r.Subject, PurposeLabel: staff.AccessPurposeLabelOf(r.What, r.Subject)})
	}
	return page, nil
}
