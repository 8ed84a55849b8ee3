package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// Conversations runs the commands of "Nous envoyer un message": the member starts a conversation, writes on it and
// reads it (the first reading of each reply recorded once); staff of the theme's queue claim, reply, note and close
// it (Act, with If-Match as on cases) and read it (the first reading of each member's message recorded once). Its
// only port is the store.
type Conversations struct {
	core
	check FileChecker // attachments (UseFiles): the deposits' file rules
	blobs BlobStore
}

// NewConversations returns the conversation commands; Store is required.
func NewConversations(rt Runtime) (*Conversations, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	return &Conversations{core: c}, nil
}

// conversationRetries: re-deciding a member's message or a read receipt over a newer history is safe.
const conversationRetries = 20

// StartConversation is a member's new conversation: a theme of conversation.Current(), a subject, the first
// message, optionally one of the member's requests.
type StartConversation struct {
	Theme, Subject, Body string
	RequestID            uuid.UUID
}

// ConversationResult is a command's outcome with the conversation's id and its revision after the command (its
// new ETag).
type ConversationResult struct {
	Result
	ID uuid.UUID
}

// UseFiles gives the commands the ports of attachments: the deposits' file checker and blob store. Without them a
// message with attachments is refused as unavailable.
func (h *Conversations) UseFiles(check FileChecker, blobs BlobStore) { h.check, h.blobs = check, blobs }

// MemberMessage is a member's message in progress, valid as far as it can be judged before its files: the files
// are then checked and stored one by one (AddFile), and Commit records the message with their keys, or Abort
// deletes what was stored. Only one file is held in memory at a time (the caller's buffer).
type MemberMessage struct {
	h       *Conversations
	m       Meta
	member  uuid.UUID
	id      uuid.UUID // the conversation
	start   *StartConversation
	theme   conversation.Theme
	cat     conversation.Catalog
	body    string
	files   []conversation.Attachment
	names   []string
	stored  []string
	message uuid.UUID
	// existing: the message is recorded already (a retry with the same Idempotency-Key): AddFile stores nothing
	// and Commit answers with what was recorded.
	existing bool
}

// ID is the conversation's id.
func (p *MemberMessage) ID() uuid.UUID { return p.id }

// MaxFileBytes is the size limit of one attachment.
func (p *MemberMessage) MaxFileBytes() int64 { return p.cat.MaxAttachmentBytes }

// SetRequestHash sets the fingerprint of the request behind an Idempotency-Key (see Meta.RequestHash).
func (p *MemberMessage) SetRequestHash(hash string) { p.m.RequestHash = hash }

// Start records a member's new conversation, routed to the theme's queue with a reply due by the theme's target
// in business hours. The id derives from the Idempotency-Key and the member: a retry returns the same
// conversation. Errors: conversation.theme_unknown, .subject_invalid, .body_invalid, .request_unknown.
func (h *Conversations) Start(ctx context.Context, m Meta, memberID uuid.UUID, in StartConversation) (ConversationResult, error) {
	p, err := h.BeginStart(ctx, m, memberID, in)
	if err != nil {
		return ConversationResult{}, err
	}
	return p.Commit(ctx)
}

// BeginStart checks a new conversation (as Start) and returns it, to add attachments to before Commit.
func (h *Conversations) BeginStart(ctx context.Context, m Meta, memberID uuid.UUID, in StartConversation) (*MemberMessage, error) {
	const op = "command.StartConversation"
	cat := conversation.Current()
	theme, ok := cat.Theme(in.Theme)
	if !ok {
		return nil, failure.Op(op, failure.Field("theme", conversation.ErrThemeUnknown))
	}
	subject, err := conversation.CleanText("subject", in.Subject, cat.MaxSubjectChars, false, conversation.ErrSubjectInvalid)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	body, err := conversation.CleanText("body", in.Body, cat.MaxBodyChars, true, conversation.ErrBodyInvalid)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	if in.RequestID != uuid.Nil {
		history, err := h.store.Load(ctx, servicerequest.StreamID(in.RequestID))
		if err != nil {
			return nil, failure.Op(op, err)
		}
		if r := servicerequest.Rehydrate(in.RequestID, history); !r.Submitted() || r.MemberID() != memberID {
			return nil, failure.Op(op, failure.Field("request_id", conversation.ErrRequestUnknown))
		}
	}
	m = withActor(h.withCommandID(m), memberID)
	id := uuid.NewSHA1(m.CommandID, []byte("conversation/"+memberID.String()))
	in.Subject, in.Body = subject, body
	p := &MemberMessage{h: h, m: m, member: memberID, id: id, start: &in, theme: theme, cat: cat, body: body}
	p.message = uuid.NewSHA1(h.command(m, conversation.StreamID(id)).Metadata.CommandID, []byte("message"))
	history, err := h.store.Load(ctx, conversation.StreamID(id))
	if err != nil {
		return nil, failure.Op(op, err)
	}
	p.existing = len(history) > 0
	return p, nil
}

