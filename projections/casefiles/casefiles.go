// Package casefiles is the case file of each service request: what the member submitted (the form, as the request
// recorded it, with the catalog version it was validated against) and the timeline of every step of its life, who
// caused it and what it said. Caseworkers and auditors read all of it (GET /v1/cases/{id}); the member reads their
// own form and the steps they are told about, without internal notes and without staff identities
// (GET /v1/requests/{id}).
//
// It is the one timeline of a request: each step row says whether the member is told about it (audience), and the
// member's status and French label of the step come from memberrequests.Next, the rule memberrequests' own status
// follows. The staff's and the member's timelines are the same rows, filtered, so they cannot drift.
//
// Actors are ids and roles, from the events' metadata (the member's id, a staff account's id, or the name of a
// system reaction); names are not kept, so a change of name needs no rebuild.
//
// It folds the events of the service request streams only ("servicerequest-<id>"). Rows keep the stream revision of
// the last event applied to them and steps are keyed by revision, so an event at or below it changes nothing. The
// rows hold personal data (the form, the member's answers, internal notes): never log them.
//
// It also reads member.DataErased (on the member stream "member-<id>"): the form of every request of the member then
// reads as erased (the JSON string event.ErasedText, see ErasedForm) and the personal details of their steps (items
// asked for, answers, reasons, notes) read event.ErasedText; a rebuild after the member's key is destroyed gives the
// same from the events decoded as erased.
package casefiles

