// Package casequeues is the caseworkers' queues (GET /v1/queues, /v1/queues/{queue}/cases, claim-next,
// /v1/cases/{id}): one row per service request with its queue, status, assignee, receipt, due date (the fund's
// handling target) and implicit-decision date (none for a service whose silence decides nothing), and the queries that list a queue by due date, count it, list a
// caseworker's own cases and pick the next case to claim.
//
// The dates are those of servicerequest.Clock, a pure function of the request's events: each row keeps the few
// instants the clock reads (receipt, pauses, closure) and the deadlines of the acknowledgement, and the clock is run
// again over them at every event that moves it. A pause (information awaited from the member) moves the due date
// and the implicit-decision date by its length once it is over (rejection), or restarts them from the day the pieces
// arrive (acceptance, CRPA L114-5); while it runs, the queries report the dates as of the read (LegalClock.AsOf),
// and the listing keeps ordering the case by the date the pauses already over give.
//
// Whether a case has missed its handling target (the breach flag) depends on the time of the read: the row keeps the
// instant the target is missed (breach_at) and the queries compare it with their injected clock.
//
// It folds the events of the service request streams only ("servicerequest-<id>"), through the domain's fold
// (servicerequest.State): the row's status, queue, assignee and closure are the State's. Rows keep the stream revision of
// the last event applied to them, also of events that change nothing shown (notes), so that Case.Revision is the
// stream's revision: the ETag a staff mutation sends back as If-Match. An event at or below it changes nothing. A
// closed case keeps its row, out of every listing.
//
// Beside the cases, the projection keeps counters of the open cases, in the same transaction: by queue and status,
// and by queue and the instant the handling target is missed (breach_at, one per due day). Counts reads them instead
// of counting the queue. Each batch moves them by what its changed rows count for now less what they counted for
// when the batch read them, so a replayed event, which changes no row, moves nothing; a counter that falls to zero
// is deleted, so the counters are a function of the cases alone and a rebuild gives the same rows.
package casequeues

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/requestclock"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("casequeues").
const Name = "casequeues"

// Version is the current version of the projection. Bump it when the schema or the folding change: the runner
// rebuilds the new version beside the live one and switches readers over once it has caught up. Version 2 added
// the counter tables (migration 00002); until it is live, Counts counts the cases of version 1. Version 3 follows the
// L114-5 clock (a request for pieces restarts the periods of an acceptance-silence service; such a case is never
// breached while the pieces are awaited).
const Version = 3

//go:embed migrations
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds service request events into one row per case. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// row is a case as stored: what the listings read, with its clock and the position of its last event.
type row struct {
	caseRow
	LastPosition int64 `db:"last_position"`
}

var columns = []string{"request_id", "reference", "queue", "service_code", "status", "assignee", "received_at",
	"due_on", "implicit_decision_on", "silence_outcome", "time_zone", "paused_since", "breach_at", "closed_at",
	"close_reason", "clock", "revision", "last_position"}

func (r *row) values() []any {
	var assignee any
	if r.Assignee.Valid {
		assignee = r.Assignee.UUID.String()
	}
	return []any{r.RequestID.String(), r.Reference, r.Queue, r.ServiceCode, r.Status, assignee, utc(r.ReceivedAt),
		r.DueOn, r.ImplicitDecisionOn, r.SilenceOutcome, r.TimeZone, nullUTC(r.PausedSince), nullUTC(r.BreachAt),
		nullUTC(r.ClosedAt), r.CloseReason, r.Clock, r.Revision, r.LastPosition}
}

// utc is t in UTC at the microsecond, the precision PostgreSQL keeps: both dialects then hold the same values.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullUTC(t sql.NullTime) sql.NullTime {
	if t.Valid {
		t.Time = utc(t.Time)
	}
	return t
}

// tally is what a case counts for in the counter tables: an open case counts once under its (queue, status) and,
// when its handling target can be missed (breach_at set), once under its (queue, breach_at).
type tally struct {
	open          bool
	queue, status string
	breachAt      sql.NullTime
}

func (r *row) tally() tally {
	return tally{open: !r.ClosedAt.Valid, queue: r.Queue, status: r.Status, breachAt: nullUTC(r.BreachAt)}
}

// entry is a case's state while a batch is folded.
type entry struct {
	row     row
	clock   requestclock.State
	state   sr.State // the case as the domain folds it, loaded from the row's fields
	exists  bool
	changed bool
	// stored is what the stored row counted for when the batch read it (the zero tally when there was none).
	stored tally
}

// tables are the tables of a version.
type tables struct{ cases, statusCounts, breachCounts string }

func tablesOf(version int) tables {
	prefix := projections.Prefix(Name, version)
	return tables{cases: prefix, statusCounts: prefix + "_status_counts", breachCounts: prefix + "_breach_counts"}
}

