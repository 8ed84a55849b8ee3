// Package casequeues is the caseworkers' queues (GET /v1/queues, /v1/queues/{queue}/cases, claim-next,
// /v1/cases/{id}): one row per service request with its queue, status, assignee, receipt, due date (the fund's
// handling target) and implicit-decision date (none for a service whose silence decides nothing), and the queries that list a queue by due date, count it, list a
// caseworker's own cases and pick the next case to claim.
//
// The dates are those of servicerequest.Clock, a pure function of the request's events: each row keeps the few
// instants the clock reads (receipt, pauses, closure) and the deadlines of the acknowledgement, and the clock is run
// again over them at every event that moves it. A pause (information awaited from the member) moves the due date
// and the implicit-decision date by its length once it is over; while it runs, the queries report the dates as of
// the read (LegalClock.Projected), and the listing keeps ordering the case by the date the pauses already over give.
//
// Whether a case has missed its handling target (the breach flag) depends on the time of the read: the row keeps the
// instant the target is missed (breach_at) and the queries compare it with their injected clock.
//
// It folds the events of the service request streams only ("servicerequest-<id>"). Rows keep the stream revision of
// the last event applied to them, also of events that change nothing shown (notes), so that Case.Revision is the
// stream's revision: the ETag a staff mutation sends back as If-Match. An event at or below it changes nothing. A
// closed case keeps its row, out of every listing.
package casequeues

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"github.com/msa-dossier/dossier/projections/requestclock"
	"io/fs"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("casequeues").
const Name = "casequeues"

// Version is the current version of the projection. Bump it when the schema or the folding change: the runner
// rebuilds the new version beside the live one and switches readers over once it has caught up.
const Version = 1

//go:embed migrations
var migrations embed.FS

// Projection folds service request events into one row per case. It is stateless and safe for concurrent use.
type Projection struct {
	version int
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{version: Version} }

// Name returns Name.
func (p *Projection) Name() string { return Name }

// Version returns the projection's version.
func (p *Projection) Version() int { return p.version }

// Migrations returns the migrations of the projection's table, split by dialect (collations of the sort keys).
func (p *Projection) Migrations() fs.FS { return projections.EmbeddedMigrations(migrations) }

// row is a case as stored: what the listings read, with its clock and the position of its last event.
type row struct {
	caseRow
	Clock        string `db:"clock"`
	LastPosition int64  `db:"last_position"`
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

// entry is a case's state while a batch is folded.
type entry struct {
	row      row
	clock    requestclock.State
	awaiting bool
	exists   bool
	changed  bool
}

// Apply folds the batch case by case: each case's row is read once, its new events (above the row's revision) are
// applied in order, and the row is written back with an upsert guarded by the revision.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := projections.Prefix(Name, p.version)
	return projections.StreamFold[*entry]{
		Keep:  func(e event.Envelope) bool { return e.Stream.Category == sr.Category },
		Load:  func(s event.StreamID) (*entry, error) { return load(ctx, tx, table, s.ID) },
		Fold:  apply,
		Write: func(en *entry) error { return write(ctx, tx, table, en) },
	}.Apply(batch)
}

func load(ctx context.Context, tx *sqldb.Tx, table string, id uuid.UUID) (*entry, error) {
	en := &entry{}
	found, err := projections.GetRow(ctx, tx, &en.row, table, "request_id", id.String())
	if err != nil {
		return nil, fmt.Errorf("casequeues: read %s: %w", sr.StreamID(id), err)
	}
	if en.exists = found; found {
		if en.clock, err = requestclock.Unmarshal(en.row.Clock); err != nil {
			return nil, fmt.Errorf("casequeues: %s: clock: %w", sr.StreamID(id), err)
		}
		en.awaiting = en.row.Status == string(sr.StatusAwaitingInformation)
	}
	return en, nil
}

func apply(en *entry, e event.Envelope) error {
	if en.exists && int64(e.Revision) <= en.row.Revision {
		return nil // applied already: a replay
	}
	r := &en.row
	switch ev := e.Event.(type) {
	case sr.Submitted:
		if !en.exists {
			*r = row{caseRow: caseRow{RequestID: e.Stream.ID, ServiceCode: ev.ServiceCode,
				ReceivedAt: e.Metadata.OccurredAt}}
			en.exists = true
		}
	case sr.Acknowledged:
		r.Reference, r.SilenceOutcome, r.TimeZone = ev.Reference, string(ev.Silence.Outcome), ev.TimeZone
	case sr.Queued:
		r.Queue = ev.Queue
	case sr.Claimed:
		r.Assignee = uuid.NullUUID{UUID: ev.Caseworker, Valid: true}
	case sr.Released:
		r.Assignee = uuid.NullUUID{}
	case sr.Reassigned:
		r.Assignee = uuid.NullUUID{UUID: ev.To, Valid: true}
	case sr.InformationRequested:
		en.awaiting = true
	case sr.InformationReceived, sr.InformationDeadlineLapsed:
		en.awaiting = false
	case sr.Closed:
		en.awaiting = false
		r.ClosedAt = sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
		r.CloseReason = ev.Reason
	}
	if !en.exists {
		return fmt.Errorf("casequeues: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, sr.TypeSubmitted)
	}
	en.clock.Add(e)
	if err := en.refresh(); err != nil {
		return fmt.Errorf("casequeues: %s revision %d: %w", e.Stream, e.Revision, err)
	}
	r.Revision, r.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// refresh derives the status and the dates from the state, as the aggregate and servicerequest.Clock do.
func (en *entry) refresh() error {
	r := &en.row
	switch {
	case r.ClosedAt.Valid:
		r.Status = string(sr.StatusClosed)
	case en.awaiting:
		r.Status = string(sr.StatusAwaitingInformation)
	case r.Assignee.Valid:
		r.Status = string(sr.StatusClaimed)
	case r.Queue != "":
		r.Status = string(sr.StatusQueued)
	default:
		r.Status = string(sr.StatusNone) // submitted, not queued yet (the rest of the command is in the next batch)
	}
	text, err := en.clock.Marshal()
	if err != nil {
		return err
	}
	r.Clock = text
	if !en.clock.Acknowledged() {
		return nil
	}
	c, loc, err := en.clock.Clock()
	if err != nil {
		return err
	}
	// No implicit decision (servicerequest.NoImplicitDecision): ImplicitDecisionAt is zero and the day is "".
	r.DueOn, r.ImplicitDecisionOn = requestclock.Day(c.DueAt), requestclock.Day(c.ImplicitDecisionAt)
	r.PausedSince, r.BreachAt = sql.NullTime{}, sql.NullTime{}
	if c.Closed {
		return nil
	}
	// The target is missed when its day has ended. While a pause runs the target moves a day each day, so it is
	// missed only if the pause began after it was missed already.
	y, m, d := c.DueAt.Date()
	missed := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	if c.Paused {
		r.PausedSince = sql.NullTime{Time: c.PausedSince, Valid: true}
		if c.PausedSince.Before(missed) {
			return nil
		}
	}
	r.BreachAt = sql.NullTime{Time: missed, Valid: true}
	return nil
}

func write(ctx context.Context, tx *sqldb.Tx, table string, en *entry) error {
	if !en.changed {
		return nil
	}
	if err := projections.GuardedUpsert(table, []string{"request_id"}, columns, "revision").
		Exec(ctx, tx, en.row.values()...); err != nil {
		return fmt.Errorf("casequeues: %w", err)
	}
	return nil
}
