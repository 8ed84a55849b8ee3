package member

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Stream categories: "member-<member id>"; "nirclaim-<keyed hash of the NIR>" holds one Claimed event per NIR
// (appended with NoStream: one account per NIR) and serves the login lookup NIR → member; "passwordreset-<id>"
// is one forgotten-password procedure.
const (
	Category              = "member"
	ClaimCategory         = "nirclaim"
	PasswordResetCategory = "passwordreset"
)

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeRegistered           = "MemberRegistered"
	TypePasswordSet          = "MemberPasswordSet"
	TypeLoggedIn             = "MemberLoggedIn"
	TypeLoginFailed          = "MemberLoginFailed"
	TypeLocked               = "MemberAccountLocked"
	TypeLoggedOut            = "MemberLoggedOut"
	TypeAddressChanged       = "MemberPostalAddressChanged"
	TypePhoneChanged         = "MemberPhoneChanged"
	TypeEmailChangeRequested = "MemberEmailChangeRequested"
	TypeEmailChangeRejected  = "MemberEmailChangeCodeRejected"
	TypeEmailChanged         = "MemberEmailChanged"
	TypeClaimed              = "NIRClaimed"
	TypeResetRequested       = "PasswordResetRequested"
	TypeResetCodeRejected    = "PasswordResetCodeRejected"
	TypeResetLocked          = "PasswordResetLocked"
	TypeResetCompleted       = "PasswordResetCompleted"
	TypeResetRefused         = "PasswordResetRefused"
	TypePasswordRehashed     = "MemberPasswordRehashed"
	TypeDataErased           = "MemberDataErased"
	TypeLegalHoldPlaced      = "MemberLegalHoldPlaced"
	TypeLegalHoldLifted      = "MemberLegalHoldLifted"
)

// Registered opens a member account (after a registration's code was verified). Personal data: never logged.
type Registered struct {
	RegistrationID uuid.UUID `json:"registration_id" personal:"no"`
	NIR            string    `json:"nir" personal:"yes"` // canonical 13-character body
	Key            int       `json:"key" personal:"yes"`
	LastName       string    `json:"last_name" personal:"yes"`
	FirstName      string    `json:"first_name" personal:"yes"`
	BirthDate      string    `json:"birth_date" personal:"yes"` // YYYY-MM-DD
	Email          string    `json:"email" personal:"yes"`
	MobilePhone    string    `json:"mobile_phone,omitempty" personal:"yes"` // E.164
}

// PasswordSet records a new password: its argon2id hash (PHC string) and the policy it was checked against.
// Reason: "activation", "change", "reset".
type PasswordSet struct {
	Hash          string `json:"hash" personal:"yes"`
	PolicyVersion string `json:"policy_version" personal:"no"`
	Reason        string `json:"reason" personal:"no"`
	// SessionID is the session the member changed the password in (Reason "change"), which stays open while the
	// HTTP layer ends every other one; absent for "activation" and "reset".
	SessionID uuid.UUID `json:"session_id,omitzero" personal:"no"`
}

// PasswordRehashed replaces the stored hash of the same password by one computed with the current argon2id
// parameters, after a successful login whose hash used older ones (the PHC string carries them). It is not a
// password change: the password, its policy version and the sessions stay as they are.
type PasswordRehashed struct {
	Hash string `json:"hash" personal:"yes"`
}

// LoggedIn records a successful login; SessionID names the server-side session (never its token).
type LoggedIn struct {
	SessionID uuid.UUID `json:"session_id" personal:"no"`
}

// LoginFailed records a wrong password. Failures counts consecutive failures since the last success or lock.
type LoginFailed struct {
	Failures int `json:"failures" personal:"no"`
}

// Locked suspends logins until Until (temporary lock after repeated failures).
type Locked struct {
	Until  time.Time `json:"until" personal:"no"`
	Reason string    `json:"reason" personal:"no"` // "too_many_failures"
}

// LoggedOut records the end of a session by the member (or by a password change: Reason "password_changed").
type LoggedOut struct {
	SessionID uuid.UUID `json:"session_id" personal:"no"`
	Reason    string    `json:"reason" personal:"no"` // "logout", "password_changed", "password_reset"
}

// AddressChanged records a new postal address, valid from EffectiveFrom (a date, YYYY-MM-DD).
type AddressChanged struct {
	Line1         string `json:"line1" personal:"yes"`
	Line2         string `json:"line2,omitempty" personal:"yes"`
	PostalCode    string `json:"postal_code" personal:"yes"`
	City          string `json:"city" personal:"yes"`
	Country       string `json:"country" personal:"yes"` // ISO 3166-1 alpha-2, "FR" by default
	EffectiveFrom string `json:"effective_from" personal:"no"`
}

// PhoneChanged records a new mobile phone (E.164), or its removal (empty).
type PhoneChanged struct {
	MobilePhone string `json:"mobile_phone" personal:"yes"`
}

// EmailChangeRequested says a code was sent to NewEmail; the change takes effect only when it is confirmed.
// The code is derived from the server key, the member id and Sequence (never stored).
type EmailChangeRequested struct {
	NewEmail      string    `json:"new_email" personal:"yes"`
	Sequence      int       `json:"sequence" personal:"no"`
	ExpiresAt     time.Time `json:"expires_at" personal:"no"`
	PolicyVersion string    `json:"policy_version" personal:"no"`
}

