package conversation

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Statuses of a conversation.
const (
	StatusAwaitingReply = "awaiting_reply" // the member wrote last: a reply is due
	StatusAnswered      = "answered"       // staff replied last
	StatusClosed        = "closed"
)

// Message is one message of a conversation; From is ReaderMember or ReaderStaff, ReadAt its first reading by the
// other side (zero: unread).
type Message struct {
	ID      uuid.UUID
	From    string
	StaffID uuid.UUID
	Body    string
	At      time.Time
	ReadAt  time.Time
	// Attachments are the member's files sent with the message, Names their names as sent (same order).
	Attachments []Attachment
	Names       []string
}

// Attachment returns attachment n (from 0) of message id, with its name as sent.
func (s State) Attachment(id uuid.UUID, n int) (Attachment, string, bool) {
	for _, m := range s.Messages {
		if m.ID == id && n >= 0 && n < len(m.Attachments) {
			name := ""
			if n < len(m.Names) {
				name = m.Names[n]
			}
			return m.Attachments[n], name, true
		}
	}
	return Attachment{}, "", false
}

// Note is an internal note.
type Note struct {
	ID      uuid.UUID
	StaffID uuid.UUID
	Text    string
	At      time.Time
}

// State is the one fold of a conversation.
type State struct {
	ID, MemberID, RequestID uuid.UUID
	Theme, Queue, Subject   string
	CatalogVersion          string
	Status                  string
	Assignee                uuid.UUID
	// DueAt is when a reply is due (zero unless awaiting one); StartedAt and LastAt the first and last message.
	DueAt, StartedAt, LastAt time.Time
	Messages                 []Message
	Notes                    []Note
}

// Apply folds e, recorded at at, into s.
func (s State) Apply(e any, at time.Time) State {
	switch v := e.(type) {
	case Started:
		s = State{ID: v.ConversationID, MemberID: v.MemberID, RequestID: v.RequestID, Theme: v.Theme, Queue: v.Queue,
			Subject: v.Subject, CatalogVersion: v.CatalogVersion, Status: StatusAwaitingReply, DueAt: v.DueAt,
			StartedAt: at, LastAt: at,
			Messages: []Message{{ID: v.MessageID, From: ReaderMember, Body: v.Body, At: at,
				Attachments: v.Attachments, Names: v.AttachmentNames}}}
	case MemberWrote:
		s.Messages = append(cloneMessages(s.Messages), Message{ID: v.MessageID, From: ReaderMember, Body: v.Body, At: at,
			Attachments: v.Attachments, Names: v.AttachmentNames})
		s.Status, s.DueAt, s.LastAt = StatusAwaitingReply, v.DueAt, at
	case Claimed:
		s.Assignee = v.StaffID
	case Released:
		s.Assignee = uuid.Nil
	case StaffReplied:
		s.Messages = append(cloneMessages(s.Messages), Message{ID: v.MessageID, From: ReaderStaff, StaffID: v.StaffID, Body: v.Body, At: at})
		s.Status, s.DueAt, s.LastAt = StatusAnswered, time.Time{}, at
	case NoteAdded:
		s.Notes = append(append([]Note(nil), s.Notes...), Note{ID: v.NoteID, StaffID: v.StaffID, Text: v.Text, At: at})
	case Closed:
		s.Status, s.DueAt = StatusClosed, time.Time{}
	case MessageRead:
		s.Messages = cloneMessages(s.Messages)
		for i := range s.Messages {
			if s.Messages[i].ID == v.MessageID && s.Messages[i].ReadAt.IsZero() {
				s.Messages[i].ReadAt = at
			}
		}
	}
	return s
}

func cloneMessages(m []Message) []Message { return append([]Message(nil), m...) }

// Fold folds a stream's history.
func Fold(history []event.Envelope) State {
	var s State
	for _, e := range history {
		s = s.Apply(e.Event, e.Metadata.OccurredAt)
	}
	return s
}

// Exists reports whether the conversation was started.
func (s State) Exists() bool { return s.ID != uuid.Nil }

// Unread returns the ids of the messages written by the other side of reader that reader has not read yet.
func (s State) Unread(reader string) []uuid.UUID {
	var out []uuid.UUID
	for _, m := range s.Messages {
		if m.From != reader && m.ReadAt.IsZero() {
			out = append(out, m.ID)
		}
	}
	return out
}

// MemberWrites decides the member's answer: refused on a closed conversation.
func (s State) MemberWrites(v MemberWrote) ([]any, error) {
	if s.Status == StatusClosed {
		return nil, ErrClosed
	}
	return []any{v}, nil
}

// Claim decides staffID's claim: nothing when they hold it already.
func (s State) Claim(staffID uuid.UUID) ([]any, error) {
	switch {
	case s.Status == StatusClosed:
		return nil, ErrClosed
	case s.Assignee == staffID:
		return nil, nil
	case s.Assignee != uuid.Nil:
		return nil, ErrAlreadyClaimed
	}
	return []any{Claimed{ConversationID: s.ID, StaffID: staffID}}, nil
}

// Release decides giving the conversation back to its queue: by its holder, or by a supervisor.
func (s State) Release(by uuid.UUID, supervisor bool) ([]any, error) {
	switch {
	case s.Status == StatusClosed:
		return nil, ErrClosed
	case s.Assignee == uuid.Nil:
		return nil, ErrNotClaimed
	case s.Assignee != by && !supervisor:
		return nil, ErrNotYours
	}
	return []any{Released{ConversationID: s.ID, StaffID: s.Assignee, By: by}}, nil
}

// Reply decides the reply of staffID, who must hold the conversation.
func (s State) Reply(staffID, messageID uuid.UUID, body string) ([]any, error) {
	if err := s.held(staffID); err != nil {
		return nil, err
	}
	return []any{StaffReplied{ConversationID: s.ID, MessageID: messageID, StaffID: staffID, Body: body}}, nil
}

// Close decides the closing by staffID, who must hold the conversation.
func (s State) Close(staffID uuid.UUID) ([]any, error) {
	if err := s.held(staffID); err != nil {
		return nil, err
	}
	return []any{Closed{ConversationID: s.ID, StaffID: staffID}}, nil
}

func (s State) held(staffID uuid.UUID) error {
	switch {
	case s.Status == StatusClosed:
		return ErrClosed
	case s.Assignee != staffID:
		return ErrNotClaimed
	}
	return nil
}

// CleanText trims a subject or a body and checks it: not empty, at most max characters (runes), no control
// characters but line breaks and tabs (in a body; none in a subject). field names the input in the error.
func CleanText(field, s string, max int, multiline bool, invalid *failure.Error) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" || utf8.RuneCountInString(s) > max || !utf8.ValidString(s) {
		return "", failure.Field(field, invalid)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			return "", failure.Field(field, invalid)
		}
	}
	return s, nil
}
