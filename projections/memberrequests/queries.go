package memberrequests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/requestclock"
)

// ErrNotFound is returned by Get for a request that does not exist (yet) or is not the member's: a
// member never learns that another member's request exists. Match with errors.Is.
var ErrNotFound = failure.New(failure.NotFound, "memberrequests.not_found", "request not found")

// MaxList is the most requests List returns, newest first.
const MaxList = 500

// Request is one of the member's requests as the portal shows it.
type Request struct {
	ID             uuid.UUID `json:"id"`
	MemberID       uuid.UUID `json:"member_id"`
	Reference      string    `json:"reference"`
	ServiceCode    string    `json:"service_code"`
	CatalogVersion string    `json:"catalog_version"`
	Status         Status    `json:"status"`
	ReceivedAt     time.Time `json:"received_at"`
	// ImplicitDecisionOn is the day (YYYY-MM-DD in TimeZone) the administration's silence becomes a decision meaning
	// ImplicitOutcome (acceptance or rejection), moved by the pauses; while information is awaited, as of the read.
	// Empty once the request is closed: no implicit decision arises from a closed request. Empty too when
	// ImplicitOutcome is "none": silence decides nothing on a document delivered by right or a declaration.
	ImplicitDecisionOn string `json:"implicit_decision_on,omitempty"`
	ImplicitOutcome    string `json:"implicit_outcome"`
	TimeZone           string `json:"time_zone"`
	// Expected is what the member is asked for, while it is awaited.
	Expected *Expected `json:"expected,omitempty"`
	// Decision is the express decision, once taken.
	Decision *Decision `json:"decision,omitempty"`
	// ClosedReason (decided, withdrawn, lapsed) and ClosedAt are set once the request is closed.
	ClosedReason string     `json:"closed_reason,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	// Revision is the request stream's revision of the last event the view reflects.
	Revision uint64 `json:"revision"`
}

// Expected is what a caseworker asked the member for, and by when (after Deadline the request lapses).
type Expected struct {
	Items    []string  `json:"items"`
	Deadline time.Time `json:"deadline"`
}

// Decision is an express decision.
type Decision struct {
	Outcome   sr.Decision `json:"outcome"` // approved or rejected
	Reason    string      `json:"reason,omitempty"`
	DecidedAt time.Time   `json:"decided_at"`
}

// Queries reads the live version of the member's requests through its view. On SQLite it uses the read-only pool.
type Queries struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewQueries returns the queries over db; now dates the running pauses (nil: time.Now).
func NewQueries(db *sqldb.DB, now func() time.Time) *Queries {
	if now == nil {
		now = time.Now
	}
	return &Queries{db: db.Reader(), now: now}
}

const selectRequest = "SELECT r.request_id, r.member_id, r.reference, r.service_code, r.catalog_version, r.status, " +
	"r.received_at, r.implicit_decision_on, r.silence_outcome, r.time_zone, r.paused_since, r.expected_items, " +
	"r.expected_deadline, r.decision, r.decision_reason, r.decided_at, r.closed_reason, r.closed_at, r.clock, " +
	"r.revision, r.last_position FROM " + Name + " r"

// List returns memberID's requests, newest first (MaxList at most).
func (q *Queries) List(ctx context.Context, memberID uuid.UUID) ([]Request, error) {
	return q.list(ctx, memberID, "", MaxList)
}

// Page returns a page of memberID's requests, newest first, by the paging convention (projections.Page; 50 when
// p.Limit is 0, MaxList at most), and the cursor of the next page ("" after the last).
func (q *Queries) Page(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Request, string, error) {
	n := min(p.Limit1(50)-1, MaxList)
	reqs, err := q.list(ctx, memberID, p.After, n+1)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(reqs, projections.Page{Limit: n}, n, func(r Request) string {
		return projections.EncodeCursor(r.ReceivedAt.UTC().Format(time.RFC3339Nano), r.ID.String())
	})
	return page, next, nil
}

// list reads n of memberID's requests, newest first, after the cursor after ("": from the newest).
func (q *Queries) list(ctx context.Context, memberID uuid.UUID, after string, n int) ([]Request, error) {
	where, args := "r.member_id = ?", []any{memberID.String()}
	if after != "" {
		parts, err := projections.DecodeCursor(after, 2)
		if err != nil {
			return nil, err
		}
		received, terr := time.Parse(time.RFC3339Nano, parts[0])
		id, uerr := uuid.Parse(parts[1])
		if terr != nil || uerr != nil {
			return nil, projections.ErrInvalidCursor
		}
		// Newest first: the rows before the cursor's in (received_at, request_id) order.
		where += " AND (r.received_at, r.request_id) < (?, ?)"
		args = append(args, received.UTC(), id.String())
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(selectRequest+
		" WHERE "+where+" ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?"), append(args, n)...); err != nil {
		return nil, fmt.Errorf("memberrequests: list: %w", err)
	}
	now := q.now()
	out := make([]Request, len(rows))
	for i, r := range rows {
		req, err := toRequest(r, now)
		if err != nil {
			return nil, err
		}
		out[i] = req
	}
	return out, nil
}

// Get returns memberID's request requestID, or an error wrapping ErrNotFound (also when it is another member's).
func (q *Queries) Get(ctx context.Context, memberID, requestID uuid.UUID) (Request, error) {
	var r row
	err := sqlx.GetContext(ctx, q.db, &r, q.db.Rebind(selectRequest+" WHERE r.request_id = ? AND r.member_id = ?"),
		requestID.String(), memberID.String())
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(requestID), ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("memberrequests: get %s: %w", sr.StreamID(requestID), err)
	}
	return toRequest(r, q.now())
}

func toRequest(r row, now time.Time) (Request, error) {
	req := Request{
		ID: r.RequestID, MemberID: r.MemberID, Reference: r.Reference, ServiceCode: r.ServiceCode,
		CatalogVersion: r.CatalogVersion, Status: Status(r.Status), ReceivedAt: r.ReceivedAt.UTC(),
		ImplicitDecisionOn: r.ImplicitDecisionOn, ImplicitOutcome: r.SilenceOutcome, TimeZone: r.TimeZone,
		ClosedReason: r.ClosedReason, Revision: uint64(r.Revision),
	}
	if r.ExpectedDeadline.Valid {
		e := &Expected{Deadline: r.ExpectedDeadline.Time.UTC()}
		if err := json.Unmarshal([]byte(r.ExpectedItems), &e.Items); err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: expected items: %w", sr.StreamID(r.RequestID), err)
		}
		req.Expected = e
	}
	if r.DecidedAt.Valid {
		req.Decision = &Decision{Outcome: sr.Decision(r.Decision), Reason: r.DecisionReason,
			DecidedAt: r.DecidedAt.Time.UTC()}
	}
	switch {
	case r.ClosedAt.Valid:
		t := r.ClosedAt.Time.UTC()
		req.ClosedAt, req.ImplicitDecisionOn = &t, ""
	case r.PausedSince.Valid && r.ImplicitDecisionOn != "":
		loc, err := requestclock.Location(r.TimeZone)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
		}
		implicit, err := requestclock.ParseDay(r.ImplicitDecisionOn, loc)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
		}
		lc := sr.LegalClock{DueAt: implicit, ImplicitDecisionAt: implicit, Paused: true, PausedSince: r.PausedSince.Time}
		_, projected := lc.Projected(now)
		req.ImplicitDecisionOn = requestclock.Day(projected)
	}
	return req, nil
}
