package casequeues

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/requestclock"
)

// Errors of the queries. Match with errors.Is.
var (
	// ErrNotFound is returned by Get for a request the queues do not know (yet).
	ErrNotFound = failure.New(failure.NotFound, "casequeues.not_found", "case not found")
	// ErrInvalidCursor is returned by List for an After that no listing returned (the paging convention's
	// projections.ErrInvalidCursor).
	ErrInvalidCursor = projections.ErrInvalidCursor
)

// Listing limits.
const (
	// DefaultLimit is the number of cases List returns when asked for 0 or fewer.
	DefaultLimit = 50
	// MaxLimit is the most cases List returns; a larger limit is lowered to it.
	MaxLimit = 200
	// MaxMine is the most cases Mine returns (a caseworker holds far fewer).
	MaxMine = 1000
	// MaxCandidates is the most ids NextCandidates returns.
	MaxCandidates = 100
)

// Case is an open (or, from Get only, closed) case as a caseworker's queue shows it.
type Case struct {
	RequestID   uuid.UUID `json:"request_id"`
	Reference   string    `json:"reference"`
	Queue       string    `json:"queue"`
	ServiceCode string    `json:"service_code"`
	// Status is queued, claimed or awaiting_information; closed from Get only.
	Status sr.Status `json:"status"`
	// Assignee is the caseworker who holds the case (nil: unclaimed).
	Assignee   *uuid.UUID `json:"assignee_id"`
	ReceivedAt time.Time  `json:"received_at"`
	// DueOn is the day of the fund's handling target and ImplicitDecisionOn the day silence becomes a decision
	// (SilenceOutcome), both YYYY-MM-DD in TimeZone and moved by the pauses; while information is awaited
	// (AwaitingSince set) they are as of the read: the running pause counts up to today. ImplicitDecisionOn is
	// empty (omitted) when silence decides nothing (SilenceOutcome "none": a document delivered by right, a
	// declaration).
	DueOn              string `json:"due_on"`
	ImplicitDecisionOn string `json:"implicit_decision_on,omitempty"`
	// DueAt and ImplicitDecisionAt are the instants these days end (00:00 of the next day in TimeZone,
	// servicerequest.EndOfDay): when the target is missed and when silence becomes a decision.
	DueAt              time.Time  `json:"due_at"`
	ImplicitDecisionAt *time.Time `json:"implicit_decision_at,omitempty"`
	SilenceOutcome     string     `json:"silence_outcome"`
	TimeZone           string     `json:"time_zone"`
	AwaitingSince      *time.Time `json:"awaiting_since,omitempty"`
	// AgeSeconds is the time since receipt at the read, in whole seconds (the API's unit of durations).
	AgeSeconds int64 `json:"age_seconds"`
	// Breached is true once the day DueOn has ended (never for a closed case).
	Breached bool `json:"breached"`
	// ClosedAt and CloseReason are set for a closed case (Get only).
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	CloseReason string     `json:"close_reason,omitempty"`
	// Revision is the request stream's revision of the last event the case reflects: its ETag.
	Revision uint64 `json:"revision"`
	// Cursor is the case's place in its queue's order: pass it as Filter.After for the page after it.
	Cursor string `json:"-"`
}

// Filter narrows and pages List.
type Filter struct {
	// Assignee keeps the cases of this caseworker only.
	Assignee *uuid.UUID
	// Limit is the page size (see DefaultLimit and MaxLimit).
	Limit int
	// After is the Cursor of the last case of the previous page ("" for the first page).
	After string
}

// QueueStats are a queue's figures.
type QueueStats struct {
	Queue string `json:"queue"`
	// Open counts the open cases; Claimed and AwaitingInformation those in these statuses (the rest are queued).
	Open                int `json:"open"`
	Claimed             int `json:"claimed"`
	AwaitingInformation int `json:"awaiting_information"`
	// Oldest is the receipt of the oldest open case (zero when the queue is empty).
	Oldest time.Time `json:"oldest_received_at"`
	// Breaches counts the open cases past their handling target at the read.
	Breaches int `json:"breaches"`
}

