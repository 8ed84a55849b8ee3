// Package memberrequests is the member's view of their service requests (GET /v1/requests and
// /v1/requests/{id}): for each request its reference, service, status, receipt, the day silence becomes a decision
// and what it would mean, what is expected from the member (the items asked for and the deadline, while awaited),
// the decision and why the request was closed. Next is the rule of the member's view: the status after each event
// (StatusOf the domain's servicerequest.State, the one fold of the case), and the French label of the steps the
// member is told about. Internal notes and the caseworkers' claims, releases
// and reassignments are staff matters and never show (the first claim shows as "prise en charge").
//
// The member's timeline is not kept here: it is the member's part of the case file (projections/casefiles), which
// labels its steps with Next, so that the staff's and the member's timelines are one set of rows and cannot drift.
// Version 1 kept a timeline table of its own; version 2 drops it (migration 00002).
//
// The implicit-decision day is servicerequest.Clock's, a pure function of the request's events: each row keeps the
// instants the clock reads and the deadlines of the acknowledgement, and the clock is run again over them at every
// event that moves it. While information is awaited, the query reports the dates as of the read (LegalClock.AsOf:
// the running pause counts up to today under a suspension, the period starts again today under a restart).
//
// Ownership is enforced in the queries: every one takes the member's id, and another member's request is not found.
//
// It folds the events of the service request streams only ("servicerequest-<id>"). Rows keep the stream revision of
// the last event applied to them, and an event at or below it changes nothing. The rows hold personal data (the
// member's answers are not kept, only what was asked): never log them. It also reads member.DataErased (on the
// member stream "member-<id>"): the items asked for and the decision's reason of every request of the member then
// read event.ErasedText, as a rebuild after the member's key is destroyed reads them from the events.
package memberrequests

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/requestclock"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query ("memberrequests").
const Name = "memberrequests"

// Version is the current version of the projection. Bump it when the schema, the folding or the labels change:
// the runner rebuilds the new version beside the live one and switches readers over once it has caught up. Version 2
// dropped the timeline table (the member's timeline is read from projections/casefiles). Version 3 erases the
// personal texts of a member's requests (items asked for, decision's reason) on member.DataErased. Version 4 follows
// the L114-5 clock (a request for pieces restarts the period of an acceptance-silence service) and keeps the service
// in charge (R112-5) and the decision's author (L212-1), migration 00003. Version 5 keys the rows by (member_id,
// received_at, request_id), on SQLite WITHOUT ROWID: a member's list reads neighbouring rows in its order (migration
// 00004).
const Version = 5

//go:embed migrations
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

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
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

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
	ServiceInCharge    string       `db:"service_in_charge"` // JSON of servicerequest.ServiceInCharge, "" if none
	AuthorName         string       `db:"author_name"`
	AuthorPosition     string       `db:"author_position"`
}

var columns = []string{"request_id", "member_id", "reference", "service_code", "catalog_version", "status",
	"received_at", "implicit_decision_on", "silence_outcome", "time_zone", "paused_since", "expected_items",
	"expected_deadline", "decision", "decision_reason", "decided_at", "closed_reason", "closed_at", "clock", "revision",
	"last_position", "service_in_charge", "author_name", "author_position"}

func (r *row) values() []any {
	return []any{r.RequestID.String(), r.MemberID.String(), r.Reference, r.ServiceCode, r.CatalogVersion, r.Status,
		utc(r.ReceivedAt), r.ImplicitDecisionOn, r.SilenceOutcome, r.TimeZone, nullUTC(r.PausedSince), r.ExpectedItems,
		nullUTC(r.ExpectedDeadline), r.Decision, r.DecisionReason, nullUTC(r.DecidedAt), r.ClosedReason,
		nullUTC(r.ClosedAt), r.Clock, r.Revision, r.LastPosition, r.ServiceInCharge, r.AuthorName, r.AuthorPosition}
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
	state   sr.State // the request as the domain folds it, loaded from the row's fields
	exists  bool
	changed bool
}

// Apply folds the batch request by request: each row is read once, the new events (above the row's revision) are
// applied in order, and the row is written back with an upsert guarded by the revision.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	err := projections.StreamFold[*entry]{
		Keep:  func(e event.Envelope) bool { return e.Stream.Category == sr.Category },
		Load:  func(s event.StreamID) (*entry, error) { return load(ctx, tx, table, s.ID) },
		Fold:  apply,
		Write: func(en *entry) error { return write(ctx, tx, table, en) },
	}.Apply(batch)
	if err != nil {
		return err
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error {
		return eraseMember(ctx, tx, table, memberID)
	})
}

