package casefiles

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections/memberrequests"
)

// ErrNotFound is returned for a case file that does not exist (yet) or, to a member, is another member's: a member
// never learns that another member's request exists. Match with errors.Is.
var ErrNotFound = failure.New(failure.NotFound, "casefiles.not_found", "case file not found")

// File is a case file as staff read it: whose it is, what they submitted, and every step.
type File struct {
	RequestID uuid.UUID `json:"request_id"`
	MemberID  uuid.UUID `json:"member_id"`
	Form      Form      `json:"form"`
	Timeline  []Step    `json:"timeline"`
	// Revision is the request stream's revision of the last event the file reflects.
	Revision uint64 `json:"revision"`
}

// Step is a step of the timeline as staff read it.
type Step struct {
	Revision uint64    `json:"revision"` // the event's revision in the request stream
	At       time.Time `json:"at"`       // the event's business time
	Kind     Kind      `json:"kind"`
	// Actor is who caused the step: a member's or staff account's id and the role they acted in, or a system
	// reaction's name (role system).
	Actor event.Actor `json:"actor"`
	// StaffOnly marks a step the member is not told about: internal notes, releases, claims once the request is
	// taken up, reassignments.
	StaffOnly bool `json:"staff_only"`
	// MemberLabel is what the member is told of the step, in French; empty for a staff-only step.
	MemberLabel string  `json:"member_label,omitempty"`
	Details     Details `json:"details"`
}

// MemberFile is a case file as its member reads it: what they submitted and the steps they are told about.
type MemberFile struct {
	Form     Form         `json:"form"`
	Timeline []MemberStep `json:"timeline"`
}

// MemberStep is a step as the member is told about it: never a staff id, a queue or an internal note.
type MemberStep struct {
	At     time.Time             `json:"at"`
	Status memberrequests.Status `json:"status"` // the status after the step
	Label  string                `json:"label"`  // in French
	// Details is what the step says to the member, when it says more than its label.
	Details *MemberDetails `json:"details,omitempty"`
}

// MemberDetails is the member's part of a step's Details.
type MemberDetails struct {
	// acknowledged: the reference and the day silence becomes a decision, as announced (moved by pauses since: the
	// request's implicit_decision_on is the current one).
	Reference          string `json:"reference,omitempty"`
	ImplicitDecisionOn string `json:"implicit_decision_on,omitempty"`
	ImplicitOutcome    string `json:"implicit_outcome,omitempty"`
	// information_requested: what is asked for and by when; information_deadline_lapsed: the deadline.
	Items    []string   `json:"items,omitempty"`
	Deadline *time.Time `json:"deadline,omitempty"`
	// information_received: the member's own answer.
	Answer string `json:"answer,omitempty"`
	// decided: the outcome and its reason; withdrawn: the member's reason.
	Decision sr.Decision `json:"decision,omitempty"`
	Reason   string      `json:"reason,omitempty"`
	// closed: decided, withdrawn or lapsed.
	CloseReason string `json:"close_reason,omitempty"`
}

// Form is the form a member submitted, as the request recorded it, read with the catalog version it was validated
// against.
type Form struct {
	ServiceCode    string `json:"service_code"`
	ServiceLabel   string `json:"service_label,omitempty"` // the catalog version's label of the service
	CatalogVersion string `json:"catalog_version"`
	// Fields are the form's values: the fields the catalog version lists, in its order, then any other the form
	// holds, by name. Once the member's data is erased, one field named "erased" whose label and value read
	// event.ErasedText.
	Fields []FormField `json:"fields"`
	// Erased: the member's data was erased; the answers are gone.
	Erased bool `json:"erased,omitempty"`
}

// FormField is one value of a submitted form.
type FormField struct {
	Name string `json:"name"`
	// Label is the field's label in the catalog version ("Date de l'accident"); the name when that version does not
	// list the field.
	Label string            `json:"label"`
	Type  catalog.FieldType `json:"type,omitempty"`
	// Value is the value as recorded (JSON): a string, a day "YYYY-MM-DD", an integer (amounts in euro cents), a
	// boolean, or a choice's code.
	Value json.RawMessage `json:"value"`
	// ValueLabel is the label of a choice's option ("En couple").
	ValueLabel string `json:"value_label,omitempty"`
}