// EmailChangeRejected records a wrong confirmation code. Exhausted is the verdict of the code policy in force when
// the code was refused: true when this wrong code used up the attempts, so the request is void (any later code is
// refused until a new request). Events recorded before the verdict was added have no Exhausted (nil); for them the
// readers (the aggregate, the accounts projection) apply the current policy's maximum to Attempt, as they always
// did. Recorded verdicts are never decided again: a later change of the maximum applies only to later codes.
type EmailChangeRejected struct {
	Attempt   int   `json:"attempt" personal:"no"`
	Exhausted *bool `json:"exhausted,omitempty" personal:"no"`
}

// Verdict returns the recorded verdict and whether there is one (false for events recorded before it existed).
func (e EmailChangeRejected) Verdict() (exhausted, recorded bool) {
	if e.Exhausted == nil {
		return false, false
	}
	return *e.Exhausted, true
}

// EmailChanged records the confirmed new email address.
type EmailChanged struct {
	Email string `json:"email" personal:"yes"`
}

// Claimed is the only event of a nirclaim stream: this NIR belongs to MemberID.
type Claimed struct {
	MemberID uuid.UUID `json:"member_id" personal:"no"`
}

// ResetRequested opens a forgotten-password procedure (stream passwordreset-<id>) for MemberID; a code was
// sent to the member's email. The code is derived from the server key, the reset id and Sequence.
type ResetRequested struct {
	MemberID      uuid.UUID `json:"member_id" personal:"no"`
	Sequence      int       `json:"sequence" personal:"no"`
	ExpiresAt     time.Time `json:"expires_at" personal:"no"`
	PolicyVersion string    `json:"policy_version" personal:"no"`
}

// ResetCodeRejected records a wrong reset code.
type ResetCodeRejected struct {
	Attempt int `json:"attempt" personal:"no"`
}

// ResetLocked ends a reset procedure after too many wrong codes.
type ResetLocked struct {
	Reason string `json:"reason" personal:"no"`
}

// ResetRefused opens a forgotten-password procedure that can never succeed: no account has this NIR, or the email
// given is not the account's. No code is sent; the stream exists so that the procedure answers exactly like a real
// one (same id returned, wrong codes counted and locked the same way): no enumeration. Reason: "unknown_account",
// "email_mismatch"; never shown to anyone.
type ResetRefused struct {
	Reason string `json:"reason" personal:"no"`
}

// ResetCompleted ends a reset procedure: the member's new password is a PasswordSet on the member stream.
type ResetCompleted struct{}

// The reasons of an erasure (DataErased.Reason).
const (
	// ErasureRequested: the member asked for erasure (GDPR art. 17) and no legal obligation keeps the data.
	ErasureRequested = "member_request"
	// ErasureRetentionEnded: the retention period of the data ended.
	ErasureRetentionEnded = "retention_ended"
)

// DataErased records that the member's personal data was erased: the data keys of Subjects (the member's own and
// those of the registrations that opened the account) are destroyed, so every personal field of every event sealed
// under them reads as erased from then on, in the API, in every projection and in every rebuild. The event itself
// holds no personal data: who asked is in the metadata, why in Reason (ErasureRequested, ErasureRetentionEnded) and
// Ticket (the reference of the request in the fund's records). Nothing of the member can be changed afterwards.
type DataErased struct {
	Reason   string      `json:"reason" personal:"no"`
	Ticket   string      `json:"ticket,omitempty" personal:"no"`
	Subjects []uuid.UUID `json:"subjects" personal:"no"`
}

// LegalHoldPlaced keeps the member's data from being erased (a dispute, a court's or an inspection's request) until
// the hold of the same Ticket is lifted. Reason is a code ("litigation", "inspection", "fraud_investigation").
type LegalHoldPlaced struct {
	Ticket string `json:"ticket" personal:"no"`
	Reason string `json:"reason" personal:"no"`
}

// LegalHoldLifted ends the legal hold placed with Ticket.
type LegalHoldLifted struct {
	Ticket string `json:"ticket" personal:"no"`
}

// Definitions lists the member events, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Registered](TypeRegistered),
		event.Define[PasswordSet](TypePasswordSet),
		event.Define[LoggedIn](TypeLoggedIn),
		event.Define[LoginFailed](TypeLoginFailed),
		event.Define[Locked](TypeLocked),
		event.Define[LoggedOut](TypeLoggedOut),
		event.Define[AddressChanged](TypeAddressChanged),
		event.Define[PhoneChanged](TypePhoneChanged),
		event.Define[EmailChangeRequested](TypeEmailChangeRequested),
		event.Define[EmailChangeRejected](TypeEmailChangeRejected),
		event.Define[EmailChanged](TypeEmailChanged),
		event.Define[Claimed](TypeClaimed),
		event.Define[ResetRequested](TypeResetRequested),
		event.Define[ResetCodeRejected](TypeResetCodeRejected),
		event.Define[ResetLocked](TypeResetLocked),
		event.Define[ResetCompleted](TypeResetCompleted),
		event.Define[ResetRefused](TypeResetRefused),
		event.Define[PasswordRehashed](TypePasswordRehashed),
		event.Define[DataErased](TypeDataErased),
		event.Define[LegalHoldPlaced](TypeLegalHoldPlaced),
		event.Define[LegalHoldLifted](TypeLegalHoldLifted),
	}
}
