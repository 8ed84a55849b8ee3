package servicerequest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Stream categories: "servicerequest-<request id>" holds the case; "servicerequestref-<ReferenceKey(reference)>"
// holds one ReferenceClaimed event, appended on an empty stream only, which makes references unique.
const (
	Category          = "servicerequest"
	ReferenceCategory = "servicerequestref"
)

// StreamID returns the stream of the service request id.
func StreamID(id uuid.UUID) event.StreamID { return event.NewStreamID(Category, id) }

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeSubmitted                 = "ServiceRequestSubmitted"
	TypeAcknowledged              = "ServiceRequestAcknowledged"
	TypeQueued                    = "ServiceRequestQueued"
	TypeClaimed                   = "ServiceRequestClaimed"
	TypeReleased                  = "ServiceRequestReleased"
	TypeReassigned                = "ServiceRequestReassigned"
	TypeInformationRequested      = "ServiceRequestInformationRequested"
	TypeInformationReceived       = "ServiceRequestInformationReceived"
	TypeInformationDeadlineLapsed = "ServiceRequestInformationDeadlineLapsed"
	TypeDecided                   = "ServiceRequestDecided"
	TypeClosed                    = "ServiceRequestClosed"
	TypeWithdrawn                 = "ServiceRequestWithdrawn"
	TypeNoteAdded                 = "ServiceRequestNoteAdded"
	TypeReferenceClaimed          = "ServiceRequestReferenceClaimed"
)

// Submitted records a member's request as received: the service of the catalog version it was validated against,
// and the form. The form is personal data: never logged. Its OccurredAt is the instant of receipt, from which the
// legal clock runs.
type Submitted struct {
	MemberID       uuid.UUID       `json:"member_id" personal:"no"`
	ServiceCode    string          `json:"service_code" personal:"no"`
	CatalogVersion string          `json:"catalog_version" personal:"no"`
	Form           json.RawMessage `json:"form" personal:"yes"` // a JSON object, compacted
	// CommandID is the idempotency key the request was submitted with (Idempotency-Key or generated): submitting
	// again with it is a no-op.
	CommandID uuid.UUID `json:"command_id" personal:"no"`
	// FromSubmission is the member's deposit of documents a caseworker of the intake queue opened this request
	// from, on the member's behalf (the caseworker is the event's actor); none when the member submitted it.
	FromSubmission uuid.UUID `json:"from_submission,omitzero" personal:"no"`
}

// Acknowledged is the acknowledgement of receipt (accusé de réception, CRPA L112-3 and R112-5): what the member is
// told, frozen as it was told. Dates are calendar days (YYYY-MM-DD) in TimeZone.
type Acknowledged struct {
	Reference    string    `json:"reference" personal:"no"` // "MSA-2026-7KQ2-M9XD-3F0A", see DeriveReference
	ReceivedAt   time.Time `json:"received_at" personal:"no"`
	HandlingTime Period    `json:"handling_time" personal:"no"`
	DueOn        string    `json:"due_on" personal:"no"` // handling target, as announced (no pause yet)
	// Silence is the rule of the catalog version: what silence means and after how long (L231-1, L231-4), or that
	// it decides nothing (NoImplicitDecision, without period: a document delivered by right, a declaration).
	Silence SilenceRule `json:"silence" personal:"no"`
	// ImplicitDecisionOn is the day silence becomes a decision, as announced; empty when the rule gives no implicit
	// decision (Silence.Outcome NoImplicitDecision).
	ImplicitDecisionOn string `json:"implicit_decision_on" personal:"no"`
	TimeZone           string `json:"time_zone" personal:"no"` // the calendar of the dates ("Europe/Paris")
	// AppealRoutes is the text of the délais et voies de recours (required when silence means rejection) or, for
	// acceptance, the mention of the right to an attestation (L232-3); without implicit decision, the routes
	// against the express decision that may follow.
	AppealRoutes string `json:"appeal_routes" personal:"no"`
	// ServiceInCharge is the service handling the request (R112-5 2°: name, postal address, phone, email), as the
	// fund's configuration named it for the request's queue when it was received. Acknowledgements recorded
	// before it existed have none (the zero value, omitted).
	ServiceInCharge ServiceInCharge `json:"service_in_charge,omitzero" personal:"no"`
}

// ServiceInCharge is the service of the fund that handles a request, as the acknowledgement of receipt names it
// (CRPA R112-5 2°). It is the fund's, never a person's: no personal data.
type ServiceInCharge struct {
	Name    string `json:"name"`
	Address string `json:"address"` // the postal address, its lines separated by "\n"
	Phone   string `json:"phone"`
	Email   string `json:"email"`
}

