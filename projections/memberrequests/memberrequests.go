// Package memberrequests is the member's view of their service requests (GET /v1/requests and
// /v1/requests/{id}): for each request its reference, service, status, receipt, the day silence becomes a decision
// and what it would mean, what is expected from the member (the items asked for and the deadline, while awaited),
// the decision and why the request was closed. Next is the rule of the member's view: the status after each event,
// and the French label of the steps the member is told about. Internal notes and the caseworkers' claims, releases
// and reassignments are staff matters and never show (the first claim shows as "prise en charge").
//
// The member's timeline is not kept here: it is the member's part of the case file (projections/casefiles), which
// labels its steps with Next, so that the staff's and the member's timelines are one set of rows and cannot drift.
// Version 1 kept a timeline table of its own; version 2 drops it (migration 00002).
//
// The implicit-decision day is servicerequest.Clock's, a pure function of the request's events: each row keeps the
// instants the clock reads and the deadlines of the acknowledgement, and the clock is run again over them at every
// event that moves it. While information is awaited the legal clock stops, and the query reports the day as of the
// read (LegalClock.Projected).
//
// Ownership is enforced in the queries: every one takes the member's id, and another member's request is not found.
//
// It folds the events of the service request streams only ("servicerequest-<id>"). Rows keep the stream revision of
// the last event applied to them, and an event at or below it changes nothing. The rows hold personal data (the
// member's answers are not kept, only what was asked): never log them.
package memberrequests

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
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

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("memberrequests").
const Name = "memberrequests"

// Version is the current version of the projection. Bump it when the schema, the folding or the labels change:
// the runner rebuilds the new version beside the live one and switches readers over once it has caught up. Version 2
// dropped the timeline table (the member's timeline is read from projections/casefiles).
const Version = 2

//go:embed migrations
var migrations embed.FS

// Status is where a request stands, as the member is told. Its values are stored: never rename them.
type Status string

// The statuses.
const (
	// StatusReceived: submitted and acknowledged, waiting in its queue for a caseworker.
	StatusReceived Status = "received"
	// StatusInProgress: a caseworker has taken it up (it stays so if the case changes hands).
	StatusInProgress Status = "in_progress"
	// StatusAwaitingInformation: the member is asked for information or documents (Request.Expected).
	StatusAwaitingInformation Status = "awaiting_information"
	// StatusApproved and StatusRejected: decided (Request.Decision).
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	// StatusWithdrawn: the member withdrew it.
	StatusWithdrawn Status = "withdrawn"
	// StatusLapsed: closed because the information asked for did not come in time.
	StatusLapsed Status = "lapsed"
)

// The labels of the member's timeline, in French: what the portal shows (see Next).
const (
	LabelSubmitted            = "Demande envoyée"
	LabelAcknowledged         = "Accusé de réception délivré"
	LabelQueued               = "Demande transmise au service chargé de son instruction"
	LabelTakenUp              = "Demande prise en charge par un conseiller"
	LabelInformationRequested = "Informations ou pièces complémentaires demandées"
	LabelInformationReceived  = "Informations complémentaires reçues : l'instruction reprend"
	LabelLapsed               = "Délai de réponse dépassé : la demande n'a pas pu être instruite"
	LabelApproved             = "Demande acceptée"
	LabelRejected             = "Demande refusée"
	LabelWithdrawn            = "Demande retirée à votre initiative"
	LabelClosed               = "Demande clôturée"
)

// Projection folds service request events into one row per request. It is stateless and safe for concurrent use.
type Projection struct {
	version int
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{version: Version} }

// Name returns Name.
func (p *Projection) Name() string { return Name }

// Version returns the projection's version.
func (p *Projection) Version() int { return p.version }

// Migrations returns the migrations of the projection's tables.
func (p *Projection) Migrations() fs.FS { return projections.EmbeddedMigrations(migrations) }

// row is a request as stored.
type row struct {
	RequestID          uuid.UUID    `db:"request_id"`
	MemberID           uuid.UUID    `db:"member_id"`
	Reference          string       `db:"reference"`
	ServiceCode        string       `db:"service_code"`
	CatalogVersion     string       `db:"catalog_version"`
	Status             string       `db:"status"`
	ReceivedAt         time.Time    `db:"received_at"`
	ImplicitDecisionOn string       `db:"implicit_decision_on"`
	SilenceOutcome     string       `db:"silence_outcome"`
	TimeZone           string       `db:"time_zone"`
	PausedSince        sql.NullTime `db:"paused_since"`
	ExpectedItems      string       `db:"expected_items"`
	ExpectedDeadline   sql.NullTime `db:"expected_deadline"`
	Decision           string       `db:"decision"`
	DecisionReason     string       `db:"decision_reason"`
	DecidedAt          sql.NullTime `db:"decided_at"`
	ClosedReason       string       `db:"closed_reason"`
	ClosedAt           sql.NullTime `db:"closed_at"`
	Clock              string       `db:"clock"`
	Revision           int64        `db:"revision"`
	LastPosition       int64        `db:"last_position"`
}

var columns = []string{"request_id", "member_id", "reference", "service_code", "catalog_version", "status",
	"received_at", "implicit_decision_on", "silence_outcome", "time_zone", "paused_since", "expected_items",
	"expected_deadline", "decision", "decision_reason", "decided_at", "closed_reason", "closed_at", "clock", "revision",
	"last_position"}