// Apply folds the batch case by case: the rows of the batch's cases are read at once, each case's new events (above
// its row's revision) are applied in order, and the changed rows are written back together with an upsert guarded
// by the revision. The counters move in the same transaction by the difference between what the changed rows count
// for now and what they counted for when read, so an event applied twice, skipped by the fold, moves nothing.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	t := tablesOf(p.Version())
	changed, err := projections.BatchFold[*entry]{
		Keep: func(e event.Envelope) bool { return e.Stream.Category == sr.Category },
		LoadAll: func(ids []uuid.UUID) (map[uuid.UUID]*entry, error) {
			return projections.LoadByID(ctx, tx, t.cases, "request_id", ids, loadEntry)
		},
		New:     func() *entry { return &entry{} },
		Fold:    apply,
		Changed: func(en *entry) bool { return en.changed },
	}.Apply(batch)
	if err != nil {
		return err
	}
	return write(ctx, tx, t, changed)
}

// loadEntry turns a stored row into the state of its case.
func loadEntry(r row) (uuid.UUID, *entry, error) {
	en := &entry{row: r, exists: true, stored: r.tally(), state: r.state()}
	var err error
	if en.clock, err = requestclock.Unmarshal(r.Clock); err != nil {
		return uuid.Nil, nil, fmt.Errorf("casequeues: %s: clock: %w", sr.StreamID(r.RequestID), err)
	}
	return r.RequestID, en, nil
}