// ownedBy folds history and checks the conversation is memberID's: another member's is conversation.not_found.
func ownedBy(history []event.Envelope, memberID uuid.UUID) (conversation.State, error) {
	s := conversation.Fold(history)
	if !s.Exists() || s.MemberID != memberID {
		return s, conversation.ErrNotFound
	}
	return s, nil
}

// MemberWrite records the member's message on their open conversation: the wait for a reply starts again, due by
// the theme's target. Errors: conversation.not_found (also another member's), .closed, .body_invalid.
func (h *Conversations) MemberWrite(ctx context.Context, m Meta, memberID, id uuid.UUID, text string) (Result, error) {
	p, err := h.BeginWrite(ctx, m, memberID, id, text)
	if err != nil {
		return Result{}, err
	}
	res, err := p.Commit(ctx)
	return res.Result, err
}

// BeginWrite checks the member's message on conversation id (as MemberWrite: theirs, open) and returns it, to add
// attachments to before Commit.
func (h *Conversations) BeginWrite(ctx context.Context, m Meta, memberID, id uuid.UUID, text string) (*MemberMessage, error) {
	const op = "command.WriteConversation"
	cat := conversation.Current()
	body, err := conversation.CleanText("body", text, cat.MaxBodyChars, true, conversation.ErrBodyInvalid)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	if id == uuid.Nil {
		return nil, failure.Op(op, conversation.ErrNotFound)
	}
	m = withActor(h.withCommandID(m), memberID)
	p := &MemberMessage{h: h, m: m, member: memberID, id: id, cat: cat, body: body}
	p.message = uuid.NewSHA1(h.command(m, conversation.StreamID(id)).Metadata.CommandID, []byte("message"))
	history, err := h.store.Load(ctx, conversation.StreamID(id))
	if err != nil {
		return nil, failure.Op(op, err)
	}
	s, err := ownedBy(history, memberID)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	for _, msg := range s.Messages {
		p.existing = p.existing || msg.ID == p.message
	}
	if !p.existing && s.Status == conversation.StatusClosed {
		return nil, failure.Op(op, conversation.ErrClosed)
	}
	return p, nil
}

// AttachmentField names attachment n in refusals.
func AttachmentField(n int) string { return fmt.Sprintf("attachments[%d]", n) }

// AddFile checks content as the message's next attachment (named name by the member) under the deposits' file
// rules and stores it durably, sealed with the member's key. A refusal is wrapped with the attachment's field
// ("attachments[n]"): conversation.attachment_count, document.file_empty, .file_too_large, .file_type,
// .image_invalid, .pdf_invalid, .pdf_encrypted, .pdf_active_content.
func (p *MemberMessage) AddFile(ctx context.Context, name string, content []byte) error {
	if p.existing {
		return nil
	}
	if p.h.check == nil || p.h.blobs == nil {
		return conversation.ErrAttachmentsUnavailable
	}
	n := len(p.files)
	field := AttachmentField(n)
	if n >= p.cat.MaxAttachments {
		return failure.Field(field, conversation.ErrAttachmentCount)
	}
	typ, err := p.h.check(ctx, content, p.cat.MaxAttachmentBytes)
	if err != nil {
		return failure.Field(field, err)
	}
	key, size, err := p.h.blobs.Put(ctx, p.member, content)
	if err != nil {
		return err
	}
	p.stored = append(p.stored, key)
	p.files = append(p.files, conversation.Attachment{Type: typ, Size: int64(len(content)), SHA256: sha256Hex(content),
		BlobKey: key, StoredSize: size})
	if !plainName(name) {
		name = fmt.Sprintf("piece-jointe-%d", n+1)
	}
	p.names = append(p.names, name)
	return nil
}

// Abort deletes the attachments stored so far (a refused message stores nothing); what a failed delete leaves, the
// sweeper removes later: no event references it.
func (p *MemberMessage) Abort(ctx context.Context) {
	for _, k := range p.stored {
		_ = p.h.blobs.Delete(context.WithoutCancel(ctx), k)
	}
	p.stored = nil
}

