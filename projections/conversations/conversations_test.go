package conversations

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var (
	t0  = time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	due = time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
)

type story struct {
	evs            []event.Envelope
	member, staff  uuid.UUID
	first, second  uuid.UUID
	secondHistory  *projectionstest.History
	position       *uint64
	replyMessageID uuid.UUID
}

// newStory: the member starts two conversations on the retraite queue; staff claim the first, reply (the member
// reads it), the member answers (a new due date), staff read it, add a note and close; the second stays awaiting.
func newStory() *story {
	var pos uint64
	s := &story{member: uuid.New(), staff: uuid.New(), position: &pos, replyMessageID: uuid.New()}
	a := projectionstest.NewHistory(conversation.Category, &pos, t0)
	b := projectionstest.NewHistory(conversation.Category, &pos, t0.Add(time.Hour))
	s.first, s.second, s.secondHistory = a.Stream.ID, b.Stream.ID, b
	m1, m2, m3 := uuid.New(), uuid.New(), uuid.New()
	started := func(id, msg uuid.UUID, subject string, due time.Time) conversation.Started {
		return conversation.Started{ConversationID: id, MemberID: s.member, Theme: "retraite", Queue: "retraite",
			Subject: subject, MessageID: msg, Body: "Bonjour", DueAt: due, CatalogVersion: "2026.1"}
	}
	s.evs = []event.Envelope{
		a.Add(conversation.TypeStarted, withAttachments(started(s.first, m1, "Date de départ", due), "sha256/aa", "sha256/bb")),
		b.Add(conversation.TypeStarted, started(s.second, m3, "Pension de réversion", due.Add(-time.Hour))),
		a.Add(conversation.TypeClaimed, conversation.Claimed{ConversationID: s.first, StaffID: s.staff}),
		a.Add(conversation.TypeMessageRead, conversation.MessageRead{ConversationID: s.first, MessageID: m1, Reader: conversation.ReaderStaff, StaffID: s.staff}),
		a.Add(conversation.TypeStaffReplied, conversation.StaffReplied{ConversationID: s.first, MessageID: s.replyMessageID, StaffID: s.staff, Body: "Voici"}),
		a.Add(conversation.TypeMessageRead, conversation.MessageRead{ConversationID: s.first, MessageID: s.replyMessageID, Reader: conversation.ReaderMember}),
		a.Add(conversation.TypeMemberWrote, conversation.MemberWrote{ConversationID: s.first, MessageID: m2, Body: "Merci, et ensuite ?", DueAt: due.Add(24 * time.Hour),
			Attachments:     []conversation.Attachment{{Type: "image/png", Size: 3, SHA256: "cc", BlobKey: "sha256/cc", StoredSize: 40}},
			AttachmentNames: []string{"photo.png"}}),
		a.Add(conversation.TypeNoteAdded, conversation.NoteAdded{ConversationID: s.first, NoteID: uuid.New(), StaffID: s.staff, Text: "Rappeler"}),
	}
	return s
}

// withAttachments gives a Started the attachments of keys.
func withAttachments(v conversation.Started, keys ...string) conversation.Started {
	for _, k := range keys {
		v.Attachments = append(v.Attachments, conversation.Attachment{Type: "application/pdf", Size: 10, SHA256: k[7:],
			BlobKey: k, StoredSize: 50})
		v.AttachmentNames = append(v.AttachmentNames, "piece.pdf")
	}
	return v
}

// TestAttachmentsAreReferenced: the blob sweep's question is answered for the attachments of every member's message
// (the first and a later one), whatever is replayed; other keys are not referenced.
func TestAttachmentsAreReferenced(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		s := newStory()
		projectionstest.Apply(t, db, p, s.evs...)
		projectionstest.Apply(t, db, p, s.evs...)
		refs, err := NewQueries(db, nil).Referenced(projectionstest.Ctx(t), []string{"sha256/aa", "sha256/bb", "sha256/cc", "sha256/zz"})
		if err != nil || len(refs) != 3 || !refs["sha256/aa"] || !refs["sha256/cc"] || refs["sha256/zz"] {
			t.Fatalf("referenced: %v %v", refs, err)
		}
		if refs, err := NewQueries(db, nil).Referenced(projectionstest.Ctx(t), nil); err != nil || len(refs) != 0 {
			t.Fatalf("no keys: %v %v", refs, err)
		}
	})
}