import (
	"context"
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
	"github.com/msa-dossier/dossier/projections/memberrequests"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query ("casefiles",
// "casefiles_steps").
const Name = "casefiles"

// Version is the current version of the projection. Bump it when the schema, the folding, the details or the
// labels change: the runner rebuilds the new version beside the live one and switches readers over once it has
// caught up.
//
//   - 2: member.DataErased erases the forms and the personal details of the member's requests; a form decoded as
//     erased is stored as ErasedForm.
const Version = 2

// ErasedForm is the form of a request once its member's data was erased, as stored: the JSON string
// event.ErasedText in place of the object of answers (whose field names are gone too, as a rebuild after the key was
// destroyed cannot read them).
var ErasedForm = func() string {
	b, err := json.Marshal(event.ErasedText)
	if err != nil {
		panic(err)
	}
	return string(b)
}()

//go:embed migrations
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Kind is what a step of the timeline records. Its values are stored: never rename them. A step of an event type
// this version does not know yet has the event's type name as its kind, no details, and is for staff only.
type Kind string

// The kinds of step, one per service request event.
const (
	KindSubmitted                 Kind = "submitted"
	KindAcknowledged              Kind = "acknowledged"
	KindQueued                    Kind = "queued"
	KindClaimed                   Kind = "claimed"
	KindReleased                  Kind = "released"
	KindReassigned                Kind = "reassigned"
	KindInformationRequested      Kind = "information_requested"
	KindInformationReceived       Kind = "information_received"
	KindInformationDeadlineLapsed Kind = "information_deadline_lapsed"
	KindDecided                   Kind = "decided"
	KindWithdrawn                 Kind = "withdrawn"
	KindClosed                    Kind = "closed"
	KindNote                      Kind = "note"
)

// Audience says who reads a step. Its values are stored: never rename them.
type Audience string

// The audiences.
const (
	// AudienceMember: the member is told about the step (and staff read it too).
	AudienceMember Audience = "member"
	// AudienceStaff: staff only (internal notes, releases, claims once the request is taken up, reassignments).
	AudienceStaff Audience = "staff"
)

// Details are what a step says beyond its kind, by kind; what a kind does not say is left out. Staff read them
// whole; the member reads only MemberDetails' part (never a staff id, a queue or a note).
type Details struct {
	// submitted: the service and the catalog version the form was validated against.
	ServiceCode    string `json:"service_code,omitempty"`
	CatalogVersion string `json:"catalog_version,omitempty"` // also decided: the version whose rule was applied
	// acknowledged: the acknowledgement of receipt as told to the member (days in TimeZone).
	Reference          string `json:"reference,omitempty"`
	DueOn              string `json:"due_on,omitempty"`               // the handling target, as announced
	ImplicitDecisionOn string `json:"implicit_decision_on,omitempty"` // as announced; none without implicit decision
	ImplicitOutcome    string `json:"implicit_outcome,omitempty"`     // acceptance, rejection or none
	TimeZone           string `json:"time_zone,omitempty"`
	AppealRoutes       string `json:"appeal_routes,omitempty"`
	// queued: the queue the case went to.
	Queue string `json:"queue,omitempty"`
	// claimed, released, information_requested, decided: the caseworker the event names.
	Caseworker *uuid.UUID `json:"caseworker_id,omitempty"`
	// reassigned: the supervisor who moved the case, from whom (absent when it was unclaimed) and to whom.
	Supervisor *uuid.UUID `json:"supervisor_id,omitempty"`
	From       *uuid.UUID `json:"from_id,omitempty"`
	To         *uuid.UUID `json:"to_id,omitempty"`
	// information_requested: what the member is asked for, by when; information_deadline_lapsed: the deadline.
	Items    []string   `json:"items,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// information_received: the member's answer, as they wrote it.
	Answer string `json:"answer,omitempty"`
	// decided: the outcome, its reason (required for a rejection) and the rule applied (with CatalogVersion).
	Decision    sr.Decision `json:"decision,omitempty"`
	Reason      string      `json:"reason,omitempty"` // also withdrawn: the member's reason, if given
	RuleApplied string      `json:"rule_applied,omitempty"`
	// closed: decided, withdrawn or lapsed.
	CloseReason string `json:"close_reason,omitempty"`
	// note: its author and text (internal: staff only).
	Author *uuid.UUID `json:"author_id,omitempty"`
	Text   string     `json:"text,omitempty"`
}

// Projection folds service request events into one case file per request and its timeline. It is stateless and
// safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// row is a case file as stored.
type row struct {
	RequestID      uuid.UUID `db:"request_id"`
	MemberID       uuid.UUID `db:"member_id"`
	ServiceCode    string    `db:"service_code"`
	CatalogVersion string    `db:"catalog_version"`
	Form           string    `db:"form"`
	ReceivedAt     time.Time `db:"received_at"`
	MemberStatus   string    `db:"member_status"`
	Revision       int64     `db:"revision"`
	LastPosition   int64     `db:"last_position"`
}

var columns = []string{"request_id", "member_id", "service_code", "catalog_version", "form", "received_at",
	"member_status", "revision", "last_position"}

func (r *row) values() []any {
	return []any{r.RequestID.String(), r.MemberID.String(), r.ServiceCode, r.CatalogVersion, r.Form, utc(r.ReceivedAt),
		r.MemberStatus, r.Revision, r.LastPosition}
}

var stepColumns = []string{"request_id", "revision", "at", "kind", "actor_id", "actor_role", "audience",
	"member_status", "member_label", "details"}

// utc is t in UTC at the microsecond, the precision PostgreSQL keeps: both dialects then hold the same values.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// entry is a request's state while a batch is folded.
type entry struct {
	row     row
	exists  bool
	changed bool
	steps   [][]any // step rows to insert
}

// Apply folds the batch request by request: the rows of the batch's requests are read at once, each request's new
// events (above its row's revision) are applied in order, the changed rows are written back with an upsert guarded
// by the revision, and the new steps are inserted (keyed by revision, so a replayed step inserts nothing).
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	changed, err := projections.BatchFold[*entry]{
		Keep: func(e event.Envelope) bool { return e.Stream.Category == sr.Category },
		LoadAll: func(ids []uuid.UUID) (map[uuid.UUID]*entry, error) {
			return projections.LoadByID(ctx, tx, table, "request_id", ids, func(r row) (uuid.UUID, *entry, error) {
				return r.RequestID, &entry{row: r, exists: true}, nil
			})
		},
		New:     func() *entry { return &entry{} },
		Fold:    apply,
		Changed: func(en *entry) bool { return en.changed },
	}.Apply(batch)
	if err != nil {
		return err
	}
	if err := write(ctx, tx, table, changed); err != nil {
		return err
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error {
		return eraseMember(ctx, tx, table, memberID)
	})
}

// eraseMember writes ErasedForm over the forms of memberID's requests and event.ErasedText over the personal
// details of their steps (see Details.erase). What is erased already stays as it is: a replay changes nothing.
func eraseMember(ctx context.Context, tx *sqldb.Tx, table string, memberID uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+table+" SET form = ? WHERE member_id = ? AND form <> ?"),
		ErasedForm, memberID.String(), ErasedForm); err != nil {
		return fmt.Errorf("casefiles: erase the forms of member-%s: %w", memberID, err)
	}
	type stepRow struct {
		RequestID string `db:"request_id"`
		Revision  int64  `db:"revision"`
		Details   string `db:"details"`
	}
	var steps []stepRow
	if err := sqlx.SelectContext(ctx, tx, &steps, tx.Rebind("SELECT s.request_id, s.revision, s.details FROM "+
		table+"_steps s WHERE s.request_id IN (SELECT f.request_id FROM "+table+" f WHERE f.member_id = ?)"),
		memberID.String()); err != nil {
		return fmt.Errorf("casefiles: read the steps of member-%s: %w", memberID, err)
	}
	update := tx.Rebind("UPDATE " + table + "_steps SET details = ? WHERE request_id = ? AND revision = ?")
	for _, s := range steps {
		var d Details
		if err := json.Unmarshal([]byte(s.Details), &d); err != nil {
			return fmt.Errorf("casefiles: %s revision %d: details: %w", s.RequestID, s.Revision, err)
		}
		if !d.erase() {
			continue
		}
		details, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("casefiles: %s revision %d: details: %w", s.RequestID, s.Revision, err)
		}
		if _, err := tx.ExecContext(ctx, update, string(details), s.RequestID, s.Revision); err != nil {
			return fmt.Errorf("casefiles: erase a step of member-%s: %w", memberID, err)
		}
	}
	return nil
}

// erase writes event.ErasedText over the personal details (the items asked for, the member's answer, a decision's
// or withdrawal's reason, a note's text; see projections.Erase) and reports whether anything changed.
func (d *Details) erase() bool {
	before := *d
	d.Items = projections.EraseAll(d.Items)
	d.Answer, d.Reason, d.Text = projections.Erase(d.Answer), projections.Erase(d.Reason), projections.Erase(d.Text)
	return !slices.Equal(before.Items, d.Items) || before.Answer != d.Answer || before.Reason != d.Reason ||
		before.Text != d.Text
}

func apply(en *entry, e event.Envelope) error {
	if en.exists && int64(e.Revision) <= en.row.Revision {
		return nil // applied already: a replay
	}
	r := &en.row
	if ev, ok := e.Event.(sr.Submitted); ok && !en.exists {
		*r = row{RequestID: e.Stream.ID, MemberID: ev.MemberID, ServiceCode: ev.ServiceCode,
			CatalogVersion: ev.CatalogVersion, Form: string(ev.Form), ReceivedAt: e.Metadata.OccurredAt}
		if e.Erased && !isObject(ev.Form) {
			r.Form = ErasedForm // decoded as erased: no answers to show, and no error
		}
		en.exists = true
	}
	if !en.exists {
		return fmt.Errorf("casefiles: %s revision %d: %s before %s", e.Stream, e.Revision, e.Type, sr.TypeSubmitted)
	}
	kind, d, ok := step(e.Event)
	if !ok {
		// An event type this version does not know yet (TestEveryEventIsAStep keeps the list whole): the timeline
		// still shows that something happened, and who did it, under the type's name, staff only.
		kind = Kind(e.Type)
	}
	if r.Form == ErasedForm {
		// The member's data was erased already: a later step (a note on the closed case, written before the keys
		// were destroyed) shows erased too, as a rebuild would show it.
		d.erase()
	}
	details, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("casefiles: %s revision %d: details: %w", e.Stream, e.Revision, err)
	}
	status, label := memberrequests.Next(memberrequests.Status(r.MemberStatus), e.Event)
	r.MemberStatus = string(status)
	audience, stepStatus := AudienceMember, string(status)
	if label == "" {
		audience, stepStatus = AudienceStaff, ""
	}
	en.steps = append(en.steps, []any{r.RequestID.String(), int64(e.Revision), utc(e.Metadata.OccurredAt),
		string(kind), e.Metadata.Actor.ID, string(e.Metadata.Actor.Role), string(audience), stepStatus, label,
		string(details)})
	r.Revision, r.LastPosition = int64(e.Revision), int64(e.Position)
	en.changed = true
	return nil
}

// isObject reports whether data is a JSON object.
func isObject(data json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(data, &m) == nil && m != nil
}

// step returns the kind and details of a service request event, and false for an event that is not one.
func step(v any) (Kind, Details, bool) {
	id := func(u uuid.UUID) *uuid.UUID {
		if u == uuid.Nil {
			return nil
		}
		return &u
	}
	at := func(t time.Time) *time.Time {
		t = t.UTC()
		return &t
	}
	switch ev := v.(type) {
	case sr.Submitted:
		return KindSubmitted, Details{ServiceCode: ev.ServiceCode, CatalogVersion: ev.CatalogVersion}, true
	case sr.Acknowledged:
		return KindAcknowledged, Details{Reference: ev.Reference, DueOn: ev.DueOn, ImplicitDecisionOn: ev.ImplicitDecisionOn,
			ImplicitOutcome: string(ev.Silence.Outcome), TimeZone: ev.TimeZone, AppealRoutes: ev.AppealRoutes}, true
	case sr.Queued:
		return KindQueued, Details{Queue: ev.Queue}, true
	case sr.Claimed:
		return KindClaimed, Details{Caseworker: id(ev.Caseworker)}, true
	case sr.Released:
		return KindReleased, Details{Caseworker: id(ev.Caseworker)}, true
	case sr.Reassigned:
		return KindReassigned, Details{Supervisor: id(ev.Supervisor), From: id(ev.From), To: id(ev.To)}, true
	case sr.InformationRequested:
		return KindInformationRequested, Details{Caseworker: id(ev.Caseworker), Items: ev.Items, Deadline: at(ev.Deadline)}, true
	case sr.InformationReceived:
		return KindInformationReceived, Details{Answer: ev.What}, true
	case sr.InformationDeadlineLapsed:
		return KindInformationDeadlineLapsed, Details{Deadline: at(ev.Deadline)}, true
	case sr.Decided:
		return KindDecided, Details{Caseworker: id(ev.Caseworker), Decision: ev.Decision, Reason: ev.Reason,
			CatalogVersion: ev.CatalogVersion, RuleApplied: ev.RuleApplied}, true
	case sr.Withdrawn:
		return KindWithdrawn, Details{Reason: ev.Reason}, true
	case sr.Closed:
		return KindClosed, Details{CloseReason: ev.Reason}, true
	case sr.NoteAdded:
		return KindNote, Details{Author: id(ev.Author), Text: ev.Text}, true
	}
	return "", Details{}, false
}

// write stores the changed rows with an upsert guarded by the revision, and inserts their new steps.
func write(ctx context.Context, tx *sqldb.Tx, table string, changed []*entry) error {
	if len(changed) == 0 {
		return nil
	}
	rows := make([][]any, len(changed))
	var steps [][]any
	for i, en := range changed {
		rows[i] = en.row.values()
		steps = append(steps, en.steps...)
	}
	conflict, err := projections.GuardedUpsert(table, []string{"request_id"}, columns, "revision").ConflictClause()
	if err != nil {
		return fmt.Errorf("casefiles: %w", err)
	}
	if _, err := sqldb.BulkInsert(ctx, tx, table, columns, rows, conflict); err != nil {
		return fmt.Errorf("casefiles: %w", err)
	}
	if _, err := sqldb.BulkInsert(ctx, tx, table+"_steps", stepColumns, steps,
		"ON CONFLICT (request_id, revision) DO NOTHING"); err != nil {
		return fmt.Errorf("casefiles: steps: %w", err)
	}
	return nil
}
