package event

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrInvalidMetadata is returned when an event would be written without the metadata auditors rely on.
var ErrInvalidMetadata = errors.New("invalid event metadata")

// Role is the role an actor acted in.
type Role string

// The roles. Their values are stored in every event: never rename them.
const (
	RoleMember     Role = "member"
	RoleCaseworker Role = "caseworker"
	RoleSupervisor Role = "supervisor"
	RoleAuditor    Role = "auditor"
	RoleAdmin      Role = "admin"
	RoleSystem     Role = "system"
)

// Valid reports whether r is one of the roles above.
func (r Role) Valid() bool {
	switch r {
	case RoleMember, RoleCaseworker, RoleSupervisor, RoleAuditor, RoleAdmin, RoleSystem:
		return true
	}
	return false
}

// Actor is who caused an event. ID is the member's or staff account's UUID, or for RoleSystem the stable name of the
// component ("reactions/acknowledgement"). It never holds a name, an email or a NIR.
type Actor struct {
	ID   string `json:"id"`
	Role Role   `json:"role"`
}

// Metadata travels with every event. The JSON names are part of the stored format.
type Metadata struct {
	// CorrelationID is shared by everything one user action caused, across commands and reactions.
	CorrelationID uuid.UUID `json:"correlation_id"`
	// CausationID is the id of what directly caused this event: the command id for a person's command, the event id
	// of the triggering event for a reaction.
	CausationID uuid.UUID `json:"causation_id"`
	// CommandID identifies the command that appended the event; event ids derive from it (see DeriveID).
	CommandID uuid.UUID `json:"command_id"`
	// Actor is who acted.
	Actor Actor `json:"actor"`
	// OccurredAt is the business time of the fact, from the command's injected clock (the store records its own
	// time separately, as Envelope.RecordedAt).
	OccurredAt time.Time `json:"occurred_at"`
	// SchemaVersion is the version of the event's payload schema when it was written; the codec sets it. Zero (an
	// event written without our metadata) reads as 1.
	SchemaVersion int `json:"schema_version"`
	// Subject is the data subject whose key seals the event's personal fields (see Sealer): the member, registration,
	// staff member or insured person the data is about. Zero means the stream's own id; the store sets it for events
	// appended to an existing stream from the stream's first event, so a request's later events (answers, notes)
	// stay under its member's key.
	Subject uuid.UUID `json:"subject,omitzero"`
	// RequestHash fingerprints the request a person's command was run for (the HTTP layer's hash of the route, the
	// path and the canonical JSON body, keyed by the Idempotency-Key, which the log never holds): a retry with the
	// same CommandID and another RequestHash is another request under a reused key (ErrRequestReused), never a
	// replay. Empty for commands without an Idempotency-Key and for events written before it existed.
	RequestHash string `json:"request_hash,omitempty"`
}

// ErrRequestReused refuses a command whose id (the client's Idempotency-Key) already stands for another request:
// answering with the first request's result would silently drop this one.
var ErrRequestReused = failure.New(failure.Invalid, "request.idempotency_key_reused",
	"idempotency key already used for another request")

// CheckReplay is called when a command's events are found already recorded (a retry): it returns ErrRequestReused
// when both the retry (m) and the recorded events carry a RequestHash and they differ, nil otherwise.
func (m Metadata) CheckReplay(recorded Metadata) error {
	if m.RequestHash != "" && recorded.RequestHash != "" && m.RequestHash != recorded.RequestHash {
		return ErrRequestReused
	}
	return nil
}

// Validate reports every missing field at once.
func (m Metadata) Validate() error {
	var errs []error
	if m.CorrelationID == uuid.Nil {
		errs = append(errs, errors.New("no correlation id"))
	}
	if m.CausationID == uuid.Nil {
		errs = append(errs, errors.New("no causation id"))
	}
	if m.CommandID == uuid.Nil {
		errs = append(errs, errors.New("no command id"))
	}
	if m.Actor.ID == "" {
		errs = append(errs, errors.New("no actor id"))
	}
	if !m.Actor.Role.Valid() {
		errs = append(errs, fmt.Errorf("unknown actor role %q", m.Actor.Role))
	}
	if m.OccurredAt.IsZero() {
		errs = append(errs, errors.New("no occurred_at"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidMetadata, errors.Join(errs...))
	}
	return nil
}