// Queries reads the live version of the queues through their view. On SQLite it uses the read-only pool.
type Queries struct {
	db      *sqlx.DB
	dialect sqldb.Dialect
	now     func() time.Time
}

// NewQueries returns the queries over db; now is the clock of ages, breaches and running pauses (nil: time.Now).
func NewQueries(db *sqldb.DB, now func() time.Time) *Queries {
	if now == nil {
		now = time.Now
	}
	return &Queries{db: db.Reader(), dialect: db.Dialect(), now: now}
}

// caseRow is what the listings read (row embeds it); Clock is what servicerequest.Clock needs, for the dates as of
// the read of a paused case.
type caseRow struct {
	RequestID          uuid.UUID     `db:"request_id"`
	Reference          string        `db:"reference"`
	Queue              string        `db:"queue"`
	ServiceCode        string        `db:"service_code"`
	Status             string        `db:"status"`
	Assignee           uuid.NullUUID `db:"assignee"`
	ReceivedAt         time.Time     `db:"received_at"`
	DueOn              string        `db:"due_on"`
	ImplicitDecisionOn string        `db:"implicit_decision_on"`
	SilenceOutcome     string        `db:"silence_outcome"`
	TimeZone           string        `db:"time_zone"`
	PausedSince        sql.NullTime  `db:"paused_since"`
	BreachAt           sql.NullTime  `db:"breach_at"`
	ClosedAt           sql.NullTime  `db:"closed_at"`
	CloseReason        string        `db:"close_reason"`
	Revision           int64         `db:"revision"`
	Clock              string        `db:"clock"`
}

const selectCase = "SELECT c.request_id, c.reference, c.queue, c.service_code, c.status, c.assignee, c.received_at, " +
	"c.due_on, c.implicit_decision_on, c.silence_outcome, c.time_zone, c.paused_since, c.breach_at, c.closed_at, " +
	"c.close_reason, c.revision, c.clock FROM " + Name + " c"

// order is the queues' order; open repeats the partial indexes' condition, which the planners need to use them.
const (
	order = " ORDER BY c.due_on, c.received_at, c.request_id"
	open  = "c.closed_at IS NULL"
)

// Get returns the case of requestID, open or closed, or an error wrapping ErrNotFound. A request submitted but not
// yet queued is not found.
func (q *Queries) Get(ctx context.Context, requestID uuid.UUID) (Case, error) {
	var r caseRow
	err := sqlx.GetContext(ctx, q.db, &r, q.db.Rebind(selectCase+" WHERE c.request_id = ? AND c.queue <> ''"),
		requestID.String())
	if errors.Is(err, sql.ErrNoRows) {
		return Case{}, fmt.Errorf("casequeues: %s: %w", sr.StreamID(requestID), ErrNotFound)
	}
	if err != nil {
		return Case{}, fmt.Errorf("casequeues: get %s: %w", sr.StreamID(requestID), err)
	}
	return q.toCase(r, q.now())
}

// Visible reports whether the case of requestID is in a queue check admits (check returns nil: QueueAccess.CaseCheck
// of the caller); a case not in the queues yet is not visible (fail closed).
func (q *Queries) Visible(ctx context.Context, requestID uuid.UUID, check func(queue string) error) (bool, error) {
	c, err := q.Get(ctx, requestID)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return check(c.Queue) == nil, nil
}

// List returns a page of the open cases of queue, by due date, then receipt, then id (see Filter).
func (q *Queries) List(ctx context.Context, queue string, f Filter) ([]Case, error) {
	return q.listQueue(ctx, queue, f, pageSize(f.Limit))
}