func TestListsAndStats(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		s := newStory()
		projectionstest.Apply(t, db, p, s.evs[:5]...) // up to the reply, not read yet
		q0 := NewQueries(db, nil)
		if got, _, err := q0.MemberPage(projectionstest.Ctx(t), s.member, projections.Page{}); err != nil ||
			got[1].UnreadByMember != 1 || got[1].UnreadByStaff != 0 || got[1].Status != conversation.StatusAnswered || got[1].DueAt != nil {
			t.Fatalf("after the reply: %+v %v", got, err)
		}
		projectionstest.Apply(t, db, p, s.evs[5:]...)
		now := due.Add(30 * time.Minute) // the second (due 13:00) is breached, the first (due tomorrow) not
		q := NewQueries(db, func() time.Time { return now })
		ctx := projectionstest.Ctx(t)

		mine, next, err := q.MemberPage(ctx, s.member, projections.Page{})
		if err != nil || len(mine) != 2 || next != "" {
			t.Fatalf("member's list: %+v %q %v", mine, next, err)
		}
		first := mine[1] // newest first
		if mine[0].ID != s.second || first.ID != s.first || first.Status != conversation.StatusAwaitingReply ||
			first.Messages != 3 || first.UnreadByMember != 0 || first.UnreadByStaff != 1 || first.AssigneeID == nil ||
			*first.AssigneeID != s.staff || first.DueAt == nil || !first.DueAt.Equal(due.Add(24*time.Hour)) ||
			first.Subject != "Date de départ" || first.Revision != 6 {
			t.Errorf("first conversation: %+v", first)
		}
		one, next, err := q.MemberPage(ctx, s.member, projections.Page{Limit: 1})
		if err != nil || len(one) != 1 || one[0].ID != s.second || next == "" {
			t.Fatalf("page 1: %+v %q %v", one, next, err)
		}
		two, last, err := q.MemberPage(ctx, s.member, projections.Page{Limit: 1, After: next})
		if err != nil || len(two) != 1 || two[0].ID != s.first || last != "" {
			t.Fatalf("page 2: %+v %q %v", two, last, err)
		}
		if other, _, _ := q.MemberPage(ctx, uuid.New(), projections.Page{}); len(other) != 0 {
			t.Errorf("another member sees %+v", other)
		}
		if _, _, err := q.MemberPage(ctx, s.member, projections.Page{After: "%%"}); err != projections.ErrInvalidCursor {
			t.Errorf("bad cursor: %v", err)
		}

		queue, next, err := q.QueuePage(ctx, "retraite", projections.Page{})
		if err != nil || len(queue) != 2 || queue[0].ID != s.second || next != "" {
			t.Fatalf("queue, earliest due first: %+v %v", queue, err)
		}
		stats, err := q.Stats(ctx, []string{"retraite", "sante-c2s"})
		if err != nil || len(stats) != 2 {
			t.Fatal(stats, err)
		}
		if st := stats[0]; st.AwaitingReply != 2 || st.Unclaimed != 1 || st.Breaches != 1 || st.NextDueAt == nil ||
			!st.NextDueAt.Equal(due.Add(-time.Hour)) {
			t.Errorf("retraite: %+v (next due %v)", st, st.NextDueAt)
		}
		if stats[1] != (QueueStats{Queue: "sante-c2s"}) {
			t.Errorf("empty queue: %+v", stats[1])
		}

		// closed: out of the queue and of the counts
		closed := projectionstest.NewHistory(conversation.Category, s.position, t0)
		closed.Stream = s.secondHistory.Stream
		closed.Events = append(closed.Events, s.secondHistory.Events...)
		projectionstest.Apply(t, db, p,
			closed.Add(conversation.TypeClaimed, conversation.Claimed{ConversationID: s.second, StaffID: s.staff}),
			closed.Add(conversation.TypeClosed, conversation.Closed{ConversationID: s.second, StaffID: s.staff}))
		queue, _, _ = q.QueuePage(ctx, "retraite", projections.Page{})
		stats, _ = q.Stats(ctx, []string{"retraite"})
		if len(queue) != 1 || queue[0].ID != s.first || stats[0].AwaitingReply != 1 || stats[0].Breaches != 0 {
			t.Errorf("after closing: %+v %+v", queue, stats)
		}
	})
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStory()
		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		cp := projectionstest.Setup(t, clean, New())
		for _, e := range s.evs {
			projectionstest.Apply(t, clean, cp, e)
		}
		want := projectionstest.DumpVersion(t, clean, Name, Version)
		if len(want) != 2 {
			t.Fatalf("rows: %q", want)
		}
		projectionstest.ReplaysAndRebuild(t, db, projectionstest.Setup(t, db, New()), &Projection{Meta: meta.At(Version + 1)},
			s.evs, want, func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return projectionstest.DumpVersion(t, db, Name, version) })
	})
}

// TestErasureBlanksTheSubjects: the member's data erased, the subjects read "données effacées" at once.
func TestErasureBlanksTheSubjects(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		s := newStory()
		projectionstest.Apply(t, db, p, s.evs...)
		erased := projectionstest.NewHistory(member.Category, s.position, t0)
		erased.Stream = event.NewStreamID(member.Category, s.member)
		projectionstest.Apply(t, db, p, erased.Add(member.TypeDataErased, member.DataErased{}))
		rows := projectionstest.DumpVersion(t, db, Name, Version)
		projectionstest.AssertErased(t, rows, "Date de départ", "Pension de réversion")
		if !strings.Contains(strings.Join(rows, "\n"), event.ErasedText) {
			t.Errorf("no erased text in %q", rows)
		}
	})
}
