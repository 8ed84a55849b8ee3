package staff

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Stream categories: "staff-<staff id>"; "stafflogin-<keyed hash of the login>" holds one LoginClaimed event
// (unique logins, login lookup); "memberaccess-<member id>" is the log of staff reads of one member's data;
// "staffadmins-<AdminRegistryID>" is the one registry of administrators that keeps at least one of them (see Admins).
const (
	Category       = "staff"
	LoginCategory  = "stafflogin"
	AccessCategory = "memberaccess"
	AdminsCategory = "staffadmins"
	// SearchCategory is "staffsearch-<staff id>": the member directory searches of one staff member
	// (MemberDirectorySearched).
	SearchCategory = "staffsearch"
)

// Roles of staff members. The first four are working roles (what the staff member does); RoleMedical is an
// attribute added to one of them: the staff member belongs to the fund's medical service, the only staff who may be
// assigned to, see and work the cases of confidential queues (medical content, catalog.Queue.Confidential). It
// never acts on its own: an account needs a working role.
const (
	RoleCaseworker = "caseworker"
	RoleSupervisor = "supervisor"
	RoleAuditor    = "auditor"
	RoleAdmin      = "admin"
	RoleMedical    = "medical"
)

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeCreated          = "StaffMemberCreated"
	TypePasswordSet      = "StaffPasswordSet"
	TypeTOTPEnrolled     = "StaffTOTPEnrolled"
	TypeTOTPConfirmed    = "StaffTOTPConfirmed"
	TypeLoggedIn         = "StaffLoggedIn"
	TypeLoginFailed      = "StaffLoginFailed"
	TypeLocked           = "StaffAccountLocked"
	TypeLoggedOut        = "StaffLoggedOut"
	TypeRolesChanged     = "StaffRolesChanged"
	TypeLoginClaimed     = "StaffLoginClaimed"
	TypeMemberDataOpened = "MemberDataOpenedByStaff"
	TypeQueuesAssigned   = "StaffQueuesAssigned"
	TypeTOTPReset        = "StaffTOTPReset"
	TypePasswordRehashed = "StaffPasswordRehashed"
	// TypeMemberDirectorySearched is stored on the stream staffsearch-<staff id>.
	TypeMemberDirectorySearched = "StaffMemberDirectorySearched"
	// The administrators' registry (stream staffadmins-<AdminRegistryID>).
	TypeAdminConfirmed       = "StaffAdminConfirmed"
	TypeAdminRemovalApproved = "StaffAdminRemovalApproved"
)

// Created opens a staff account.
type Created struct {
	Login string   `json:"login" personal:"yes"`
	Name  string   `json:"name" personal:"yes"`
	Roles []string `json:"roles" personal:"no"`
}

// PasswordSet records a staff password hash (argon2id PHC string) and its policy version.
type PasswordSet struct {
	Hash          string `json:"hash" personal:"yes"`
	PolicyVersion string `json:"policy_version" personal:"no"`
}

// TOTPEnrolled starts a TOTP enrolment. The secret is never stored: it is derived from the server key, the
// staff id and Sequence, so it can be recomputed to verify codes and nobody reads it from the log.
type TOTPEnrolled struct {
	Sequence int `json:"sequence" personal:"no"`
}

// TOTPConfirmed says the staff member proved they hold the enrolled secret (a first valid code); logins need it.
type TOTPConfirmed struct {
	Sequence int   `json:"sequence" personal:"no"`
	Step     int64 `json:"step" personal:"no"` // the TOTP time step used, so it cannot be replayed
}

// LoggedIn records a staff login (password + TOTP); Step is the TOTP time step used (replay protection).
type LoggedIn struct {
	SessionID uuid.UUID `json:"session_id" personal:"no"`
	Step      int64     `json:"step" personal:"no"`
}

// LoginFailed records a failed staff login; Failures counts consecutive failures.
type LoginFailed struct {
	Failures int    `json:"failures" personal:"no"`
	Reason   string `json:"reason" personal:"no"` // "password", "totp", "totp_replayed", "not_enrolled"
}

// Locked suspends a staff account's logins until Until.
type Locked struct {
	Until  time.Time `json:"until" personal:"no"`
	Reason string    `json:"reason" personal:"no"`
}

// LoggedOut ends a staff session.
type LoggedOut struct {
	SessionID uuid.UUID `json:"session_id" personal:"no"`
}