// Queries reads the live version of the case files through its views. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// stepRow is a step as stored.
type stepRow struct {
	Revision     int64     `db:"revision"`
	At           time.Time `db:"at"`
	Kind         string    `db:"kind"`
	ActorID      string    `db:"actor_id"`
	ActorRole    string    `db:"actor_role"`
	Audience     string    `db:"audience"`
	MemberStatus string    `db:"member_status"`
	MemberLabel  string    `db:"member_label"`
	Details      string    `db:"details"`
}

const (
	selectFile  = "SELECT f.* FROM " + Name + " f WHERE f.request_id = ?"
	selectSteps = "SELECT s.revision, s.at, s.kind, s.actor_id, s.actor_role, s.audience, s.member_status, " +
		"s.member_label, s.details FROM " + Name + "_steps s WHERE s.request_id = ? AND s.revision <= ?"
	stepOrder = " ORDER BY s.revision"
)

// Get returns the case file of requestID with every step, for staff, or an error wrapping ErrNotFound. The caller
// checks that the reader may see the case, and records the opening of the member's data.
func (q *Queries) Get(ctx context.Context, requestID uuid.UUID) (File, error) {
	r, err := q.file(ctx, requestID, selectFile, requestID.String())
	if err != nil {
		return File{}, err
	}
	rows, err := q.steps(ctx, r, selectSteps+stepOrder)
	if err != nil {
		return File{}, err
	}
	f := File{RequestID: r.RequestID, MemberID: r.MemberID, Revision: uint64(r.Revision), Timeline: make([]Step, len(rows))}
	if f.Form, err = labelled(r); err != nil {
		return File{}, err
	}
	for i, s := range rows {
		st := Step{Revision: uint64(s.Revision), At: s.At.UTC(), Kind: Kind(s.Kind),
			Actor:     event.Actor{ID: s.ActorID, Role: event.Role(s.ActorRole)},
			StaffOnly: Audience(s.Audience) != AudienceMember, MemberLabel: s.MemberLabel}
		if err := json.Unmarshal([]byte(s.Details), &st.Details); err != nil {
			return File{}, fmt.Errorf("casefiles: %s revision %d: details: %w", sr.StreamID(requestID), s.Revision, err)
		}
		f.Timeline[i] = st
	}
	return f, nil
}

// ForMember returns memberID's case file of requestID with the steps the member is told about, or an error wrapping
// ErrNotFound (also when it is another member's). Staff-only steps are left out by the query.
func (q *Queries) ForMember(ctx context.Context, memberID, requestID uuid.UUID) (MemberFile, error) {
	r, err := q.file(ctx, requestID, selectFile+" AND f.member_id = ?", requestID.String(), memberID.String())
	if err != nil {
		return MemberFile{}, err
	}
	rows, err := q.steps(ctx, r, selectSteps+" AND s.audience = ?"+stepOrder, string(AudienceMember))
	if err != nil {
		return MemberFile{}, err
	}
	f := MemberFile{Timeline: make([]MemberStep, len(rows))}
	if f.Form, err = labelled(r); err != nil {
		return MemberFile{}, err
	}
	for i, s := range rows {
		var d Details
		if err := json.Unmarshal([]byte(s.Details), &d); err != nil {
			return MemberFile{}, fmt.Errorf("casefiles: %s revision %d: details: %w", sr.StreamID(requestID), s.Revision, err)
		}
		f.Timeline[i] = MemberStep{At: s.At.UTC(), Status: memberrequests.Status(s.MemberStatus), Label: s.MemberLabel,
			Details: forMember(Kind(s.Kind), d)}
	}
	return f, nil
}

