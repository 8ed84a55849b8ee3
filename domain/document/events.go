package document

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Category is the stream category of a member's deposits: "documentsubmissions-<member id>".
const Category = "documentsubmissions"

// StreamID is the stream of member memberID's deposits.
func StreamID(memberID uuid.UUID) event.StreamID { return event.NewStreamID(Category, memberID) }

// The stable type names of the events. Stored with every event: never rename them.
const (
	TypeSubmitted  = "DocumentsSubmitted"
	TypeRegistered = "DocumentsSubmissionRegistered"
	TypeAttached   = "DocumentsSubmissionAttached"
)

// The dispositions of a registered deposit.
const (
	DispositionInformationAnswer = "information_answer" // it answered the information request of its request
	DispositionCaseFile          = "case_file"          // it joined its request's case file
	DispositionIntake            = "intake"             // it waits in the intake queue for a caseworker
)

// File is one file (a page) of a document as recorded: its real type, its size and SHA-256 as the member sent it,
// and the blob that holds it (the SHA-256 of what is stored: the file sealed with the member's key).
type File struct {
	Type       string `json:"type" personal:"no"`
	Size       int64  `json:"size" personal:"no"`
	SHA256     string `json:"sha256" personal:"no"`
	BlobKey    string `json:"blob_key" personal:"no"`
	StoredSize int64  `json:"stored_size" personal:"no"`
}

// Document is one document of a deposit: its nature and its files, in order.
type Document struct {
	Nature string `json:"nature" personal:"no"`
	Files  []File `json:"files" personal:"no"`
}

// Detail is the personal part of a document, sealed with the member's key: who it is about, why it is sent, and
// the names the member's files had.
type Detail struct {
	Person    string   `json:"person" personal:"yes"`
	Reason    string   `json:"reason" personal:"yes"`
	FileNames []string `json:"file_names" personal:"yes"`
}

// Submitted records a member's deposit once every file of it is durably stored. Details[i] is the personal part of
// Documents[i]. AttestedAt is the moment the member gave the conformity attestation.
type Submitted struct {
	SubmissionID uuid.UUID  `json:"submission_id" personal:"no"`
	Reference    string     `json:"reference" personal:"no"`
	ListsVersion string     `json:"lists_version" personal:"no"`
	Subject      string     `json:"subject" personal:"no"`
	RequestID    uuid.UUID  `json:"request_id,omitempty" personal:"no"`
	AttestedAt   time.Time  `json:"attested_at" personal:"no"`
	Documents    []Document `json:"documents" personal:"no"`
	Details      []Detail   `json:"details" personal:"yes"`
}

// Registered records that the fund registered a deposit (the acknowledgement of receipt follows from it): what it
// did with it and, unless it waits in the intake queue, the request whose case file holds it.
type Registered struct {
	SubmissionID uuid.UUID `json:"submission_id" personal:"no"`
	Disposition  string    `json:"disposition" personal:"no"`
	RequestID    uuid.UUID `json:"request_id,omitempty" personal:"no"`
}

// Attached records a caseworker attaching a deposit of the intake queue to a case of the member.
type Attached struct {
	SubmissionID uuid.UUID `json:"submission_id" personal:"no"`
	RequestID    uuid.UUID `json:"request_id" personal:"no"`
}

// Definitions lists the events of the package, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Submitted](TypeSubmitted),
		event.Define[Registered](TypeRegistered),
		event.Define[Attached](TypeAttached),
	}
}