func (r *row) values() []any {
	return []any{r.RequestID.String(), r.MemberID.String(), r.Reference, r.ServiceCode, r.CatalogVersion, r.Status,
		utc(r.ReceivedAt), r.ImplicitDecisionOn, r.SilenceOutcome, r.TimeZone, nullUTC(r.PausedSince), r.ExpectedItems,
		nullUTC(r.ExpectedDeadline), r.Decision, r.DecisionReason, nullUTC(r.DecidedAt), r.ClosedReason,
		nullUTC(r.ClosedAt), r.Clock, r.Revision, r.LastPosition}
}

// utc is t in UTC at the microsecond, the precision PostgreSQL keeps: both dialects then hold the same values.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullUTC(t sql.NullTime) sql.NullTime {
	if t.Valid {
		t.Time = utc(t.Time)
	}
	return t
}

// entry is a request's state while a batch is folded.
type entry struct {
	row     row
	clock   requestclock.State
	exists  bool
	changed bool
}

// Apply folds the batch request by request: each row is read once, the new events (above the row's revision) are
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
		return nil, fmt.Errorf("memberrequests: read %s: %w", sr.StreamID(id), err)
	}
	if en.exists = found; found {
		if en.clock, err = requestclock.Unmarshal(en.row.Clock); err != nil {
			return nil, fmt.Errorf("memberrequests: %s: clock: %w", sr.StreamID(id), err)
		}
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
			*r = row{RequestID: e.Stream.ID, MemberID: ev.MemberID, ServiceCode: ev.ServiceCode,
				CatalogVersion: ev.CatalogVersion, ReceivedAt: e.Metadata.OccurredAt}
			en.exists = true
		}
	case sr.Acknowledged:
		r.Reference, r.SilenceOutcome, r.TimeZone = ev.Reference, string(ev.Silence.Outcome), ev.TimeZone
	case sr.InformationRequested:
		items, err := json.Marshal(ev.Items)
		if err != nil {
			return fmt.Errorf("memberrequests: %s revision %d: %w", e.Stream, e.Revision, err)
		}
		r.ExpectedItems = string(items)
		r.ExpectedDeadline = sql.NullTime{Time: ev.Deadline, Valid: true}
	case sr.InformationReceived, sr.InformationDeadlineLapsed, sr.Withdrawn:
		r.ExpectedItems, r.ExpectedDeadline = "", sql.NullTime{}
	case sr.Decided:
		r.Decision, r.DecisionReason = string(ev.Decision), ev.Reason
		r.DecidedAt = sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
	case sr.Closed:
		r.ClosedReason, r.ClosedAt = ev.Reason, sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
		r.ExpectedItems, r.ExpectedDeadline = "", sql.NullTime{}
	}
	if !en.exists {
		return fmt.Errorf("memberrequests: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, sr.TypeSubmitted)
	}
	status, _ := Next(Status(r.Status), e.Event)
	r.Status = string(status)
	en.clock.Add(e)
	if err := en.refresh(); err != nil {
		return fmt.Errorf("memberrequests: %s revision %d: %w", e.Stream, e.Revision, err)
	}
	r.Revision, r.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// Next returns where a request stands for the member after the service request event ev, from status (empty
// before the submission), and the French label of the step the member is told about: "" for what the member is
// not told (a claim once the request is taken up, a release, a reassignment, an internal note). It is the one rule
// of the member's view: this projection's status and the member's timeline (projections/casefiles) both follow it.
func Next(status Status, ev any) (Status, string) {
	switch ev := ev.(type) {
	case sr.Submitted:
		if status == "" {
			return StatusReceived, LabelSubmitted
		}
	case sr.Acknowledged:
		return status, LabelAcknowledged
	case sr.Queued:
		return status, LabelQueued
	case sr.Claimed, sr.Reassigned:
		if status == StatusReceived {
			return StatusInProgress, LabelTakenUp
		}
	case sr.InformationRequested:
		return StatusAwaitingInformation, LabelInformationRequested
	case sr.InformationReceived:
		return StatusInProgress, LabelInformationReceived
	case sr.InformationDeadlineLapsed:
		return StatusLapsed, LabelLapsed
	case sr.Decided:
		if ev.Decision == sr.Rejected {
			return StatusRejected, LabelRejected
		}
		return StatusApproved, LabelApproved
	case sr.Withdrawn:
		return StatusWithdrawn, LabelWithdrawn
	case sr.Closed:
		return status, LabelClosed
	}
	return status, ""
}

// refresh derives the implicit-decision day from servicerequest.Clock.
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
	// No implicit decision (servicerequest.NoImplicitDecision): ImplicitDecisionAt is zero and the day is "".
	r.ImplicitDecisionOn, r.PausedSince = requestclock.Day(c.ImplicitDecisionAt), sql.NullTime{}
	if c.Paused {
		r.PausedSince = sql.NullTime{Time: c.PausedSince, Valid: true}
	}
	return nil
}

func write(ctx context.Context, tx *sqldb.Tx, table string, en *entry) error {
	if !en.changed {
		return nil
	}
	if err := projections.GuardedUpsert(table, []string{"request_id"}, columns, "revision").
		Exec(ctx, tx, en.row.values()...); err != nil {
		return fmt.Errorf("memberrequests: %w", err)
	}
	return nil
}
