package conversations

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/blobrefs"
)

// DefaultLimit and MaxRows bound a page when the caller names no limit, and at most.
const (
	DefaultLimit = 50
	MaxRows      = 200
)

// Queries reads the live version of the projection. On SQLite it uses the read-only pool.
type Queries struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewQueries returns the queries over db; now is the clock of breaches (nil: time.Now).
func NewQueries(db *sqldb.DB, now func() time.Time) *Queries {
	if now == nil {
		now = time.Now
	}
	return &Queries{db: db.Reader(), now: now}
}

// Conversation is a conversation as listed.
type Conversation struct {
	ID             uuid.UUID  `json:"id"`
	MemberID       uuid.UUID  `json:"-"`
	Theme          string     `json:"theme"`
	Queue          string     `json:"queue"`
	Subject        string     `json:"subject"`
	RequestID      *uuid.UUID `json:"request_id"`
	Status         string     `json:"status"`
	AssigneeID     *uuid.UUID `json:"assignee_id"`
	DueAt          *time.Time `json:"reply_due_at"`
	StartedAt      time.Time  `json:"started_at"`
	LastMessageAt  time.Time  `json:"last_message_at"`
	Messages       int        `json:"messages"`
	UnreadByMember int        `json:"unread_by_member"`
	UnreadByStaff  int        `json:"unread_by_staff"`
	Revision       uint64     `json:"revision"`
}

func (r row) conversation() Conversation {
	s := r.state()
	c := Conversation{ID: s.ID, MemberID: s.MemberID, Theme: s.Theme, Queue: s.Queue, Subject: s.Subject,
		Status: s.Status, StartedAt: s.StartedAt, LastMessageAt: s.LastAt, Messages: r.Messages,
		UnreadByMember: r.UnreadByMember, UnreadByStaff: r.UnreadByStaff, Revision: uint64(r.Revision)}
	if s.RequestID != uuid.Nil {
		c.RequestID = &s.RequestID
	}
	if s.Assignee != uuid.Nil {
		c.AssigneeID = &s.Assignee
	}
	if !s.DueAt.IsZero() {
		c.DueAt = &s.DueAt
	}
	return c
}

func (q *Queries) list(ctx context.Context, query string, args ...any) ([]Conversation, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+" WHERE "+query), args...); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	out := make([]Conversation, len(rows))
	for i, r := range rows {
		out[i] = r.conversation()
	}
	return out, nil
}

// cursorKey reads a cursor of (time, id).
func cursorKey(after string) (time.Time, uuid.UUID, error) {
	key, err := projections.DecodeCursor(after, 2)
	if err != nil {
		return time.Time{}, uuid.Nil, err
	}
	t, terr := time.Parse(time.RFC3339Nano, key[0])
	id, uerr := uuid.Parse(key[1])
	if terr != nil || uerr != nil {
		return time.Time{}, uuid.Nil, projections.ErrInvalidCursor
	}
	return t, id, nil
}

// MemberPage returns a page of the member's conversations, the newest first (by start, then id), and the cursor of
// the next page ("" after the last).
func (q *Queries) MemberPage(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Conversation, string, error) {
	n := min(p.Limit1(DefaultLimit)-1, MaxRows)
	where, args := "member_id = ?", []any{memberID.String()}
	if p.After != "" {
		t, id, err := cursorKey(p.After)
		if err != nil {
			return nil, "", err
		}
		where += " AND (started_at, conversation_id) < (?, ?)"
		args = append(args, dbTime(t), id.String())
	}
	list, err := q.list(ctx, where+" ORDER BY started_at DESC, conversation_id DESC LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(list, projections.Page{Limit: n}, n, func(c Conversation) string {
		return projections.EncodeCursor(c.StartedAt.UTC().Format(time.RFC3339Nano), c.ID.String())
	})
	return page, next, nil
}