// eraseMember writes event.ErasedText over the items asked for and the decision's reason of memberID's requests
// (see projections.Erase). What is erased already stays as it is: a replay changes nothing.
func eraseMember(ctx context.Context, tx *sqldb.Tx, table string, memberID uuid.UUID) error {
	type erasable struct {
		RequestID      string `db:"request_id"`
		ExpectedItems  string `db:"expected_items"`
		DecisionReason string `db:"decision_reason"`
		AuthorName     string `db:"author_name"`
	}
	var rows []erasable
	if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind("SELECT request_id, expected_items, decision_reason, "+
		"author_name FROM "+table+" WHERE member_id = ?"), memberID.String()); err != nil {
		return fmt.Errorf("memberrequests: read the requests of member-%s: %w", memberID, err)
	}
	update := tx.Rebind("UPDATE " + table + " SET expected_items = ?, decision_reason = ?, author_name = ? " +
		"WHERE request_id = ?")
	for _, r := range rows {
		items := r.ExpectedItems
		if items != "" {
			var list []string
			if err := json.Unmarshal([]byte(items), &list); err != nil {
				return fmt.Errorf("memberrequests: %s: expected items: %w", r.RequestID, err)
			}
			b, err := json.Marshal(projections.EraseAll(list))
			if err != nil {
				return fmt.Errorf("memberrequests: %s: expected items: %w", r.RequestID, err)
			}
			items = string(b)
		}
		reason, author := projections.Erase(r.DecisionReason), projections.Erase(r.AuthorName)
		if items == r.ExpectedItems && reason == r.DecisionReason && author == r.AuthorName {
			continue
		}
		if _, err := tx.ExecContext(ctx, update, items, reason, author, r.RequestID); err != nil {
			return fmt.Errorf("memberrequests: erase a request of member-%s: %w", memberID, err)
		}
	}
	return nil
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
		if en.state, err = en.row.state(); err != nil {
			return nil, fmt.Errorf("memberrequests: %s: %w", sr.StreamID(id), err)
		}
	}
	return en, nil
}

// state loads the stored fields of a request into the domain's state: what its fold reads to move the row.
func (r *row) state() (sr.State, error) {
	s := stateOf(Status(r.Status))
	s.MemberID, s.ServiceCode, s.CatalogVersion, s.Reference = r.MemberID, r.ServiceCode, r.CatalogVersion, r.Reference
	s.TimeZone, s.Deadlines.Silence.Outcome = r.TimeZone, sr.Outcome(r.SilenceOutcome)
	if r.ExpectedDeadline.Valid {
		s.Awaiting, s.Deadline = true, r.ExpectedDeadline.Time
		if err := json.Unmarshal([]byte(r.ExpectedItems), &s.Items); err != nil {
			return sr.State{}, fmt.Errorf("expected items: %w", err)
		}
	}
	if r.Decision != "" {
		s.Decided, s.Decision = true, sr.Decided{Decision: sr.Decision(r.Decision), Reason: r.DecisionReason}
	}
	s.Closed, s.CloseReason = r.ClosedAt.Valid, r.ClosedReason
	return s, nil
}