// Commit records the message (ConversationStarted or ConversationMemberWrote) with its attachments' keys, once
// every attachment is durable. The caller calls Abort on an error.
func (p *MemberMessage) Commit(ctx context.Context) (ConversationResult, error) {
	h := p.h
	stream := conversation.StreamID(p.id)
	now := h.clock().UTC()
	cmd := h.commandAt(p.m, stream, now)
	var names []string
	if len(p.files) > 0 {
		names = p.names
	}
	var (
		commit event.Commit
		err    error
	)
	if p.start != nil {
		const op = "command.StartConversation"
		in, theme, cat := p.start, p.theme, p.cat
		cmd.Metadata.Subject = p.member // bodies are sealed under the member's key
		commit, err = h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			if len(history) > 0 { // another command's stream (a key reused by another member cannot reach here)
				return nil, conversation.ErrNotFound
			}
			return []any{conversation.Started{ConversationID: p.id, MemberID: p.member, Theme: theme.Code,
				Queue: theme.Queue, Subject: in.Subject, MessageID: p.message, Body: p.body, RequestID: in.RequestID,
				DueAt: conversation.Due(now, theme.TargetHours), CatalogVersion: cat.Version,
				Attachments: p.files, AttachmentNames: names}}, nil
		})
		if err != nil {
			return ConversationResult{}, failure.Op(op, err)
		}
	} else {
		const op = "command.WriteConversation"
		cmd.RetryOnConflict = conversationRetries
		commit, err = h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			s, err := ownedBy(history, p.member)
			if err != nil {
				return nil, err
			}
			target := 0
			if t, ok := conversation.Load(s.CatalogVersion).Theme(s.Theme); ok {
				target = t.TargetHours
			} else if t, ok := conversation.Current().Theme(s.Theme); ok {
				target = t.TargetHours
			}
			return s.MemberWrites(conversation.MemberWrote{ConversationID: p.id, MessageID: p.message, Body: p.body,
				DueAt: conversation.Due(now, target), Attachments: p.files, AttachmentNames: names})
		})
		if err != nil {
			return ConversationResult{}, failure.Op(op, err)
		}
	}
	p.stored = nil // referenced now: never deleted
	return ConversationResult{Result: Result{Position: commit.Position, Revision: commit.Revision}, ID: p.id}, nil
}

// MemberRead returns the member's conversation, after recording the first reading of every staff reply they had
// not read. Errors: conversation.not_found (also another member's).
func (h *Conversations) MemberRead(ctx context.Context, m Meta, memberID, id uuid.UUID) (conversation.State, error) {
	const op = "command.ReadConversation"
	s, err := h.read(ctx, withActor(m, memberID), id, conversation.ReaderMember, uuid.Nil, func(history []event.Envelope) (conversation.State, error) {
		return ownedBy(history, memberID)
	})
	return s, failure.Op(op, err)
}

// read loads conversation id, checks it with check, and records the first reading by reader of the other side's
// unread messages; it returns the state after.
func (h *Conversations) read(ctx context.Context, m Meta, id uuid.UUID, reader string, staffID uuid.UUID,
	check func([]event.Envelope) (conversation.State, error)) (conversation.State, error) {
	if id == uuid.Nil {
		return conversation.State{}, conversation.ErrNotFound
	}
	stream := conversation.StreamID(id)
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return conversation.State{}, err
	}
	s, err := check(history)
	if err != nil || len(s.Unread(reader)) == 0 || reader == "" {
		return s, err
	}
	m.CommandID = h.newID() // a reading is no retried request: what is already read is never recorded again
	now := h.clock().UTC()
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = conversationRetries
	if _, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		s, err := check(history)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, msg := range s.Unread(reader) {
			out = append(out, conversation.MessageRead{ConversationID: id, MessageID: msg, Reader: reader, StaffID: staffID})
		}
		return out, nil
	}); err != nil {
		return s, err
	}
	for _, msg := range s.Unread(reader) {
		s = s.Apply(conversation.MessageRead{ConversationID: id, MessageID: msg, Reader: reader}, now)
	}
	return s, nil
}