func apply(en *entry, e event.Envelope) error {
	if en.exists && int64(e.Revision) <= en.row.Revision {
		return nil // applied already: a replay
	}
	// What the event does to the case is the domain's fold; this projection only decides what its row shows.
	before := en.state
	after, _ := before.Apply(e.Event)
	if !after.Submitted {
		return fmt.Errorf("casequeues: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, sr.TypeSubmitted)
	}
	r := &en.row
	if !en.exists {
		*r = row{caseRow: caseRow{RequestID: e.Stream.ID, ReceivedAt: e.Metadata.OccurredAt}}
		en.exists = true
	}
	r.ServiceCode, r.Reference, r.Queue = after.ServiceCode, after.Reference, after.Queue
	r.SilenceOutcome, r.TimeZone = string(after.Deadlines.Silence.Outcome), after.TimeZone
	r.Assignee = uuid.NullUUID{UUID: after.Assignee, Valid: after.Assignee != uuid.Nil}
	if after.Closed && !before.Closed {
		r.ClosedAt = sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
	}
	r.CloseReason = after.CloseReason
	r.Status = string(after.Status())
	en.state = after
	en.clock.Add(e)
	if err := en.refresh(); err != nil {
		return fmt.Errorf("casequeues: %s revision %d: %w", e.Stream, e.Revision, err)
	}
	r.Revision, r.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// state loads the stored fields of a case into the domain's state: what its fold reads to move the row.
func (r *row) state() sr.State {
	s := sr.State{Submitted: true, ServiceCode: r.ServiceCode, Reference: r.Reference, TimeZone: r.TimeZone,
		Queue: r.Queue, Awaiting: r.Status == string(sr.StatusAwaitingInformation), Closed: r.ClosedAt.Valid,
		CloseReason: r.CloseReason}
	s.Deadlines.Silence.Outcome = sr.Outcome(r.SilenceOutcome)
	if r.Assignee.Valid {
		s.Assignee, s.TakenUp = r.Assignee.UUID, true
	}
	return s
}

// refresh derives the dates from the clock's state with servicerequest.Clock.
func (en *entry) refresh() error {
	r := &en.row
	text, err := en.clock.Marshal()
	if err != nil {
		return err
	}
	r.Clock = text
	if !en.clock.Acknowledged() {
		return nil
	}
	c, _, err := en.clock.Clock()
	if err != nil {
		return err
	}
	// No implicit decision (servicerequest.NoImplicitDecision): ImplicitDecisionOn is zero and the day is "".
	r.DueOn, r.ImplicitDecisionOn = requestclock.Day(c.DueOn), requestclock.Day(c.ImplicitDecisionOn)
	r.PausedSince, r.BreachAt = sql.NullTime{}, sql.NullTime{}
	if c.Closed {
		return nil
	}
	// The target is missed when its day has ended (servicerequest.EndOfDay). While a pause runs, under a suspension
	// the target moves a day each day, so it is missed only if the pause began after it was missed already; under a
	// restart it runs again from the day the pieces come, so it is not missed while they are awaited.
	missed := c.DueAt()
	if c.Paused {
		r.PausedSince = sql.NullTime{Time: c.PausedSince, Valid: true}
		if c.Incomplete == sr.Restart || c.PausedSince.Before(missed) {
			return nil
		}
	}
	r.BreachAt = sql.NullTime{Time: missed, Valid: true}
	return nil
}

// write stores the changed rows, then moves the counters by what the rows count for now less what they counted for
// when read.
func write(ctx context.Context, tx *sqldb.Tx, t tables, changed []*entry) error {
	if len(changed) == 0 {
		return nil
	}
	rows := make([][]any, len(changed))
	for i, en := range changed {
		rows[i] = en.row.values()
	}
	conflict, err := projections.GuardedUpsert(t.cases, []string{"request_id"}, columns, "revision").ConflictClause()
	if err != nil {
		return fmt.Errorf("casequeues: %w", err)
	}
	n, err := sqldb.BulkInsert(ctx, tx, t.cases, columns, rows, conflict)
	if err != nil {
		return fmt.Errorf("casequeues: %w", err)
	}
	// Every changed row was read in this transaction and carries a newer revision, so the guard lets each through.
	// One it stopped would mean the row moved under the batch, and the counters would drift from the rows.
	if n != int64(len(rows)) {
		return fmt.Errorf("casequeues: %d of %d changed cases written: a row moved under the batch", n, len(rows))
	}
	var d deltas
	for _, en := range changed {
		d.add(en.stored, -1)
		d.add(en.row.tally(), +1)
	}
	return d.write(ctx, tx, t)
}

type statusKey struct{ queue, status string }

// breachKey holds the instant in microseconds, the precision of the stored values, so that equal instants are
// one key whatever their time.Time form.
type breachKey struct {
	queue string
	at    int64
}

// deltas are the moves of the counters in a batch.
type deltas struct {
	status map[statusKey]int64
	breach map[breachKey]int64
}

func (d *deltas) add(c tally, by int64) {
	if !c.open {
		return
	}
	if d.status == nil {
		d.status, d.breach = map[statusKey]int64{}, map[breachKey]int64{}
	}
	d.status[statusKey{c.queue, c.status}] += by
	if c.breachAt.Valid {
		d.breach[breachKey{c.queue, c.breachAt.Time.UnixMicro()}] += by
	}
}

// write adds the non-zero deltas to the counters, one row per key in one statement (PostgreSQL refuses to update a
// row twice in one), in key order, and deletes the counters brought to zero.
func (d *deltas) write(ctx context.Context, tx *sqldb.Tx, t tables) error {
	type moves struct {
		table string
		key   []string
		rows  [][]any
		down  []string // the queues of the counters that went down, maybe to zero
	}
	status := moves{table: t.statusCounts, key: []string{"queue", "status"}}
	for _, k := range sortedKeys(d.status, func(a, b statusKey) int {
		return cmp.Or(strings.Compare(a.queue, b.queue), strings.Compare(a.status, b.status))
	}) {
		if n := d.status[k]; n != 0 {
			status.rows = append(status.rows, []any{k.queue, k.status, n})
			status.down = down(status.down, k.queue, n)
		}
	}
	breach := moves{table: t.breachCounts, key: []string{"queue", "breach_at"}}
	for _, k := range sortedKeys(d.breach, func(a, b breachKey) int {
		return cmp.Or(strings.Compare(a.queue, b.queue), cmp.Compare(a.at, b.at))
	}) {
		if n := d.breach[k]; n != 0 {
			breach.rows = append(breach.rows, []any{k.queue, time.UnixMicro(k.at).UTC(), n})
			breach.down = down(breach.down, k.queue, n)
		}
	}
	for _, m := range []moves{status, breach} {
		if len(m.rows) == 0 {
			continue
		}
		if _, err := sqldb.BulkInsert(ctx, tx, m.table, append(m.key, "n"), m.rows, "ON CONFLICT ("+
			strings.Join(m.key, ", ")+") DO UPDATE SET n = "+m.table+".n + excluded.n"); err != nil {
			return fmt.Errorf("casequeues: counters: %w", err)
		}
		if len(m.down) > 0 {
			if err := deleteSpent(ctx, tx, m.table, m.down); err != nil {
				return err
			}
		}
	}
	return nil
}

// down adds queue to queues if n is negative and queue is not their last (the keys come sorted by queue).
func down(queues []string, queue string, n int64) []string {
	if n >= 0 || (len(queues) > 0 && queues[len(queues)-1] == queue) {
		return queues
	}
	return append(queues, queue)
}

// deleteSpent deletes the counters of queues in table that fell to zero, and fails if one fell below: the counters
// no longer match the cases. It reads the queues' counters through the primary key (queue first): a few per queue
// in the status table, one per due day in the breach table.
func deleteSpent(ctx context.Context, tx *sqldb.Tx, table string, queues []string) error {
	args := make([]any, len(queues))
	for i, q := range queues {
		args[i] = q
	}
	var spent []int64
	if err := sqlx.SelectContext(ctx, tx, &spent, tx.Rebind("DELETE FROM "+table+" WHERE queue IN (?"+
		strings.Repeat(", ?", len(queues)-1)+") AND n <= 0 RETURNING n"), args...); err != nil {
		return fmt.Errorf("casequeues: counters: %w", err)
	}
	for _, n := range spent {
		if n < 0 {
			return fmt.Errorf("casequeues: counters: %s: a counter fell to %d: the counters no longer match the cases",
				table, n)
		}
	}
	return nil
}

func sortedKeys[K comparable](m map[K]int64, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}
