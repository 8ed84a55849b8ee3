package documentsubmissions

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/blobrefs"
)

// The paging of the lists (projections.Page, the API contract's convention): DefaultLimit rows when the page names
// no limit, MaxLimit at most.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ErrNotFound: no such deposit among the member's (or the case's).
var ErrNotFound = failure.New(failure.NotFound, "documentsubmissions.not_found", "no such deposit")

// Deposit is a deposit as the API shows it.
type Deposit struct {
	ID           uuid.UUID  `json:"id"`
	MemberID     uuid.UUID  `json:"-"`
	Reference    string     `json:"reference"`
	Subject      string     `json:"subject"`
	RequestID    *uuid.UUID `json:"request_id,omitempty"`
	ListsVersion string     `json:"lists_version"`
	Status       string     `json:"status"`
	Disposition  string     `json:"disposition"`
	CaseID       *uuid.UUID `json:"case_id,omitempty"`
	SubmittedAt  time.Time  `json:"submitted_at"`
	AttestedAt   time.Time  `json:"attested_at"`
	RegisteredAt *time.Time `json:"registered_at,omitempty"`
	Documents    []Document `json:"documents"`
	seq          int64
}

// StoredFile is a file of a deposit as the blob store keeps it.
type StoredFile struct {
	BlobKey      string    `db:"blob_key"`
	SubmissionID uuid.UUID `db:"-"`
	MemberID     uuid.UUID `db:"-"`
	Document     int       `db:"document_index"`
	File         int       `db:"file_index"`
	Type         string    `db:"media_type"`
	Size         int64     `db:"size"`
}

// Queries reads the live version of the projection. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

func optionalID(s string) *uuid.UUID {
	id := parseID(s)
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func (r row) view() (Deposit, error) {
	var docs []Document
	if err := json.Unmarshal([]byte(r.Documents), &docs); err != nil {
		return Deposit{}, fmt.Errorf("documentsubmissions: documents of %s: %w", r.SubmissionID, err)
	}
	d := Deposit{ID: parseID(r.SubmissionID), MemberID: parseID(r.MemberID), Reference: r.Reference, Subject: r.Subject,
		RequestID: optionalID(r.RequestID), ListsVersion: r.ListsVersion, Status: r.Status, Disposition: r.Disposition,
		CaseID: optionalID(r.CaseID), SubmittedAt: r.SubmittedAt.UTC(), AttestedAt: r.AttestedAt.UTC(), Documents: docs,
		seq: r.Seq}
	if r.RegisteredAt != nil {
		t := r.RegisteredAt.UTC()
		d.RegisteredAt = &t
	}
	return d, nil
}

// read reads the deposits matching where, in order, n of them at most (0: all).
func (q *Queries) read(ctx context.Context, what, where string, args []any, order string, n int) ([]Deposit, error) {
	sql := "SELECT * FROM " + Name + " WHERE " + where + " ORDER BY " + order
	if n > 0 {
		sql += " LIMIT ?"
		args = append(args, n)
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(sql), args...); err != nil {
		return nil, fmt.Errorf("documentsubmissions: %s: %w", what, err)
	}
	out := make([]Deposit, 0, len(rows))
	for _, r := range rows {
		d, err := r.view()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// pageSize is the number of rows of page p: DefaultLimit for none, MaxLimit at most.
func pageSize(p projections.Page) int { return min(p.Limit1(DefaultLimit)-1, MaxLimit) }

// List returns a page of member memberID's deposits, the newest first (in the order of the member's stream), and the
// cursor of the next page ("" after the last). A cursor no page gave is projections.ErrInvalidCursor.
func (q *Queries) List(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Deposit, string, error) {
	n := pageSize(p)
	where, args := "member_id = ?", []any{memberID.String()}
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, 1)
		if err != nil {
			return nil, "", err
		}
		seq, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil || seq < 0 {
			return nil, "", projections.ErrInvalidCursor
		}
		where, args = where+" AND seq < ?", append(args, seq)
	}
	list, err := q.read(ctx, "list", where, args, "seq DESC", n+1)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(list, projections.Page{Limit: n}, n, func(d Deposit) string {
		return projections.EncodeCursor(strconv.FormatInt(d.seq, 10))
	})
	return page, next, nil
}

// oldestFirst returns a page of the deposits matching where, the oldest first by (submitted_at, submission_id), and
// the cursor of the next page.
func (q *Queries) oldestFirst(ctx context.Context, what, where string, args []any, p projections.Page) ([]Deposit, string, error) {
	n := pageSize(p)
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, 2)
		if err != nil {
			return nil, "", err
		}
		at, terr := time.Parse(time.RFC3339Nano, key[0])
		id, uerr := uuid.Parse(key[1])
		if terr != nil || uerr != nil {
			return nil, "", projections.ErrInvalidCursor
		}
		where += " AND (submitted_at, submission_id) > (?, ?)"
		args = append(args, usec(at), id.String())
	}
	list, err := q.read(ctx, what, where, args, "submitted_at, submission_id", n+1)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(list, projections.Page{Limit: n}, n, func(d Deposit) string {
		return projections.EncodeCursor(d.SubmittedAt.UTC().Format(time.RFC3339Nano), d.ID.String())
	})
	return page, next, nil
}