// staffOn reads staff member staffID and checks they may see the conversation's queue (work: act on it).
func (h *Conversations) staffOn(ctx context.Context, m Meta, staffID uuid.UUID, work bool) (staffMember, Meta, error) {
	s, err := h.loadStaffMember(ctx, staffID)
	if err != nil {
		return s, m, err
	}
	if work {
		if m.Actor.Role == event.RoleAuditor || s.actingRole() == "" {
			return s, m, ErrCaseRoleForbidden
		}
		if m.Actor.ID == "" {
			m.Actor = event.Actor{ID: staffID.String(), Role: s.actingRole()}
		}
	}
	return s, h.withCommandID(m), nil
}

// staffCheck folds history and checks that s may see (or work) its queue: a conversation of a queue outside
// theirs answers their queue error.
func staffCheck(s staffMember, work bool) func([]event.Envelope) (conversation.State, error) {
	return func(history []event.Envelope) (conversation.State, error) {
		c := conversation.Fold(history)
		if !c.Exists() {
			return c, conversation.ErrNotFound
		}
		check := s.mayRead
		if work {
			check = s.mayWork
		}
		if err := check(c.Queue); err != nil {
			if errors.Is(err, ErrQueueMedicalOnly) {
				return c, conversation.ErrNotFound
			}
			return c, err
		}
		return c, nil
	}
}

// StaffRead returns a conversation of a queue staffID sees (notes included), after recording, for a caseworker or
// supervisor (never an auditor), the first reading of every member's message not read yet. Errors:
// conversation.not_found, case.outside_queues.
func (h *Conversations) StaffRead(ctx context.Context, m Meta, staffID, id uuid.UUID) (conversation.State, uint64, error) {
	const op = "command.StaffReadConversation"
	s, m, err := h.staffOn(ctx, m, staffID, false)
	if err != nil {
		return conversation.State{}, 0, failure.Op(op, err)
	}
	reader := conversation.ReaderStaff
	if m.Actor.Role == event.RoleAuditor || s.actingRole() == "" {
		reader = "" // reads, records nothing
	} else if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: staffID.String(), Role: s.actingRole()}
	}
	c, err := h.read(ctx, m, id, reader, staffID, staffCheck(s, false))
	if err != nil {
		return c, 0, failure.Op(op, err)
	}
	history, err := h.store.Load(ctx, conversation.StreamID(id)) // the revision after the receipts: the ETag
	if err != nil || len(history) == 0 {
		return c, 0, failure.Op(op, errors.Join(err, conversation.ErrNotFound))
	}
	return c, history[len(history)-1].Revision, nil
}

// ConversationAction is one staff command on a conversation: ClaimConversation, ReplyConversation,
// NoteConversation, CloseConversation or ReleaseConversation. Conversations.Act runs each through the same checks.
type ConversationAction interface {
	op() string
	decide(c conversation.State, by staffMember, cmd event.Command) ([]any, error)
}

// ClaimConversation takes the conversation. Errors: conversation.already_claimed (Conflict), .closed.
type ClaimConversation struct{}

func (ClaimConversation) op() string { return "command.ClaimConversation" }

func (ClaimConversation) decide(c conversation.State, by staffMember, _ event.Command) ([]any, error) {
	return c.Claim(by.id)
}

// ReleaseConversation gives the conversation back to its queue: by its holder, or by a supervisor whoever holds
// it. Errors: conversation.not_yours (Forbidden), .not_claimed, .closed.
type ReleaseConversation struct{}

func (ReleaseConversation) op() string { return "command.ReleaseConversation" }

func (ReleaseConversation) decide(c conversation.State, by staffMember, _ event.Command) ([]any, error) {
	return c.Release(by.id, by.actingRole() == event.RoleSupervisor)
}

// ReplyConversation answers the member on a conversation the caller holds. Errors: conversation.body_invalid,
// .not_claimed, .closed.
type ReplyConversation struct{ Body string }

func (ReplyConversation) op() string { return "command.ReplyConversation" }

func (a ReplyConversation) decide(c conversation.State, by staffMember, cmd event.Command) ([]any, error) {
	body, err := conversation.CleanText("body", a.Body, conversation.Current().MaxBodyChars, true, conversation.ErrBodyInvalid)
	if err != nil {
		return nil, err
	}
	return c.Reply(by.id, uuid.NewSHA1(cmd.Metadata.CommandID, []byte("message")), body)
}

// NoteConversation adds an internal note (never shown to the member), also on a closed conversation. Errors:
// conversation.body_invalid.
type NoteConversation struct{ Text string }

func (NoteConversation) op() string { return "command.NoteConversation" }