func apply(en *entry, e event.Envelope) error {
	if en.exists && int64(e.Revision) <= en.row.Revision {
		return nil // applied already: a replay
	}
	// What the event does to the request is the domain's fold; this projection only decides what its row shows.
	before := en.state
	after, _ := before.Apply(e.Event)
	if !after.Submitted {
		return fmt.Errorf("memberrequests: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, sr.TypeSubmitted)
	}
	r := &en.row
	if !en.exists {
		*r = row{RequestID: e.Stream.ID, ReceivedAt: e.Metadata.OccurredAt}
		en.exists = true
	}
	r.MemberID, r.ServiceCode, r.CatalogVersion, r.Reference = after.MemberID, after.ServiceCode, after.CatalogVersion,
		after.Reference
	r.SilenceOutcome, r.TimeZone = string(after.Deadlines.Silence.Outcome), after.TimeZone
	r.ExpectedItems, r.ExpectedDeadline = "", sql.NullTime{}
	if after.Awaiting {
		items, err := json.Marshal(after.Items)
		if err != nil {
			return fmt.Errorf("memberrequests: %s revision %d: %w", e.Stream, e.Revision, err)
		}
		r.ExpectedItems, r.ExpectedDeadline = string(items), sql.NullTime{Time: after.Deadline, Valid: true}
	}
	if ack, ok := e.Event.(sr.Acknowledged); ok && ack.ServiceInCharge != (sr.ServiceInCharge{}) {
		b, err := json.Marshal(ack.ServiceInCharge)
		if err != nil {
			return fmt.Errorf("memberrequests: %s revision %d: %w", e.Stream, e.Revision, err)
		}
		r.ServiceInCharge = string(b)
	}
	if d, ok := e.Event.(sr.Decided); ok && !before.Decided {
		r.AuthorName, r.AuthorPosition = d.AuthorName, d.AuthorPosition
	}
	if after.Decided {
		r.Decision, r.DecisionReason = string(after.Decision.Decision), after.Decision.Reason
		if !before.Decided {
			r.DecidedAt = sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
		}
	}
	if after.Closed && !before.Closed {
		r.ClosedAt = sql.NullTime{Time: e.Metadata.OccurredAt, Valid: true}
	}
	r.ClosedReason = after.CloseReason
	r.Status = string(StatusOf(after))
	en.state = after
	en.clock.Add(e)
	if err := en.refresh(); err != nil {
		return fmt.Errorf("memberrequests: %s revision %d: %w", e.Stream, e.Revision, err)
	}
	r.Revision, r.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// StatusOf returns where a request stands for the member, from the domain's state of the case: the member is told
// the outcome (decided, withdrawn, lapsed), that information is awaited, that a caseworker has taken the request up
// (it stays so if the case changes hands), or that it was received. The transitions themselves are the domain's
// (servicerequest.State.Apply); this is only how the member is told where it stands.
func StatusOf(s sr.State) Status {
	switch {
	case !s.Submitted:
		return ""
	case s.Decided && s.Decision.Decision == sr.Rejected:
		return StatusRejected
	case s.Decided:
		return StatusApproved
	case s.Withdrawn:
		return StatusWithdrawn
	case s.Lapsed:
		return StatusLapsed
	case s.Awaiting:
		return StatusAwaitingInformation
	case s.TakenUp:
		return StatusInProgress
	}
	return StatusReceived
}

// stateOf returns the domain state a member status stands for, as far as StatusOf reads it: what a row that keeps
// only the member's status (projections/casefiles) loads before applying the next event.
func stateOf(status Status) sr.State {
	s := sr.State{Submitted: status != ""}
	switch status {
	case StatusInProgress:
		s.TakenUp = true
	case StatusAwaitingInformation:
		s.TakenUp, s.Awaiting = true, true
	case StatusApproved, StatusRejected:
		s.TakenUp, s.Decided = true, true
		s.Decision.Decision = sr.Approved
		if status == StatusRejected {
			s.Decision.Decision = sr.Rejected
		}
	case StatusWithdrawn:
		s.Withdrawn = true
	case StatusLapsed:
		s.TakenUp, s.Lapsed = true, true
	}
	return s
}

// Next returns where a request stands for the member after the service request event ev, from status (empty
// before the submission), and the French label of the step the member is told about: "" for what the member is
// not told (a claim once the request is taken up, a release, a reassignment, an internal note). It is the one rule
// of the member's view: this projection's status and the member's timeline (projections/casefiles) both follow it.
// The new status is StatusOf the domain's state after ev.
func Next(status Status, ev any) (Status, string) {
	before := stateOf(status)
	after, _ := before.Apply(ev)
	return StatusOf(after), Label(before, after, ev)
}

// Label returns the French label of the step ev, which took a case from before to after, as the member is told
// about it; "" for a step the member is not told about.
func Label(before, after sr.State, ev any) string {
	switch ev := ev.(type) {
	case sr.Submitted:
		if !before.Submitted {
			return LabelSubmitted
		}
	case sr.Acknowledged:
		return LabelAcknowledged
	case sr.Queued:
		return LabelQueued
	case sr.Claimed, sr.Reassigned:
		if StatusOf(before) == StatusReceived && StatusOf(after) == StatusInProgress {
			return LabelTakenUp
		}
	case sr.InformationRequested:
		return LabelInformationRequested
	case sr.InformationReceived:
		return LabelInformationReceived
	case sr.InformationDeadlineLapsed:
		return LabelLapsed
	case sr.Decided:
		if ev.Decision == sr.Rejected {
			return LabelRejected
		}
		return LabelApproved
	case sr.Withdrawn:
		return LabelWithdrawn
	case sr.Closed:
		return LabelClosed
	}
	return ""
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
	// No implicit decision (servicerequest.NoImplicitDecision): ImplicitDecisionOn is zero and the day is "".
	r.ImplicitDecisionOn, r.PausedSince = requestclock.Day(c.ImplicitDecisionOn), sql.NullTime{}
	if c.Paused {
		r.PausedSince = sql.NullTime{Time: c.PausedSince, Valid: true}
	}
	return nil
}

func write(ctx context.Context, tx *sqldb.Tx, table string, en *entry) error {
	if !en.changed {
		return nil
	}
	if err := upsert(table).Exec(ctx, tx, en.row.values()...); err != nil {
		return fmt.Errorf("memberrequests: %w", err)
	}
	return nil
}

// upsert writes a row, found by request_id, guarded by its revision. member_id and received_at, the keys that place
// the row (migration 00004), never change once the request is received: they are not rewritten, which on SQLite
// would delete and insert the row again.
func upsert(table string) sqldb.Upsert {
	u := projections.GuardedUpsert(table, []string{"request_id"}, columns, "revision")
	u.Update = slices.DeleteFunc(u.Update, func(c string) bool { return c == "member_id" || c == "received_at" })
	return u
}