// Get returns deposit id of member memberID; another member's is ErrNotFound.
func (q *Queries) Get(ctx context.Context, memberID, id uuid.UUID) (Deposit, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+
		" WHERE submission_id = ? AND member_id = ?"), id.String(), memberID.String()); err != nil {
		return Deposit{}, fmt.Errorf("documentsubmissions: get: %w", err)
	}
	if len(rows) == 0 {
		return Deposit{}, ErrNotFound
	}
	return rows[0].view()
}

// Intake returns a page of the deposits waiting in the intake queue ("d'autres documents"), the oldest first, and
// the cursor of the next page ("" after the last).
func (q *Queries) Intake(ctx context.Context, p projections.Page) ([]Deposit, string, error) {
	return q.oldestFirst(ctx, "intake", "disposition = 'intake'", nil, p)
}

// ByID returns deposit id whoever its member is (staff reads; the caller checks access).
func (q *Queries) ByID(ctx context.Context, id uuid.UUID) (Deposit, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+" WHERE submission_id = ?"),
		id.String()); err != nil {
		return Deposit{}, fmt.Errorf("documentsubmissions: by id: %w", err)
	}
	if len(rows) == 0 {
		return Deposit{}, ErrNotFound
	}
	return rows[0].view()
}

// OfCase returns all the deposits in case caseID's file (answers to its information requests, its supporting
// documents, deposits attached to it), the oldest first.
func (q *Queries) OfCase(ctx context.Context, caseID uuid.UUID) ([]Deposit, error) {
	return q.read(ctx, "of case", "case_id = ?", []any{caseID.String()}, "submitted_at, submission_id", 0)
}

// CasePage returns a page of the deposits in case caseID's file, the oldest first, and the cursor of the next page
// ("" after the last).
func (q *Queries) CasePage(ctx context.Context, caseID uuid.UUID, p projections.Page) ([]Deposit, string, error) {
	return q.oldestFirst(ctx, "of case", "case_id = ?", []any{caseID.String()}, p)
}

// File returns file (document i, file j) of deposit submissionID.
func (q *Queries) File(ctx context.Context, submissionID uuid.UUID, i, j int) (StoredFile, error) {
	var rows []struct {
		StoredFile
		Submission string `db:"submission_id"`
		Member     string `db:"member_id"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+"_files"+
		" WHERE submission_id = ? AND document_index = ? AND file_index = ?"), submissionID.String(), i, j); err != nil {
		return StoredFile{}, fmt.Errorf("documentsubmissions: file: %w", err)
	}
	if len(rows) == 0 {
		return StoredFile{}, ErrNotFound
	}
	f := rows[0].StoredFile
	f.SubmissionID, f.MemberID = parseID(rows[0].Submission), parseID(rows[0].Member)
	return f, nil
}

// Referenced reports which of keys a recorded deposit references (the blob sweeper's question).
func (q *Queries) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out, err := blobrefs.In(ctx, q.db, Name+"_files", keys)
	if err != nil {
		return nil, fmt.Errorf("documentsubmissions: referenced: %w", err)
	}
	return out, nil
}

// FromDeposit is the API's view of a deposit as the fold holds it (a command's answer, before the read model has it).
func FromDeposit(memberID uuid.UUID, d document.Deposit) Deposit {
	out := Deposit{ID: d.SubmissionID, MemberID: memberID, Reference: d.Reference, Subject: d.Subject,
		RequestID: optionalID(idText(d.RequestID)), ListsVersion: d.ListsVersion, Status: d.Status,
		Disposition: d.Disposition, CaseID: optionalID(idText(d.CaseID)), SubmittedAt: usec(d.SubmittedAt),
		AttestedAt: usec(d.AttestedAt), Documents: documentsOf(d.Submitted)}
	if !d.RegisteredAt.IsZero() {
		t := usec(d.RegisteredAt)
		out.RegisteredAt = &t
	}
	return out
}