// Page is List by the paging convention (projections.Page): at most f.Limit cases (DefaultLimit for 0, MaxLimit at
// most) and the cursor of the next page, "" after the last case.
func (q *Queries) Page(ctx context.Context, queue string, f Filter) ([]Case, string, error) {
	n := pageSize(f.Limit)
	cases, err := q.listQueue(ctx, queue, f, n+1)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(cases, projections.Page{Limit: n}, n, func(c Case) string { return c.Cursor })
	return page, next, nil
}

// pageSize is the number of cases a listing asked for limit returns.
func pageSize(limit int) int {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return min(limit, MaxLimit)
}

// listQueue reads n cases of queue in the queues' order after f.After.
func (q *Queries) listQueue(ctx context.Context, queue string, f Filter, n int) ([]Case, error) {
	where := []string{open, "c.queue = ?"}
	args := []any{queue}
	if f.Assignee != nil {
		where = append(where, "c.assignee = ?")
		args = append(args, f.Assignee.String())
	}
	where, args, err := afterCursor(where, args, f.After)
	if err != nil {
		return nil, fmt.Errorf("casequeues: list %q: %w", queue, err)
	}
	args = append(args, n)
	return q.list(ctx, selectCase+" WHERE "+strings.Join(where, " AND ")+order+" LIMIT ?", args...)
}

// afterCursor adds to a listing's conditions that the case comes after the cursor after in the queues' order
// (nothing for "").
func afterCursor(where []string, args []any, after string) ([]string, []any, error) {
	if after == "" {
		return where, args, nil
	}
	due, received, id, err := parseCursor(after)
	if err != nil {
		return nil, nil, err
	}
	// A row-value comparison: both planners (SQLite 3.15+, PostgreSQL) make it a range of the index on
	// (queue, due_on, received_at, request_id), where the expanded OR form makes PostgreSQL sort the tail of
	// the queue.
	return append(where, "(c.due_on, c.received_at, c.request_id) > (?, ?, ?)"), append(args, due, received, id), nil
}

// Mine returns the open cases staffID holds, in every queue, by due date then receipt (MaxMine at most).
func (q *Queries) Mine(ctx context.Context, staffID uuid.UUID) ([]Case, error) {
	return q.list(ctx, selectCase+" WHERE "+open+" AND c.assignee = ?"+order+" LIMIT ?", staffID.String(), MaxMine)
}