// Complete reports whether every part R112-5 asks for is there.
func (s ServiceInCharge) Complete() bool {
	return strings.TrimSpace(s.Name) != "" && strings.TrimSpace(s.Address) != "" && strings.TrimSpace(s.Phone) != "" &&
		strings.TrimSpace(s.Email) != ""
}

// Queued puts the request in a caseworker queue.
type Queued struct {
	Queue string `json:"queue" personal:"no"`
}

// Claimed gives the case to a caseworker.
type Claimed struct {
	Caseworker uuid.UUID `json:"caseworker_id" personal:"no"`
}

// Released gives the case back to its queue.
type Released struct {
	Caseworker uuid.UUID `json:"caseworker_id" personal:"no"`
}

// Reassigned moves the case to another caseworker by a supervisor's decision. From is uuid.Nil (omitted) when the
// case was unclaimed.
type Reassigned struct {
	Supervisor uuid.UUID `json:"supervisor_id" personal:"no"`
	From       uuid.UUID `json:"from_id,omitzero" personal:"no"`
	To         uuid.UUID `json:"to_id" personal:"no"`
}

// InformationRequested asks the member for missing information or documents (CRPA L114-5) by Deadline. Until
// InformationReceived the periods are suspended (silence means rejection) or wait to start again whole (acceptance):
// see Clock.
type InformationRequested struct {
	Caseworker uuid.UUID `json:"caseworker_id" personal:"no"`
	Items      []string  `json:"items" personal:"yes"`
	Deadline   time.Time `json:"deadline" personal:"no"` // the instant after which the request lapses
}

// InformationReceived records the member's answer; the legal clock runs again (see Clock for L114-5). What describes what was supplied
// (personal data: never logged).
type InformationReceived struct {
	What string `json:"what" personal:"yes"`
}

// InformationDeadlineLapsed says the member did not answer by Deadline; Closed{Reason: "lapsed"} follows.
type InformationDeadlineLapsed struct {
	Deadline time.Time `json:"deadline" personal:"no"`
}

// Decided is the express decision. CatalogVersion and RuleApplied say which rule of which catalog version the
// caseworker applied, for auditors and appeals.
type Decided struct {
	Caseworker     uuid.UUID `json:"caseworker_id" personal:"no"`
	Decision       Decision  `json:"decision" personal:"no"`
	Reason         string    `json:"reason,omitempty" personal:"yes"` // required for a rejection (CRPA L211-2: motivation)
	CatalogVersion string    `json:"catalog_version" personal:"no"`
	RuleApplied    string    `json:"rule_applied" personal:"no"`
	// AuthorName and AuthorPosition are the name and position of the decision's author as the decision states them
	// (CRPA L212-1), frozen as they were when it was taken. Decisions recorded before they existed have neither.
	AuthorName     string `json:"author_name,omitempty" personal:"yes"`
	AuthorPosition string `json:"author_position,omitempty" personal:"no"`
}

// Closed ends the case: CloseDecided, CloseWithdrawn or CloseLapsed. Nothing but notes happens after it.
type Closed struct {
	Reason string `json:"reason" personal:"no"`
}

// Withdrawn records that the member withdrew the request before any decision; Closed follows.
type Withdrawn struct {
	MemberID uuid.UUID `json:"member_id" personal:"no"`
	Reason   string    `json:"reason,omitempty" personal:"yes"`
}

// NoteAdded is an internal note: staff only, never shown to the member (messages to the member are another
// thing). The text may hold personal data: never logged.
type NoteAdded struct {
	Author uuid.UUID `json:"author_id" personal:"no"`
	Text   string    `json:"text" personal:"yes"`
}

// ReferenceClaimed is the only event of a "servicerequestref-<ReferenceKey(reference)>" stream: this reference
// belongs to RequestID. Appended with "no stream" as the expected state, it is what makes references unique.
type ReferenceClaimed struct {
	Reference string    `json:"reference" personal:"no"`
	RequestID uuid.UUID `json:"request_id" personal:"no"`
}

// Definitions lists the service request events, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Submitted](TypeSubmitted),
		event.Define[Acknowledged](TypeAcknowledged),
		event.Define[Queued](TypeQueued),
		event.Define[Claimed](TypeClaimed),
		event.Define[Released](TypeReleased),
		event.Define[Reassigned](TypeReassigned),
		event.Define[InformationRequested](TypeInformationRequested),
		event.Define[InformationReceived](TypeInformationReceived),
		event.Define[InformationDeadlineLapsed](TypeInformationDeadlineLapsed),
		event.Define[Decided](TypeDecided),
		event.Define[Closed](TypeClosed),
		event.Define[Withdrawn](TypeWithdrawn),
		event.Define[NoteAdded](TypeNoteAdded),
		event.Define[ReferenceClaimed](TypeReferenceClaimed),
	}
}
