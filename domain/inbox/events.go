// Package inbox is the member's inbox of documents the fund publishes ("Consulter un document"): decision letters,
// payment attestations, and documents of the fund's other systems. One stream per member, "inbox-<member id>", so
// the member is the data subject of every event (titles and file names are sealed with the member's key) and the
// file itself is a blob sealed with the same key (adapters/blobstore).
//
// A document is notified to the member at its first opening (Opened), or deemed notified DeemedAfter after it was
// made available when never opened (DeemedNotified, recorded by a scheduled reaction); the notification date is what
// the appeal periods run from.
package inbox

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Category is the stream category of a member's inbox: "inbox-<member id>".
const Category = "inbox"

// StreamID is member memberID's inbox.
func StreamID(memberID uuid.UUID) event.StreamID { return event.NewStreamID(Category, memberID) }

// DeemedAfter is how long after it was made available a document never opened is deemed notified.
const DeemedAfter = 15 * 24 * time.Hour

// The stable type names of the events. Stored with every event: never rename them.
const (
	TypePublished      = "InboxDocumentPublished"
	TypeOpened         = "InboxDocumentOpened"
	TypeDeemedNotified = "InboxDocumentDeemedNotified"
)

// The kinds of published documents.
const (
	KindDecisionLetter     = "decision_letter"     // the letter of a decided request
	KindPaymentAttestation = "payment_attestation" // an attestation of payments asked by the member
	KindExternal           = "external"            // published by the fund's other systems
)

// Published records a document made available in the member's inbox, once its file is durably stored (the blob,
// sealed with the member's key). SourceID is what it comes from (the request of a decision letter, the attestation
// request), so a document is published once per source.
type Published struct {
	DocumentID  uuid.UUID `json:"document_id" personal:"no"`
	Kind        string    `json:"kind" personal:"no"`
	SourceID    uuid.UUID `json:"source_id" personal:"no"`
	Title       string    `json:"title" personal:"yes"`
	FileName    string    `json:"file_name" personal:"yes"`
	ContentType string    `json:"content_type" personal:"no"`
	Size        int64     `json:"size" personal:"no"`
	SHA256      string    `json:"sha256" personal:"no"` // of the file as published
	BlobKey     string    `json:"blob_key" personal:"no"`
	StoredSize  int64     `json:"stored_size" personal:"no"`
}

// Opened records the member's first opening of a document: its notification.
type Opened struct {
	DocumentID uuid.UUID `json:"document_id" personal:"no"`
}

// DeemedNotified records that a document never opened is deemed notified at NotifiedAt (made available +
// DeemedAfter), whenever the scheduler got to it.
type DeemedNotified struct {
	DocumentID uuid.UUID `json:"document_id" personal:"no"`
	NotifiedAt time.Time `json:"notified_at" personal:"no"`
}

// Definitions lists the inbox events, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Published](TypePublished),
		event.Define[Opened](TypeOpened),
		event.Define[DeemedNotified](TypeDeemedNotified),
	}
}
