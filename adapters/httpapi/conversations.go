package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/conversations"
)

// Conversations ("Nous envoyer un message"): a member starts a conversation on a theme (routed to the theme's
// queue), lists theirs, reads one (the first reading of each reply is recorded) and writes on it while it is open.
// Staff of the queue list the conversations awaiting a reply, earliest due first, read one (the first reading of
// each member's message is recorded, never by an auditor), claim, reply, note (staff only) and close, with If-Match
// as on cases. Member routes take the member from the session: another member's conversation does not exist (404).
// Lists come from the conversations read model; one conversation is read from its stream (bodies stay sealed there).

type startConversationRequest struct {
	Theme     string    `json:"theme"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	RequestID uuid.UUID `json:"request_id,omitzero"` // optional: one of the member's requests
}

type conversationStartedBody struct {
	ID       uuid.UUID `json:"id"`
	Position string    `json:"position"`
}

// startConversation records the member's new conversation; with the same Idempotency-Key a retry records once.
func (s *Server) startConversation(w http.ResponseWriter, r *http.Request) {
	var in startConversationRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.ConversationCommands.Start(r.Context(), m, member, command.StartConversation{
			Theme: in.Theme, Subject: in.Subject, Body: in.Body, RequestID: in.RequestID})
		return http.StatusCreated, res.Position, conversationStartedBody{ID: res.ID, Position: formatPosition(res.Position)}, err
	})
}

type conversationsBody struct {
	Conversations []conversations.Conversation `json:"conversations"`
	Next          *string                      `json:"next"`
}

// listConversations lists a page of the member's conversations, the newest first.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Conversations.MemberPage(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	for i := range list { // a member never reads a staff id
		list[i].AssigneeID = nil
	}
	writeJSON(w, http.StatusOK, conversationsBody{Conversations: nonNilSlice(list), Next: nextOf(next)})
}

// conversationMessage is one message; StaffID only on staff routes.
type conversationMessage struct {
	ID      uuid.UUID  `json:"id"`
	From    string     `json:"from"` // member or staff
	StaffID *uuid.UUID `json:"staff_id,omitempty"`
	// StaffName names staff_id (staff routes only; absent for an account the staff directory has not reached yet).
	StaffName string     `json:"staff_name,omitempty"`
	Body      string     `json:"body"`
	SentAt    time.Time  `json:"sent_at"`
	ReadAt    *time.Time `json:"read_at"` // first reading by the other side; null: unread
	// Attachments are the files of a member's message (absent without any); download each at
	// .../messages/{message id}/attachments/{index}.
	Attachments []conversationAttachment `json:"attachments,omitempty"`
}

type conversationNote struct {
	ID        uuid.UUID `json:"id"`
	StaffID   uuid.UUID `json:"staff_id"`
	StaffName string    `json:"staff_name,omitempty"`
	Text      string    `json:"text"`
	AddedAt   time.Time `json:"added_at"`
}

// conversationBody is one conversation. Member routes leave out the assignee, the staff ids and the notes.
type conversationBody struct {
	ID         uuid.UUID             `json:"id"`
	Theme      string                `json:"theme"`
	ThemeLabel string                `json:"theme_label"`
	Queue      string                `json:"queue"`
	Subject    string                `json:"subject"`
	RequestID  *uuid.UUID            `json:"request_id"`
	Status     string                `json:"status"`
	ReplyDueAt *time.Time            `json:"reply_due_at"`
	StartedAt  time.Time             `json:"started_at"`
	Messages   []conversationMessage `json:"messages"`
	AssigneeID *uuid.UUID            `json:"assignee_id,omitempty"`
	// AssigneeName names assignee_id (staff routes only).
	AssigneeName string             `json:"assignee_name,omitempty"`
	Notes        []conversationNote `json:"notes,omitempty"`
	Revision     *uint64            `json:"revision,omitempty"` // staff: the ETag to send back as If-Match
}

func conversationBodyOf(c conversation.State, staff bool) conversationBody {
	cat := conversation.Load(c.CatalogVersion)
	if cat.Version == "" {
		cat = conversation.Current()
	}
	theme, _ := cat.Theme(c.Theme)
	b := conversationBody{ID: c.ID, Theme: c.Theme, ThemeLabel: theme.Label, Queue: c.Queue, Subject: c.Subject,
		Status: c.Status, StartedAt: c.StartedAt.UTC(), Messages: make([]conversationMessage, len(c.Messages))}
	if c.RequestID != uuid.Nil {
		b.RequestID = &c.RequestID
	}
	if !c.DueAt.IsZero() {
		due := c.DueAt.UTC()
		b.ReplyDueAt = &due
	}
	for i, m := range c.Messages {
		b.Messages[i] = conversationMessage{ID: m.ID, From: m.From, Body: m.Body, SentAt: m.At.UTC(),
			Attachments: attachmentsOf(m)}
		if !m.ReadAt.IsZero() {
			read := m.ReadAt.UTC()
			b.Messages[i].ReadAt = &read
		}
		if staff && m.StaffID != uuid.Nil {
			b.Messages[i].StaffID = &c.Messages[i].StaffID
		}
	}
	if staff {
		if c.Assignee != uuid.Nil {
			b.AssigneeID = &c.Assignee
		}
		b.Notes = make([]conversationNote, len(c.Notes))
		for i, n := range c.Notes {
			b.Notes[i] = conversationNote{ID: n.ID, StaffID: n.StaffID, Text: n.Text, AddedAt: n.At.UTC()}
		}
	}
	return b
}

// getConversation returns one of the member's conversations, recording the first reading of the replies.
func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.deps.ConversationCommands.MemberRead(r.Context(), m, principalOf(r.Context()).ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationBodyOf(c, false))
}

type conversationMessageRequest struct {
	Body string `json:"body"`
}

// writeConversation records the member's message on their open conversation.
func (s *Server) writeConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in conversationMessageRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.ConversationCommands.MemberWrite(r.Context(), m, member, id, in.Body)
		return http.StatusCreated, res.Position, positionOf(res.Position), err
	})
}

type conversationQueuesBody struct {
	Queues []conversations.QueueStats `json:"queues"`
}

// conversationQueues gives, for each queue the caller sees, its conversations awaiting a reply (unclaimed ones),
// answered ones, the next reply due and the breaches.
func (s *Server) conversationQueues(w http.ResponseWriter, r *http.Request) {
	access, ok := s.queueAccess(w, r)
	if !ok {
		return
	}
	stats, err := s.deps.Conversations.Stats(r.Context(), access.Queues())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationQueuesBody{Queues: nonNilSlice(stats)})
}

// listQueueConversations lists a page of a queue's conversations awaiting a reply, the earliest due first.
func (s *Server) listQueueConversations(w http.ResponseWriter, r *http.Request) {
	queue, ok := s.pathQueue(w, r)
	if !ok {
		return
	}
	list, next, err := s.deps.Conversations.QueuePage(r.Context(), queue, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, conversationsBody{Conversations: nonNilSlice(list), Next: nextOf(next)})
}

// staffConversation returns a conversation of a queue the caller sees, notes included, with its ETag; a caseworker
// or supervisor reading it records the first reading of the member's messages.
func (s *Server) staffConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, rev, err := s.deps.ConversationCommands.StaffRead(r.Context(), m, principalOf(r.Context()).ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The member's data is opened: recorded in their access log before anything is returned.
	if err := s.recordOpening(r, c.MemberID, staff.ViewConversation, c.ID.String()); err != nil {
		s.writeError(w, r, err)
		return
	}
	body := conversationBodyOf(c, true)
	if err := s.nameConversationStaff(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	body.Revision = &rev
	w.Header().Set("ETag", etagOf(rev))
	writeJSON(w, http.StatusOK, body)
}

// nameConversationStaff names the assignee and the staff of the messages and notes of a staff view, in one lookup.
func (s *Server) nameConversationStaff(r *http.Request, b *conversationBody) error {
	var ids []uuid.UUID
	if b.AssigneeID != nil {
		ids = append(ids, *b.AssigneeID)
	}
	for _, m := range b.Messages {
		if m.StaffID != nil {
			ids = append(ids, *m.StaffID)
		}
	}
	for _, n := range b.Notes {
		ids = append(ids, n.StaffID)
	}
	names, err := s.staffNames(r.Context(), ids)
	if err != nil {
		return err
	}
	if b.AssigneeID != nil {
		b.AssigneeName = names[*b.AssigneeID]
	}
	for i, m := range b.Messages {
		if m.StaffID != nil {
			b.Messages[i].StaffName = names[*m.StaffID]
		}
	}
	for i, n := range b.Notes {
		b.Notes[i].StaffName = names[n.StaffID]
	}
	return nil
}

// conversationCommand runs a staff command on the conversation named in the path, with its If-Match, and answers
// with its new ETag (a stale ETag is a 409, nothing recorded), as caseCommand does for cases.
func (s *Server) conversationCommand(w http.ResponseWriter, r *http.Request, in any, action func() command.ConversationAction) {
	s.staffRevisionCommand(w, r, in, func(m command.Meta, staffID, id uuid.UUID, expected *uint64) (command.Result, error) {
		return s.deps.ConversationCommands.Act(r.Context(), m, staffID, id, expected, action())
	})
}

func (s *Server) claimConversation(w http.ResponseWriter, r *http.Request) {
	s.conversationCommand(w, r, nil, func() command.ConversationAction { return command.ClaimConversation{} })
}

func (s *Server) releaseConversation(w http.ResponseWriter, r *http.Request) {
	s.conversationCommand(w, r, nil, func() command.ConversationAction { return command.ReleaseConversation{} })
}

func (s *Server) replyConversation(w http.ResponseWriter, r *http.Request) {
	var in conversationMessageRequest
	s.conversationCommand(w, r, &in, func() command.ConversationAction { return command.ReplyConversation{Body: in.Body} })
}

type conversationNoteRequest struct {
	Text string `json:"text"`
}

func (s *Server) noteConversation(w http.ResponseWriter, r *http.Request) {
	var in conversationNoteRequest
	s.conversationCommand(w, r, &in, func() command.ConversationAction { return command.NoteConversation{Text: in.Text} })
}

func (s *Server) closeConversation(w http.ResponseWriter, r *http.Request) {
	s.conversationCommand(w, r, nil, func() command.ConversationAction { return command.CloseConversation{} })
}
