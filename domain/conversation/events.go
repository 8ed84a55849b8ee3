package conversation

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Category: "conversation-<conversation id>".
const Category = "conversation"

// StreamID returns the stream of conversation id.
func StreamID(id uuid.UUID) event.StreamID { return event.NewStreamID(Category, id) }

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeStarted      = "ConversationStarted"
	TypeMemberWrote  = "ConversationMemberWrote"
	TypeClaimed      = "ConversationClaimed"
	TypeReleased     = "ConversationReleased"
	TypeStaffReplied = "ConversationStaffReplied"
	TypeNoteAdded    = "ConversationNoteAdded"
	TypeClosed       = "ConversationClosed"
	TypeMessageRead  = "ConversationMessageRead"
)

// Started: a member's new conversation and its first message, routed to the theme's queue, a reply due at DueAt.
type Started struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	MemberID       uuid.UUID `json:"member_id" personal:"no"`
	Theme          string    `json:"theme" personal:"no"`
	Queue          string    `json:"queue" personal:"no"`
	Subject        string    `json:"subject" personal:"yes"`
	MessageID      uuid.UUID `json:"message_id" personal:"no"`
	Body           string    `json:"body" personal:"yes"`
	RequestID      uuid.UUID `json:"request_id,omitzero" personal:"no"`
	DueAt          time.Time `json:"due_at" personal:"no"`
	CatalogVersion string    `json:"catalog_version" personal:"no"`
	// Attachments are the message's files, each durably stored before this event; AttachmentNames their names as
	// the member sent them (personal), in the same order. Both absent without attachments.
	Attachments     []Attachment `json:"attachments,omitempty" personal:"no"`
	AttachmentNames []string     `json:"attachment_names,omitempty" personal:"yes"`
}

// Attachment is one file of a member's message as recorded: its real type (judged on the content), its size and
// SHA-256 as the member sent it, and the blob that holds it sealed under the member's key (named by the SHA-256 of
// what is stored, StoredSize bytes). Never the bytes.
type Attachment struct {
	Type       string `json:"type" personal:"no"`
	Size       int64  `json:"size" personal:"no"`
	SHA256     string `json:"sha256" personal:"no"`
	BlobKey    string `json:"blob_key" personal:"no"`
	StoredSize int64  `json:"stored_size" personal:"no"`
}

// MemberWrote: the member's answer on an open conversation; the wait for a reply starts again, due at DueAt.
type MemberWrote struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	MessageID      uuid.UUID `json:"message_id" personal:"no"`
	Body           string    `json:"body" personal:"yes"`
	DueAt          time.Time `json:"due_at" personal:"no"`
	// Attachments and AttachmentNames: as in Started.
	Attachments     []Attachment `json:"attachments,omitempty" personal:"no"`
	AttachmentNames []string     `json:"attachment_names,omitempty" personal:"yes"`
}

// Claimed: a staff member takes the conversation.
type Claimed struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
}

// Released: the conversation goes back to its queue, unclaimed: given back by StaffID, who held it, or taken from
// them by a supervisor (By).
type Released struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
	By             uuid.UUID `json:"by" personal:"no"`
}

// StaffReplied: the reply of the staff member who holds the conversation; the member sees it.
type StaffReplied struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	MessageID      uuid.UUID `json:"message_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
	Body           string    `json:"body" personal:"yes"`
}

// NoteAdded: an internal note, never shown to the member.
type NoteAdded struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	NoteID         uuid.UUID `json:"note_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
	Text           string    `json:"text" personal:"yes"`
}

// Closed: the staff member who holds the conversation closes it.
type Closed struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
}

// Readers of a message.
const (
	ReaderMember = "member"
	ReaderStaff  = "staff"
)

// MessageRead is the first reading of a message by the other side (the member reads a reply, staff a member's
// message): recorded once per message, at the event's time.
type MessageRead struct {
	ConversationID uuid.UUID `json:"conversation_id" personal:"no"`
	MessageID      uuid.UUID `json:"message_id" personal:"no"`
	Reader         string    `json:"reader" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id,omitzero" personal:"no"` // the staff reader
}

// Definitions lists the events of the package, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Started](TypeStarted),
		event.Define[MemberWrote](TypeMemberWrote),
		event.Define[Claimed](TypeClaimed),
		event.Define[Released](TypeReleased),
		event.Define[StaffReplied](TypeStaffReplied),
		event.Define[NoteAdded](TypeNoteAdded),
		event.Define[Closed](TypeClosed),
		event.Define[MessageRead](TypeMessageRead),
	}
}
