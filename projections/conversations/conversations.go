// Package conversations is the read model of conversations ("Nous envoyer un message"): the member's list
// (GET /v1/conversations), the staff queues' lists of conversations awaiting a reply, earliest due first
// (GET /v1/queues/{queue}/conversations), and the queues' counts, due dates and breaches.
//
// A row is loaded into a conversation.State (the one fold: status, assignee, due date, last message), the event
// applied, and written back guarded by its stream's revision, so replays and rebuilds change nothing; the counts of
// messages and of unread ones are kept beside it. Message bodies and notes are not copied here: they stay sealed in
// the event store, which the single-conversation reads load.
package conversations

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query.
const Name = "conversations"

// Version is the current version of the projection.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds the conversation streams. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var columns = []string{"conversation_id", "member_id", "theme", "queue", "subject", "request_id", "status",
	"assignee_id", "due_at", "started_at", "last_message_at", "messages", "unread_by_member", "unread_by_staff",
	"revision"}

// dbTime is how times go into the tables: UTC, to the microsecond (PostgreSQL's precision).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// row is a stored conversation.
type row struct {
	ConversationID string     `db:"conversation_id"`
	MemberID       string     `db:"member_id"`
	Theme          string     `db:"theme"`
	Queue          string     `db:"queue"`
	Subject        string     `db:"subject"`
	RequestID      string     `db:"request_id"`
	Status         string     `db:"status"`
	AssigneeID     string     `db:"assignee_id"`
	DueAt          *time.Time `db:"due_at"`
	StartedAt      time.Time  `db:"started_at"`
	LastMessageAt  time.Time  `db:"last_message_at"`
	Messages       int        `db:"messages"`
	UnreadByMember int        `db:"unread_by_member"`
	UnreadByStaff  int        `db:"unread_by_staff"`
	Revision       int64      `db:"revision"`
}

// state loads the stored fields into the fold.
func (r row) state() conversation.State {
	s := conversation.State{ID: uuid.MustParse(r.ConversationID), MemberID: uuid.MustParse(r.MemberID),
		Theme: r.Theme, Queue: r.Queue, Subject: r.Subject, Status: r.Status, StartedAt: r.StartedAt.UTC(),
		LastAt: r.LastMessageAt.UTC()}
	s.RequestID, _ = uuid.Parse(r.RequestID)
	s.Assignee, _ = uuid.Parse(r.AssigneeID)
	if r.DueAt != nil {
		s.DueAt = r.DueAt.UTC()
	}
	return s
}

func idOf(e any) (uuid.UUID, bool) {
	switch v := e.(type) {
	case conversation.Started:
		return v.ConversationID, true
	case conversation.MemberWrote:
		return v.ConversationID, true
	case conversation.Claimed:
		return v.ConversationID, true
	case conversation.Released:
		return v.ConversationID, true
	case conversation.StaffReplied:
		return v.ConversationID, true
	case conversation.NoteAdded:
		return v.ConversationID, true
	case conversation.Closed:
		return v.ConversationID, true
	case conversation.MessageRead:
		return v.ConversationID, true
	}
	return uuid.Nil, false
}

// Apply folds the batch.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	upsert := projections.GuardedUpsert(p.Table(), []string{"conversation_id"}, columns, "revision")
	files := sqldb.Upsert{Table: p.Table() + "_attachments", Columns: attachmentColumns, Key: []string{"blob_key"},
		Update: []string{}}
	for _, e := range batch {
		if e.Stream.Category != conversation.Category {
			continue
		}
		if err := p.fold(ctx, tx, upsert, files, e); err != nil {
			return fmt.Errorf("conversations: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+p.Table()+" SET subject = ? WHERE member_id = ?"),
			event.ErasedText, memberID.String())
		return err
	})
}

var attachmentColumns = []string{"blob_key", "conversation_id", "member_id", "message_id", "attachment_index",
	"media_type", "size"}

// attachments records which blobs a member's message references.
func attachments(ctx context.Context, tx *sqldb.Tx, files sqldb.Upsert, conv, member, message uuid.UUID, list []conversation.Attachment) error {
	for i, a := range list {
		if err := files.Exec(ctx, tx, a.BlobKey, conv.String(), member.String(), message.String(), i, a.Type, a.Size); err != nil {
			return err
		}
	}
	return nil
}

func (p *Projection) fold(ctx context.Context, tx *sqldb.Tx, upsert, files sqldb.Upsert, e event.Envelope) error {
	id, ok := idOf(e.Event)
	if !ok {
		return nil
	}
	var r row
	if _, started := e.Event.(conversation.Started); !started {
		found, err := projections.GetRow(ctx, tx, &r, p.Table(), "conversation_id", id.String())
		if err != nil {
			return err
		}
		if !found { // an event before its Started is a bug upstream: stop loudly
			return fmt.Errorf("no %s for conversation %s", conversation.TypeStarted, id)
		}
		if uint64(r.Revision) >= e.Revision {
			return nil
		}
	}
	var s conversation.State
	if r.ConversationID != "" {
		s = r.state()
	}
	s = s.Apply(e.Event, e.Metadata.OccurredAt)
	switch v := e.Event.(type) {
	case conversation.Started:
		r.Messages, r.UnreadByStaff = 1, 1
		if err := attachments(ctx, tx, files, s.ID, s.MemberID, v.MessageID, v.Attachments); err != nil {
			return err
		}
	case conversation.MemberWrote:
		r.Messages++
		r.UnreadByStaff++
		if err := attachments(ctx, tx, files, s.ID, s.MemberID, v.MessageID, v.Attachments); err != nil {
			return err
		}
	case conversation.StaffReplied:
		r.Messages++
		r.UnreadByMember++
	case conversation.MessageRead:
		if v.Reader == conversation.ReaderMember {
			r.UnreadByMember = max(r.UnreadByMember-1, 0)
		} else {
			r.UnreadByStaff = max(r.UnreadByStaff-1, 0)
		}
	}
	var due *time.Time
	if !s.DueAt.IsZero() {
		d := dbTime(s.DueAt)
		due = &d
	}
	request, assignee := "", ""
	if s.RequestID != uuid.Nil {
		request = s.RequestID.String()
	}
	if s.Assignee != uuid.Nil {
		assignee = s.Assignee.String()
	}
	return upsert.Exec(ctx, tx, s.ID.String(), s.MemberID.String(), s.Theme, s.Queue, s.Subject, request, s.Status,
		assignee, due, dbTime(s.StartedAt), dbTime(s.LastAt), r.Messages, r.UnreadByMember, r.UnreadByStaff,
		int64(e.Revision))
}