// RolesChanged replaces a staff member's roles (an admin's decision).
type RolesChanged struct {
	Roles []string `json:"roles" personal:"no"`
}

// LoginClaimed is the only event of a stafflogin stream: this login belongs to StaffID.
type LoginClaimed struct {
	StaffID uuid.UUID `json:"staff_id" personal:"no"`
}

// MemberDataOpened records that a staff member opened a member's data (stream memberaccess-<member id>), so
// members and auditors can ask who looked at a file. What names the view ("member.profile", "member.directory").
// Subject, when set, names which item of the view was opened, as the member knows it: the reference of the request
// ("MSA-2026-7KQ2-M9XD-3F0A") for ViewCaseFile. It was added later: events without it (every opening before, and
// views of the whole account) are still valid.
type MemberDataOpened struct {
	StaffID uuid.UUID `json:"staff_id" personal:"no"`
	Role    string    `json:"role" personal:"no"`
	What    string    `json:"what" personal:"no"`
	Subject string    `json:"subject,omitempty" personal:"no"`
}

// Kinds of member directory query, recorded in MemberDirectorySearched.Kind: never the query itself.
const (
	// SearchKindNIR is a search by social security number (NIR).
	SearchKindNIR = "nir"
	// SearchKindName is a search by name.
	SearchKindName = "name"
)

// MemberDirectorySearched records that a staff member searched the member directory (stream staffsearch-<staff
// id>), before the results were answered: who (the staff id and the working role they acted in), the kind of query
// (SearchKindNIR or SearchKindName; never its text, never a NIR) and the members it returned, in the order shown.
type MemberDirectorySearched struct {
	StaffID   uuid.UUID   `json:"staff_id" personal:"no"`
	Role      string      `json:"role" personal:"no"`
	Kind      string      `json:"kind" personal:"no"`
	Results   int         `json:"results" personal:"no"`
	MemberIDs []uuid.UUID `json:"member_ids" personal:"no"`
}

// QueuesAssigned replaces the caseworker queues (catalog queue codes, sorted, without duplicates) a staff member
// belongs to, by an administrator's decision; an empty list removes every queue. A caseworker acts only on the
// cases of these queues. Staff.Rehydrate ignores it: domain/command folds it (StaffQueues).
type QueuesAssigned struct {
	Queues []string `json:"queues" personal:"no"`
}

// TOTPReset revokes the staff member's second factor (a lost or replaced phone), by an administrator's decision (the
// actor of the event). It is always followed by a TOTPEnrolled of the next sequence: the old secret stops working at
// once and the staff member enrols the new one at their next login, exactly as on the first. Every session opened
// before it ends, the login lock and the count of failures end too (the administrator checked who asks), and the
// replay guard starts again: a code of the new secret shares nothing with the old one's.
type TOTPReset struct {
	PreviousSequence int `json:"previous_sequence" personal:"no"`
}

// PasswordRehashed replaces the stored hash of the same password by one computed with the current argon2id
// parameters, after a successful login whose hash used older ones. It is not a password change: no policy version,
// no session ended.
type PasswordRehashed struct {
	Hash string `json:"hash" personal:"yes"`
}

// Definitions lists the staff events, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Created](TypeCreated),
		event.Define[PasswordSet](TypePasswordSet),
		event.Define[TOTPEnrolled](TypeTOTPEnrolled),
		event.Define[TOTPConfirmed](TypeTOTPConfirmed),
		event.Define[LoggedIn](TypeLoggedIn),
		event.Define[LoginFailed](TypeLoginFailed),
		event.Define[Locked](TypeLocked),
		event.Define[LoggedOut](TypeLoggedOut),
		event.Define[RolesChanged](TypeRolesChanged),
		event.Define[LoginClaimed](TypeLoginClaimed),
		event.Define[MemberDataOpened](TypeMemberDataOpened),
		event.Define[QueuesAssigned](TypeQueuesAssigned),
		event.Define[TOTPReset](TypeTOTPReset),
		event.Define[PasswordRehashed](TypePasswordRehashed),
		event.Define[AdminConfirmed](TypeAdminConfirmed),
		event.Define[AdminRemovalApproved](TypeAdminRemovalApproved),
		event.Define[MemberDirectorySearched](TypeMemberDirectorySearched),
	}
}
