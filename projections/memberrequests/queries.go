package memberrequests

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/catalog"
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
	// ImplicitDecisionOn is the last day (YYYY-MM-DD in TimeZone) of the administration's silence, and
	// ImplicitDecisionAt the instant it ends (00:00 of the next day in TimeZone): from then silence is a decision
	// meaning ImplicitOutcome (acceptance or rejection). Both follow the legal clock (CRPA L114-5): while information
	// is awaited they are as of the read (the period starts again when the pieces arrive under acceptance; it is
	// suspended by the time used under rejection). Empty once the request is closed: no implicit decision arises
	// from a closed request. Empty too when ImplicitOutcome is "none": silence decides nothing on a document
	// delivered by right or a declaration.
	ImplicitDecisionOn string     `json:"implicit_decision_on,omitempty"`
	ImplicitDecisionAt *time.Time `json:"implicit_decision_at,omitempty"`
	ImplicitOutcome    string     `json:"implicit_outcome"`
	TimeZone           string     `json:"time_zone"`
	// ServiceInCharge is the service handling the request, as the acknowledgement of receipt named it (R112-5 2°);
	// absent for requests acknowledged before it was recorded.
	ServiceInCharge *sr.ServiceInCharge `json:"service_in_charge,omitempty"`
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
	// Author is who took the decision (CRPA L212-1: name and position); absent for decisions recorded before it was.
	Author *Author `json:"author,omitempty"`
	// Appeal is how to contest a rejection, and by when; absent for an approval.
	Appeal *Appeal `json:"appeal,omitempty"`
}

// Author is the name and position (qualité) of a decision's author, as the decision states them.
type Author struct {
	Name     string `json:"name"`
	Position string `json:"position"`
}

// Appeal is what a rejection tells the member of their appeal routes (délais et voies de recours).
//
// The time to seize the CRA runs from the decision's notification (R142-1), which is the member's first opening of
// the decision letter in their inbox, or 15 days after the letter was made available when never opened
// (projections/memberdocuments). The read model of requests does not hold it: the HTTP layer joins the letter at
// read time (Notify). Until the letter is notified, Notification is "pending", NotifiedAt and the deadline are null,
// and LetterAvailableAt / DeemedNotifiedAt say when the letter was made available and when it will be deemed
// notified (both null while the letter is not published yet).
type Appeal struct {
	// Routes are the appeal routes of the request's service in its catalog version, in French.
	Routes []string `json:"routes"`
	// Notification is "pending", "opened" (the first opening) or "deemed" (15 days after availability).
	Notification      string     `json:"notification"`
	LetterAvailableAt *time.Time `json:"letter_available_at"`
	DeemedNotifiedAt  *time.Time `json:"deemed_notified_at"`
	// NotifiedAt is the decision's notification, from which the time to appeal runs.
	NotifiedAt *time.Time `json:"notified_at"`
	// CRADeadlineOn is the last day (YYYY-MM-DD in the request's TimeZone) to seize the commission de recours
	// amiable: the notification + 2 months (R142-1); CRADeadlineAt the instant it ends (00:00 of the next day).
	CRADeadlineOn *string    `json:"cra_deadline_on"`
	CRADeadlineAt *time.Time `json:"cra_deadline_at"`
}

// Notification values of an Appeal.
const (
	NotificationPending = "pending"
	NotificationOpened  = "opened"
	NotificationDeemed  = "deemed"
)

// Letter is what the member's inbox knows of a decision letter: when it was made available, when it is deemed
// notified if never opened, and its notification (nil before; Deemed when it was not an opening).
type Letter struct {
	AvailableAt time.Time
	DeemedAt    time.Time
	NotifiedAt  *time.Time
	Deemed      bool
}

// Notify sets the notification of req's appeal from its decision letter (nil: not published yet, still pending).
// A request without an appeal (no rejection) is left as it is.
func (req *Request) Notify(letter *Letter) error {
	if req.Decision == nil || req.Decision.Appeal == nil || letter == nil {
		return nil
	}
	a := req.Decision.Appeal
	available, deemed := letter.AvailableAt.UTC(), letter.DeemedAt.UTC()
	a.LetterAvailableAt, a.DeemedNotifiedAt = &available, &deemed
	if letter.NotifiedAt == nil {
		return nil
	}
	loc, err := time.LoadLocation(req.TimeZone)
	if err != nil {
		return fmt.Errorf("memberrequests: %s: time zone %q: %w", req.ID, req.TimeZone, err)
	}
	notified := letter.NotifiedAt.UTC()
	last := sr.AppealDeadline(notified, loc)
	on, at := requestclock.Day(last), sr.EndOfDay(last)
	a.NotifiedAt, a.CRADeadlineOn, a.CRADeadlineAt = &notified, &on, &at
	a.Notification = NotificationOpened
	if letter.Deemed {
		a.Notification = NotificationDeemed
	}
	return nil
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

// selectRequest reads what a request's view needs (toRequest), in the order of (*row).scan: not the fold's
// bookkeeping (last_position), and the clock only while a pause runs (the dates are then as of the read; otherwise
// the stored day is the answer and the clock, a few hundred bytes, is not copied out).
const selectRequest = "SELECT r.request_id, r.member_id, r.reference, r.service_code, r.catalog_version, r.status, " +
	"r.received_at, r.implicit_decision_on, r.silence_outcome, r.time_zone, r.paused_since, r.expected_items, " +
	"r.expected_deadline, r.decision, r.decision_reason, r.decided_at, r.closed_reason, r.closed_at, " +
	"CASE WHEN r.paused_since IS NULL THEN '' ELSE r.clock END, r.revision, r.service_in_charge, r.author_name, " +
	"r.author_position FROM " + Name + " r"

// scan reads a row of selectRequest into r. It names the fields itself: the list is the members' most frequent
// read, and sqlx's mapping by reflection was a tenth of its cost.
func (r *row) scan(s interface{ Scan(...any) error }) error {
	return s.Scan(&r.RequestID, &r.MemberID, &r.Reference, &r.ServiceCode, &r.CatalogVersion, &r.Status,
		&r.ReceivedAt, &r.ImplicitDecisionOn, &r.SilenceOutcome, &r.TimeZone, &r.PausedSince, &r.ExpectedItems,
		&r.ExpectedDeadline, &r.Decision, &r.DecisionReason, &r.DecidedAt, &r.ClosedReason, &r.ClosedAt, &r.Clock,
		&r.Revision, &r.ServiceInCharge, &r.AuthorName, &r.AuthorPosition)
}

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
	rows, err := q.db.QueryContext(ctx, q.db.Rebind(selectRequest+
		" WHERE "+where+" ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?"), append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("memberrequests: list: %w", err)
	}
	defer func() { _ = rows.Close() }()
	now := q.now()
	out := make([]Request, 0, min(n, 64))
	for rows.Next() {
		var r row
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("memberrequests: list: %w", err)
		}
		req, err := toRequest(r, now)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memberrequests: list: %w", err)
	}
	return out, nil
}