// QueuePage returns a page of the queue's conversations awaiting a reply, the earliest due first (then by id).
func (q *Queries) QueuePage(ctx context.Context, queue string, p projections.Page) ([]Conversation, string, error) {
	n := min(p.Limit1(DefaultLimit)-1, MaxRows)
	where, args := "queue = ? AND status = ?", []any{queue, conversation.StatusAwaitingReply}
	if p.After != "" {
		t, id, err := cursorKey(p.After)
		if err != nil {
			return nil, "", err
		}
		where += " AND (due_at, conversation_id) > (?, ?)"
		args = append(args, dbTime(t), id.String())
	}
	list, err := q.list(ctx, where+" ORDER BY due_at, conversation_id LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(list, projections.Page{Limit: n}, n, func(c Conversation) string {
		return projections.EncodeCursor(c.DueAt.UTC().Format(time.RFC3339Nano), c.ID.String())
	})
	return page, next, nil
}

// QueueStats are a queue's conversations: awaiting a reply (of which unclaimed), answered and waiting for the
// member, the earliest reply due, and the breaches (awaiting a reply past their due date).
type QueueStats struct {
	Queue         string     `json:"queue"`
	AwaitingReply int        `json:"awaiting_reply"`
	Unclaimed     int        `json:"unclaimed"`
	Answered      int        `json:"answered"`
	NextDueAt     *time.Time `json:"next_due_at"`
	Breaches      int        `json:"breaches"`
}

// Stats returns the stats of each of queues, in their order (zero counts for a queue without conversations).
func (q *Queries) Stats(ctx context.Context, queues []string) ([]QueueStats, error) {
	out := make([]QueueStats, 0, len(queues))
	if len(queues) == 0 {
		return out, nil
	}
	now := dbTime(q.now())
	query, args, err := sqlx.In("SELECT queue, "+
		"SUM(CASE WHEN status = ? THEN 1 ELSE 0 END) AS awaiting, "+
		"SUM(CASE WHEN status = ? AND assignee_id = '' THEN 1 ELSE 0 END) AS unclaimed, "+
		"SUM(CASE WHEN status = ? THEN 1 ELSE 0 END) AS answered, "+
		"MIN(due_at) AS next_due, "+
		"SUM(CASE WHEN status = ? AND due_at < ? THEN 1 ELSE 0 END) AS breaches "+
		"FROM "+Name+" WHERE queue IN (?) AND status <> ? GROUP BY queue",
		conversation.StatusAwaitingReply, conversation.StatusAwaitingReply, conversation.StatusAnswered,
		conversation.StatusAwaitingReply, now, queues, conversation.StatusClosed)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Queue     string `db:"queue"`
		Awaiting  int    `db:"awaiting"`
		Unclaimed int    `db:"unclaimed"`
		Answered  int    `db:"answered"`
		NextDue   any    `db:"next_due"`
		Breaches  int    `db:"breaches"`
	}
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("conversations: stats: %w", err)
	}
	byQueue := map[string]QueueStats{}
	for _, r := range rows {
		s := QueueStats{Queue: r.Queue, AwaitingReply: r.Awaiting, Unclaimed: r.Unclaimed, Answered: r.Answered,
			Breaches: r.Breaches}
		if t, ok := asTime(r.NextDue); ok {
			s.NextDueAt = &t
		}
		byQueue[r.Queue] = s
	}
	for _, queue := range queues {
		s, ok := byQueue[queue]
		if !ok {
			s = QueueStats{Queue: queue}
		}
		out = append(out, s)
	}
	return out, nil
}

// asTime reads an aggregate of a TIMESTAMP column: a time on PostgreSQL, a string or a time on SQLite.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC(), true
			}
		}
	case []byte:
		return asTime(string(t))
	}
	return time.Time{}, false
}

// Referenced reports which of keys a recorded message's attachment references (blobstore.Referenced: the blob
// sweep deletes none of those).
func (q *Queries) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out, err := blobrefs.In(ctx, q.db, Name+"_attachments", keys)
	if err != nil {
		return nil, fmt.Errorf("conversations: referenced: %w", err)
	}
	return out, nil
}