func (a NoteConversation) decide(c conversation.State, by staffMember, cmd event.Command) ([]any, error) {
	text, err := conversation.CleanText("text", a.Text, conversation.Current().MaxBodyChars, true, conversation.ErrBodyInvalid)
	if err != nil {
		return nil, err
	}
	return []any{conversation.NoteAdded{ConversationID: c.ID, NoteID: uuid.NewSHA1(cmd.Metadata.CommandID, []byte("note")),
		StaffID: by.id, Text: text}}, nil
}

// CloseConversation closes a conversation the caller holds. Errors: conversation.not_claimed, .closed.
type CloseConversation struct{}

func (CloseConversation) op() string { return "command.CloseConversation" }

func (CloseConversation) decide(c conversation.State, by staffMember, _ event.Command) ([]any, error) {
	return c.Close(by.id)
}

// Act runs action on conversation id for staff member staffID, a caseworker of its queue or a supervisor.
// expectedRevision is the revision the person saw (If-Match): a conversation that moved since is a Conflict,
// nothing recorded. Result.Revision is the conversation's new revision (its ETag). Errors: those of the action,
// conversation.not_found, case.role_forbidden, case.outside_queues.
func (h *Conversations) Act(ctx context.Context, m Meta, staffID, id uuid.UUID, expectedRevision *uint64, action ConversationAction) (Result, error) {
	op := action.op()
	s, m, err := h.staffOn(ctx, m, staffID, true)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if id == uuid.Nil {
		return Result{}, failure.Op(op, conversation.ErrNotFound)
	}
	stream := conversation.StreamID(id)
	cmd := h.commandAt(m, stream, h.clock().UTC())
	if expectedRevision != nil {
		rev := *expectedRevision
		cmd.ExpectedRevision = &rev
	} else {
		cmd.RetryOnConflict = caseRetries
	}
	check := staffCheck(s, true)
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		c, err := check(history)
		if err != nil {
			return nil, err
		}
		return action.decide(c, s, cmd)
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position, Revision: commit.Revision}, nil
}

// MemberAttachment returns attachment n (from 0) of message messageID of the member's conversation id, with its
// name as sent; reading it records nothing. Errors: conversation.not_found (also another member's),
// .attachment_not_found.
func (h *Conversations) MemberAttachment(ctx context.Context, memberID, id, messageID uuid.UUID, n int) (conversation.Attachment, string, error) {
	const op = "command.ConversationAttachment"
	if id == uuid.Nil {
		return conversation.Attachment{}, "", failure.Op(op, conversation.ErrNotFound)
	}
	history, err := h.store.Load(ctx, conversation.StreamID(id))
	if err != nil {
		return conversation.Attachment{}, "", failure.Op(op, err)
	}
	s, err := ownedBy(history, memberID)
	if err != nil {
		return conversation.Attachment{}, "", failure.Op(op, err)
	}
	a, name, ok := s.Attachment(messageID, n)
	if !ok {
		return a, "", failure.Op(op, conversation.ErrAttachmentNotFound)
	}
	return a, name, nil
}

// StaffAttachment returns attachment n of message messageID of conversation id, in a queue staff member staffID
// sees, with the conversation's member (whose access log the caller records the opening in before sending a byte).
// Errors: conversation.not_found, .attachment_not_found, case.outside_queues.
func (h *Conversations) StaffAttachment(ctx context.Context, m Meta, staffID, id, messageID uuid.UUID, n int) (uuid.UUID, conversation.Attachment, error) {
	const op = "command.StaffConversationAttachment"
	s, _, err := h.staffOn(ctx, m, staffID, false)
	if err != nil {
		return uuid.Nil, conversation.Attachment{}, failure.Op(op, err)
	}
	if id == uuid.Nil {
		return uuid.Nil, conversation.Attachment{}, failure.Op(op, conversation.ErrNotFound)
	}
	history, err := h.store.Load(ctx, conversation.StreamID(id))
	if err != nil {
		return uuid.Nil, conversation.Attachment{}, failure.Op(op, err)
	}
	c, err := staffCheck(s, false)(history)
	if err != nil {
		return uuid.Nil, conversation.Attachment{}, failure.Op(op, err)
	}
	a, _, ok := c.Attachment(messageID, n)
	if !ok {
		return c.MemberID, a, failure.Op(op, conversation.ErrAttachmentNotFound)
	}
	return c.MemberID, a, nil
}