// MinePage is Mine by the paging convention: at most p.Limit cases (DefaultLimit for 0, MaxLimit at most) after
// the cursor p.After, and the cursor of the next page ("" after the last).
func (q *Queries) MinePage(ctx context.Context, staffID uuid.UUID, p projections.Page) ([]Case, string, error) {
	n := pageSize(p.Limit)
	where, args, err := afterCursor([]string{open, "c.assignee = ?"}, []any{staffID.String()}, p.After)
	if err != nil {
		return nil, "", fmt.Errorf("casequeues: cases of %s: %w", staffID, err)
	}
	cases, err := q.list(ctx, selectCase+" WHERE "+strings.Join(where, " AND ")+order+" LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(cases, projections.Page{Limit: n}, n, func(c Case) string { return c.Cursor })
	return page, next, nil
}

// NextCandidates returns up to n (MaxCandidates at most) open cases of queue that nobody holds and that await
// nothing from the member, earliest due first: claim-next tries them in order until a claim succeeds.
func (q *Queries) NextCandidates(ctx context.Context, queue string, n int) ([]uuid.UUID, error) {
	n = min(max(n, 1), MaxCandidates)
	var ids []uuid.UUID
	err := sqlx.SelectContext(ctx, q.db, &ids, q.db.Rebind("SELECT c.request_id FROM "+Name+" c WHERE "+open+
		" AND c.queue = ? AND c.status = ?"+order+" LIMIT ?"), queue, string(sr.StatusQueued), n)
	if err != nil {
		return nil, fmt.Errorf("casequeues: next candidates of %q: %w", queue, err)
	}
	return ids, nil
}

// The views of the counter tables.
const (
	statusCountsView = Name + "_status_counts"
	breachCountsView = Name + "_breach_counts"
)

// Counts returns the figures of each of queues, in their order (zeros for a queue without open cases). Its cost does
// not grow with the number of open cases: the counts by status are read from the counters the projection keeps, the
// breaches are a sum of the counters of the queue's due days up to now (one per due day and time zone), both in one
// statement, so they come from one snapshot; the oldest case is the first entry of the (queue, received_at) index on
// open cases, read by a second statement (a batch committed in between can make it disagree with Open).
//
// While the live version is one without counters (version 1, until this version, rebuilt beside it after a deploy,
// switches in), Counts counts the open cases as that version did, which takes tens of milliseconds at 100,000.
func (q *Queries) Counts(ctx context.Context, queues []string) ([]QueueStats, error) {
	out := statsOf(queues)
	if len(queues) == 0 {
		return out, nil
	}
	if err := q.counters(ctx, out); err != nil {
		// The live version may predate the counters (version 1, while this version builds beside it after a
		// deploy): count its cases as it did.
		if has, herr := q.hasCounters(ctx); herr != nil || has {
			return nil, err
		}
		out = statsOf(queues)
		if err := q.scanCounters(ctx, out); err != nil {
			return nil, err
		}
	}
	if err := q.oldest(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// statsOf returns zeroed figures named after queues.
func statsOf(queues []string) []QueueStats {
	out := make([]QueueStats, len(queues))
	for i, name := range queues {
		out[i].Queue = name
	}
	return out
}

// byQueue indexes the figures by queue name (the last of duplicates).
func byQueue(out []QueueStats) (map[string]*QueueStats, []string) {
	at := make(map[string]*QueueStats, len(out))
	names := make([]string, len(out))
	for i := range out {
		at[out[i].Queue] = &out[i]
		names[i] = out[i].Queue
	}
	return at, names
}

// counters fills Open, Claimed, AwaitingInformation and Breaches from the counter tables: the status counters of the
// queues (a few rows each) and the sum of their breach counters at or before now (a row per due day).
func (q *Queries) counters(ctx context.Context, out []QueueStats) error {
	at, names := byQueue(out)
	in, args := inList(names)
	var rows []struct {
		Kind   string `db:"kind"`
		Queue  string `db:"queue"`
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(
		"SELECT 's' AS kind, s.queue, s.status, s.n FROM "+statusCountsView+" s WHERE s.queue IN "+in+
			" UNION ALL SELECT 'b' AS kind, b.queue, '' AS status, CAST(SUM(b.n) AS BIGINT) AS n FROM "+
			breachCountsView+" b WHERE b.queue IN "+in+" AND b.breach_at <= ? GROUP BY b.queue"),
		append(append(args, args...), utc(q.now()))...); err != nil {
		return fmt.Errorf("casequeues: counts: %w", err)
	}
	for _, r := range rows {
		st := at[r.Queue]
		if r.Kind == "b" {
			st.Breaches = r.N
			continue
		}
		st.Open += r.N
		switch sr.Status(r.Status) {
		case sr.StatusClaimed:
			st.Claimed += r.N
		case sr.StatusAwaitingInformation:
			st.AwaitingInformation += r.N
		}
	}
	return nil
}

// hasCounters reports whether the live version has the counter tables (their views exist).
func (q *Queries) hasCounters(ctx context.Context) (bool, error) {
	query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND name = ?"
	if q.dialect == sqldb.Postgres {
		query = "SELECT COUNT(*) FROM information_schema.views WHERE table_schema = current_schema() AND table_name = ?"
	}
	var n int
	if err := sqlx.GetContext(ctx, q.db, &n, q.db.Rebind(query), statusCountsView); err != nil {
		return false, fmt.Errorf("casequeues: counts: %w", err)
	}
	return n > 0, nil
}

// scanCounters is counters for a live version without counter tables: it counts the open cases of the queues by
// status over the (queue, status, …) index, and their breaches as a range of the (queue, breach_at) index. Both grow
// with the number of open cases (tens of milliseconds at 100,000).
func (q *Queries) scanCounters(ctx context.Context, out []QueueStats) error {
	if err := q.statusScan(ctx, out); err != nil {
		return err
	}
	return q.breachRange(ctx, out)
}

// statusScan fills Open, Claimed and AwaitingInformation by counting the open cases: O(open cases).
func (q *Queries) statusScan(ctx context.Context, out []QueueStats) error {
	at, names := byQueue(out)
	in, args := inList(names)
	var byStatus []struct {
		Queue  string `db:"queue"`
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &byStatus, q.db.Rebind("SELECT c.queue, c.status, COUNT(*) AS n FROM "+
		Name+" c WHERE "+open+" AND c.queue IN "+in+" GROUP BY c.queue, c.status"), args...); err != nil {
		return fmt.Errorf("casequeues: counts: %w", err)
	}
	for _, s := range byStatus {
		st := at[s.Queue]
		st.Open += s.N
		switch sr.Status(s.Status) {
		case sr.StatusClaimed:
			st.Claimed += s.N
		case sr.StatusAwaitingInformation:
			st.AwaitingInformation += s.N
		}
	}
	return nil
}

// breachRange fills Breaches by counting the open cases past their target, a range of the (queue, breach_at) index:
// O(breaches).
func (q *Queries) breachRange(ctx context.Context, out []QueueStats) error {
	at, names := byQueue(out)
	in, args := inList(names)
	var breaches []struct {
		Queue string `db:"queue"`
		N     int    `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &breaches, q.db.Rebind("SELECT c.queue, COUNT(*) AS n FROM "+Name+
		" c WHERE "+open+" AND c.queue IN "+in+" AND c.breach_at <= ? GROUP BY c.queue"),
		append(args, utc(q.now()))...); err != nil {
		return fmt.Errorf("casequeues: breaches: %w", err)
	}
	for _, b := range breaches {
		at[b.Queue].Breaches = b.N
	}
	return nil
}

// oldest fills Oldest for the queues with open cases (Open filled already): the first entry of each queue's
// (queue, received_at) partial index, all queues in one statement.
func (q *Queries) oldest(ctx context.Context, out []QueueStats) error {
	at, _ := byQueue(out)
	var parts []string
	var args []any
	for _, st := range out {
		if st.Open == 0 || slices.Contains(args, any(st.Queue)) {
			continue
		}
		parts = append(parts, "SELECT * FROM (SELECT c.queue, c.received_at FROM "+Name+" c WHERE "+open+
			" AND c.queue = ? ORDER BY c.received_at LIMIT 1) o"+strconv.Itoa(len(parts)))
		args = append(args, st.Queue)
	}
	if len(parts) == 0 {
		return nil
	}
	var oldest []struct {
		Queue      string    `db:"queue"`
		ReceivedAt time.Time `db:"received_at"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &oldest, q.db.Rebind(strings.Join(parts, " UNION ALL ")),
		args...); err != nil {
		return fmt.Errorf("casequeues: oldest: %w", err)
	}
	for _, o := range oldest {
		at[o.Queue].Oldest = o.ReceivedAt.UTC()
	}
	return nil
}

// inList returns "(?, ?, …)" for values, and values as arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "(?" + strings.Repeat(", ?", len(values)-1) + ")", args
}

func (q *Queries) list(ctx context.Context, query string, args ...any) ([]Case, error) {
	var rows []caseRow
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("casequeues: list: %w", err)
	}
	now := q.now()
	out := make([]Case, len(rows))
	for i, r := range rows {
		c, err := q.toCase(r, now)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func (q *Queries) toCase(r caseRow, now time.Time) (Case, error) {
	c := Case{
		RequestID: r.RequestID, Reference: r.Reference, Queue: r.Queue, ServiceCode: r.ServiceCode,
		Status: sr.Status(r.Status), ReceivedAt: r.ReceivedAt.UTC(), DueOn: r.DueOn,
		ImplicitDecisionOn: r.ImplicitDecisionOn, SilenceOutcome: r.SilenceOutcome, TimeZone: r.TimeZone,
		AgeSeconds: int64(max(0, now.Sub(r.ReceivedAt)) / time.Second), Breached: r.BreachAt.Valid && !r.BreachAt.Time.After(now),
		CloseReason: r.CloseReason, Revision: uint64(r.Revision),
		Cursor: cursor(r.DueOn, r.ReceivedAt, r.RequestID),
	}
	if r.Assignee.Valid {
		id := r.Assignee.UUID
		c.Assignee = &id
	}
	if r.ClosedAt.Valid {
		t := r.ClosedAt.Time.UTC()
		c.ClosedAt, c.Breached = &t, false
	}
	if r.PausedSince.Valid && !r.ClosedAt.Valid {
		since := r.PausedSince.Time.UTC()
		c.AwaitingSince = &since
		due, implicit, err := projected(r, now)
		if err != nil {
			return Case{}, fmt.Errorf("casequeues: %s: %w", sr.StreamID(r.RequestID), err)
		}
		c.DueOn, c.ImplicitDecisionOn = due, implicit
	}
	if err := c.instants(); err != nil {
		return Case{}, fmt.Errorf("casequeues: %s: %w", sr.StreamID(r.RequestID), err)
	}
	return c, nil
}

// instants sets DueAt and ImplicitDecisionAt from the days DueOn and ImplicitDecisionOn.
func (c *Case) instants() error {
	if c.DueOn == "" {
		return nil // not acknowledged yet: no dates
	}
	loc, err := requestclock.Location(c.TimeZone)
	if err != nil {
		return err
	}
	due, err := requestclock.ParseDay(c.DueOn, loc)
	if err != nil {
		return err
	}
	c.DueAt = sr.EndOfDay(due)
	if c.ImplicitDecisionOn != "" {
		implicit, err := requestclock.ParseDay(c.ImplicitDecisionOn, loc)
		if err != nil {
			return err
		}
		at := sr.EndOfDay(implicit)
		c.ImplicitDecisionAt = &at
	}
	return nil
}

// projected returns the dates of a paused case as of now (servicerequest.LegalClock.AsOf, over the clock the row
// keeps). A case without implicit decision keeps none.
func projected(r caseRow, now time.Time) (due, implicit string, err error) {
	state, err := requestclock.Unmarshal(r.Clock)
	if err != nil {
		return "", "", fmt.Errorf("clock: %w", err)
	}
	c, err := state.AsOf(now)
	if err != nil {
		return "", "", err
	}
	return requestclock.Day(c.DueOn), requestclock.Day(c.ImplicitDecisionOn), nil
}

// cursor encodes a case's place in the order.
func cursor(due string, received time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(due + "|" + received.UTC().Format(time.RFC3339Nano) + "|" +
		id.String()))
}

func parseCursor(s string) (due string, received time.Time, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", time.Time{}, "", ErrInvalidCursor
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 {
		return "", time.Time{}, "", ErrInvalidCursor
	}
	if _, err := time.Parse(time.DateOnly, parts[0]); err != nil {
		return "", time.Time{}, "", ErrInvalidCursor
	}
	received, err = time.Parse(time.RFC3339Nano, parts[1])
	if err != nil {
		return "", time.Time{}, "", ErrInvalidCursor
	}
	u, err := uuid.Parse(parts[2])
	if err != nil {
		return "", time.Time{}, "", ErrInvalidCursor
	}
	return parts[0], received.UTC(), u.String(), nil
}
