package auditstreams

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// Errors of the look-ups: a member or a case the projection has not seen (yet).
var (
	ErrMemberNotFound = failure.New(failure.NotFound, "audit.member_not_found", "no such member")
	ErrCaseNotFound   = failure.New(failure.NotFound, "audit.case_not_found", "no such case")
)

// Stream is what the projection knows of one stream.
type Stream struct {
	Stream        string  `db:"stream"`
	Category      string  `db:"category"`
	Subject       string  `db:"subject"`
	MemberID      *string `db:"member_id"`
	CaseID        *string `db:"case_id"`
	FirstPosition uint64  `db:"first_position"`
	LastPosition  uint64  `db:"last_position"`
}

// Queries reads the live version of the projection (the read-only pool on SQLite).
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

const selectStream = "SELECT stream, category, subject, member_id, case_id, first_position, last_position FROM " + Name

// MemberStreams returns every stream of member id, by first position: those whose subject is the member, those an
// event links to the member, and those of the member's cases (their reference claims). ErrMemberNotFound when the
// member has no account stream.
func (q *Queries) MemberStreams(ctx context.Context, id uuid.UUID) ([]Stream, error) {
	m := id.String()
	var out []Stream
	if err := sqlx.SelectContext(ctx, q.db, &out, q.db.Rebind(selectStream+
		" WHERE subject = ? OR member_id = ? OR case_id IN (SELECT case_id FROM "+Name+
		" WHERE subject = ? AND category = ? AND case_id IS NOT NULL) ORDER BY first_position"),
		m, m, m, servicerequest.Category); err != nil {
		return nil, fmt.Errorf("auditstreams: member streams: %w", err)
	}
	account := member.Category + "-" + m
	for _, s := range out {
		if s.Stream == account {
			return out, nil
		}
	}
	return nil, ErrMemberNotFound
}

// CaseStreams returns the streams of case id (its request stream first) and the member whose case it is.
// ErrCaseNotFound when the case has no request stream.
func (q *Queries) CaseStreams(ctx context.Context, id uuid.UUID) ([]Stream, uuid.UUID, error) {
	var out []Stream
	if err := sqlx.SelectContext(ctx, q.db, &out, q.db.Rebind(selectStream+" WHERE case_id = ? ORDER BY first_position"),
		id.String()); err != nil {
		return nil, uuid.Nil, fmt.Errorf("auditstreams: case streams: %w", err)
	}
	request := servicerequest.Category + "-" + id.String()
	for _, s := range out {
		if s.Stream == request {
			m, err := uuid.Parse(s.Subject)
			if err != nil {
				return nil, uuid.Nil, fmt.Errorf("auditstreams: case %s: subject: %w", id, err)
			}
			return out, m, nil
		}
	}
	return nil, uuid.Nil, ErrCaseNotFound
}

// Get returns the row of one stream (ErrNotFound-like sql.ErrNoRows wrapped when unknown), for tests and tools.
func (q *Queries) Get(ctx context.Context, stream string) (Stream, error) {
	var s Stream
	err := sqlx.GetContext(ctx, q.db, &s, q.db.Rebind(selectStream+" WHERE stream = ?"), stream)
	if errors.Is(err, sql.ErrNoRows) {
		return Stream{}, fmt.Errorf("auditstreams: %s: %w", stream, sql.ErrNoRows)
	}
	return s, err
}

// Visible returns list without the streams of the cases caseVisible refuses (a confidential case outside the
// medical service, a case not in the queues yet); streams of no case stay. caseVisible is asked once per case. The
// HTTP histories and `dossier audit export` decide through it, with casequeues.Queries.Visible.
func Visible(list []Stream, caseVisible func(caseID uuid.UUID) (bool, error)) ([]Stream, error) {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if s.CaseID != nil {
			ok, known := seen[*s.CaseID]
			if !known {
				id, err := uuid.Parse(*s.CaseID)
				if err != nil {
					return nil, fmt.Errorf("auditstreams: case id %q: %w", *s.CaseID, err)
				}
				if ok, err = caseVisible(id); err != nil {
					return nil, err
				}
				seen[*s.CaseID] = ok
			}
			if !ok {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}