// forMember is the member's part of a step's details, nil when there is none. It copies field by field, by kind:
// whatever Details gains later stays staff-only until it is added here.
func forMember(k Kind, d Details) *MemberDetails {
	var m MemberDetails
	switch k {
	case KindAcknowledged:
		m = MemberDetails{Reference: d.Reference, ImplicitDecisionOn: d.ImplicitDecisionOn, ImplicitOutcome: d.ImplicitOutcome}
	case KindInformationRequested:
		m = MemberDetails{Items: d.Items, Deadline: d.Deadline}
	case KindInformationReceived:
		m = MemberDetails{Answer: d.Answer}
	case KindInformationDeadlineLapsed:
		m = MemberDetails{Deadline: d.Deadline}
	case KindDecided:
		m = MemberDetails{Decision: d.Decision, Reason: d.Reason}
	case KindWithdrawn:
		m = MemberDetails{Reason: d.Reason}
	case KindClosed:
		m = MemberDetails{CloseReason: d.CloseReason}
	default:
		return nil
	}
	if m.Reference == "" && m.ImplicitDecisionOn == "" && m.ImplicitOutcome == "" && len(m.Items) == 0 &&
		m.Deadline == nil && m.Answer == "" && m.Decision == "" && m.Reason == "" && m.CloseReason == "" {
		return nil
	}
	return &m
}

// file reads the row of requestID that query (with args) selects.
func (q *Queries) file(ctx context.Context, requestID uuid.UUID, query string, args ...any) (row, error) {
	var r row
	err := sqlx.GetContext(ctx, q.db, &r, q.db.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, fmt.Errorf("casefiles: %s: %w", sr.StreamID(requestID), ErrNotFound)
	}
	if err != nil {
		return row{}, fmt.Errorf("casefiles: get %s: %w", sr.StreamID(requestID), err)
	}
	return r, nil
}

// steps reads the steps of r's request up to r's revision, so that the timeline agrees with the row even if a
// batch committed between the two statements.
func (q *Queries) steps(ctx context.Context, r row, query string, more ...any) ([]stepRow, error) {
	var rows []stepRow
	args := append([]any{r.RequestID.String(), r.Revision}, more...)
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("casefiles: timeline of %s: %w", sr.StreamID(r.RequestID), err)
	}
	return rows, nil
}

// labelled reads r's form with the labels of the catalog version it was validated against. A version or service
// the catalog does not know (never the case: versions are never removed) leaves the fields named by their names.
func labelled(r row) (Form, error) {
	f := Form{ServiceCode: r.ServiceCode, CatalogVersion: r.CatalogVersion, Fields: []FormField{}}
	var fields []catalog.Field
	if c, err := catalog.Load(r.CatalogVersion); err == nil {
		if svc, err := c.Lookup(r.ServiceCode); err == nil {
			f.ServiceLabel, fields = svc.Label, svc.Fields
		}
	}
	if r.Form == ErasedForm {
		f.Erased = true
		f.Fields = []FormField{{Name: "erased", Label: event.ErasedText, Value: json.RawMessage(ErasedForm)}}
		return f, nil
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Form), &values); err != nil {
		return Form{}, fmt.Errorf("casefiles: %s: form: %w", sr.StreamID(r.RequestID), err)
	}
	for _, field := range fields {
		v, ok := values[field.Name]
		if !ok {
			continue // an optional field left empty
		}
		ff := FormField{Name: field.Name, Label: field.Label, Type: field.Type, Value: v}
		if field.Type == catalog.FieldChoice {
			var code string
			if json.Unmarshal(v, &code) == nil {
				if i := slices.IndexFunc(field.Options, func(o catalog.Option) bool { return o.Code == code }); i >= 0 {
					ff.ValueLabel = field.Options[i].Label
				}
			}
		}
		f.Fields = append(f.Fields, ff)
		delete(values, field.Name)
	}
	var rest []FormField
	for name, v := range values {
		rest = append(rest, FormField{Name: name, Label: name, Value: v})
	}
	slices.SortFunc(rest, func(a, b FormField) int { return cmp.Compare(a.Name, b.Name) })
	f.Fields = append(f.Fields, rest...)
	return f, nil
}
