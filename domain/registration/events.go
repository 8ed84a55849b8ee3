package registration

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Category is the stream category of registrations: "registration-<registration id>".
const Category = "registration"

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeStarted      = "RegistrationStarted"
	TypeRefused      = "RegistrationRefused"
	TypeCodeIssued   = "ActivationCodeIssued"
	TypeCodeRejected = "ActivationCodeRejected"
	TypeLocked       = "RegistrationLocked"
	TypeCompleted    = "RegistrationCompleted"
)

// Started records a registration form as submitted: the identity the person gave and their contact details.
// Personal data: never logged.
type Started struct {
	NIR          string `json:"nir" personal:"yes"` // canonical 13-character body
	Key          int    `json:"key" personal:"yes"` // 1-97
	LastName     string `json:"last_name" personal:"yes"`
	FirstName    string `json:"first_name" personal:"yes"`
	BirthDate    string `json:"birth_date" personal:"yes"` // YYYY-MM-DD
	Email        string `json:"email" personal:"yes"`
	MobilePhone  string `json:"mobile_phone,omitempty" personal:"yes"` // E.164, +33…
	TermsVersion string `json:"terms_version" personal:"no"`           // the conditions of use the person accepted
}

// Refused says the registration cannot go on, for a reason the person is never told (no enumeration: they get
// the same answer as everyone). Reasons: "not_insured" (no match in the insured-person reference),
// "already_registered" (the NIR already has an account).
type Refused struct {
	Reason string `json:"reason" personal:"no"`
}

// CodeIssued says an activation code was sent by email. The code itself is never stored: it is derived from the
// server key, the registration id and Sequence (see domain/command), so the mail reaction can recompute it and
// nobody can read it from the log.
type CodeIssued struct {
	Sequence  int       `json:"sequence" personal:"no"` // 1 for the first code, +1 per resend; only the latest is valid
	ExpiresAt time.Time `json:"expires_at" personal:"no"`
	Channel   string    `json:"channel" personal:"no"` // "email"
	// PolicyVersion is the code policy applied (TTL, attempts), for auditors.
	PolicyVersion string `json:"policy_version" personal:"no"`
}

// CodeRejected records a wrong code. Attempt counts wrong codes over the whole registration (resends do not
// reset it: otherwise each resend would give five more guesses).
type CodeRejected struct {
	Attempt int `json:"attempt" personal:"no"`
}

// Locked ends a registration after too many wrong codes (or another reason): no code is accepted any more; the
// person starts a new registration.
type Locked struct {
	Reason string `json:"reason" personal:"no"` // "too_many_attempts"
}

// Completed says the code was right and the member account was opened.
type Completed struct {
	MemberID uuid.UUID `json:"member_id" personal:"no"`
}

// Definitions lists the registration events, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Started](TypeStarted),
		event.Define[Refused](TypeRefused),
		event.Define[CodeIssued](TypeCodeIssued),
		event.Define[CodeRejected](TypeCodeRejected),
		event.Define[Locked](TypeLocked),
		event.Define[Completed](TypeCompleted),
	}
}
