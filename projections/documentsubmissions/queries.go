package documentsubmissions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/failure"
)

// The paging of the lists (the style of /v1/me/accesses: ?limit=, ?before= the previous page's next_before).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ErrInvalidPage: a limit outside 1..MaxLimit or a malformed cursor.
var ErrInvalidPage = failure.New(failure.Invalid, "documentsubmissions.invalid_page", "invalid limit or cursor")

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

// Page is one page of deposits, the newest first; NextBefore, when set, asks for the next (older) page.
type Page struct {
	Deposits   []Deposit `json:"deposits"`
	NextBefore *int64    `json:"next_before,omitempty"`
}

// Query is a page request.
type Query struct {
	Limit  int
	Before *int64
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

func (q *Queries) page(ctx context.Context, where string, args []any, in Query) (Page, error) {
	limit := in.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit || (in.Before != nil && *in.Before < 0) {
		return Page{}, ErrInvalidPage
	}
	order := "seq DESC"
	if in.Before != nil {
		where += " AND seq < ?"
		args = append(args, *in.Before)
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+" WHERE "+where+
		" ORDER BY "+order+" LIMIT ?"), append(args, limit+1)...); err != nil {
		return Page{}, fmt.Errorf("documentsubmissions: list: %w", err)
	}
	page := Page{Deposits: make([]Deposit, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			next := rows[i-1].Seq
			page.NextBefore = &next
			break
		}
		d, err := r.view()
		if err != nil {
			return Page{}, err
		}
		page.Deposits = append(page.Deposits, d)
	}
	return page, nil
}

// List returns one page of member memberID's deposits, the newest first.
func (q *Queries) List(ctx context.Context, memberID uuid.UUID, in Query) (Page, error) {
	return q.page(ctx, "member_id = ?", []any{memberID.String()}, in)
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

// Intake returns the deposits waiting in the intake queue ("d'autres documents"), the oldest first.
func (q *Queries) Intake(ctx context.Context, limit int) ([]Deposit, error) {
	if limit <= 0 || limit > MaxLimit {
		return nil, ErrInvalidPage
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+
		" WHERE disposition = 'intake' ORDER BY submitted_at, submission_id LIMIT ?"), limit); err != nil {
		return nil, fmt.Errorf("documentsubmissions: intake: %w", err)
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

// OfCase returns the deposits in case caseID's file (answers to its information requests, its supporting documents,
// deposits attached to it), the oldest first.
func (q *Queries) OfCase(ctx context.Context, caseID uuid.UUID) ([]Deposit, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+
		" WHERE case_id = ? ORDER BY submitted_at, submission_id"), caseID.String()); err != nil {
		return nil, fmt.Errorf("documentsubmissions: of case: %w", err)
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
	out := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	var found []string
	query := "SELECT blob_key FROM " + Name + "_files WHERE blob_key IN (?" + strings.Repeat(",?", len(keys)-1) + ")"
	if err := sqlx.SelectContext(ctx, q.db, &found, q.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("documentsubmissions: referenced: %w", err)
	}
	for _, k := range found {
		out[k] = true
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