// Get returns memberID's request requestID, or an error wrapping ErrNotFound (also when it is another member's).
func (q *Queries) Get(ctx context.Context, memberID, requestID uuid.UUID) (Request, error) {
	var r row
	err := r.scan(q.db.QueryRowContext(ctx, q.db.Rebind(selectRequest+" WHERE r.request_id = ? AND r.member_id = ?"),
		requestID.String(), memberID.String()))
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
	loc, err := requestclock.Location(r.TimeZone)
	if err != nil {
		return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
	}
	if r.ServiceInCharge != "" {
		s, err := servicesInCharge.decode(r.ServiceInCharge)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: service in charge: %w", sr.StreamID(r.RequestID), err)
		}
		req.ServiceInCharge = &s
	}
	if r.DecidedAt.Valid {
		d, err := decision(r, loc)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
		}
		req.Decision = d
	}
	switch {
	case r.ClosedAt.Valid:
		t := r.ClosedAt.Time.UTC()
		req.ClosedAt, req.ImplicitDecisionOn = &t, ""
	case r.PausedSince.Valid && r.ImplicitDecisionOn != "":
		state, err := requestclock.Unmarshal(r.Clock)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: clock: %w", sr.StreamID(r.RequestID), err)
		}
		c, err := state.AsOf(now)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
		}
		req.ImplicitDecisionOn = requestclock.Day(c.ImplicitDecisionOn)
	}
	if req.ImplicitDecisionOn != "" {
		day, err := requestclock.ParseDay(req.ImplicitDecisionOn, loc)
		if err != nil {
			return Request{}, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(r.RequestID), err)
		}
		at := sr.EndOfDay(day)
		req.ImplicitDecisionAt = &at
	}
	return req, nil
}

// decision is the express decision of r as the member is told it: with its author (L212-1) and, for a rejection,
// its appeal routes (those of the request's catalog version) and the deadline to seize the CRA.
func decision(r row, loc *time.Location) (*Decision, error) {
	d := &Decision{Outcome: sr.Decision(r.Decision), Reason: r.DecisionReason, DecidedAt: r.DecidedAt.Time.UTC()}
	if r.AuthorName != "" || r.AuthorPosition != "" {
		d.Author = &Author{Name: r.AuthorName, Position: r.AuthorPosition}
	}
	if d.Outcome != sr.Rejected {
		return d, nil
	}
	c, err := catalog.Load(r.CatalogVersion)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", r.CatalogVersion, err)
	}
	svc, err := c.Lookup(r.ServiceCode)
	if err != nil {
		return nil, fmt.Errorf("catalog %s, service %s: %w", r.CatalogVersion, r.ServiceCode, err)
	}
	// Pending until the decision letter is notified (Request.Notify, at read time).
	d.Appeal = &Appeal{Routes: append([]string{}, svc.AppealRoutes...), Notification: NotificationPending}
	return d, nil
}

// servicesInCharge remembers the decoded services in charge: a handful of distinct values (one per service of a
// catalog version) repeated on every row of every list, whose JSON decoding was a twentieth of a list's cost.
var servicesInCharge = inChargeCache{max: 1024}

// inChargeCache maps the stored JSON of a service in charge to its decoded value, up to max entries (further
// values are decoded each time).
type inChargeCache struct {
	max  int
	mu   sync.RWMutex
	byJS map[string]sr.ServiceInCharge
}

func (c *inChargeCache) decode(js string) (sr.ServiceInCharge, error) {
	c.mu.RLock()
	s, ok := c.byJS[js]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		return sr.ServiceInCharge{}, err
	}
	c.mu.Lock()
	if c.byJS == nil {
		c.byJS = make(map[string]sr.ServiceInCharge)
	}
	if len(c.byJS) < c.max {
		c.byJS[js] = s
	}
	c.mu.Unlock()
	return s, nil
}
