package conversation_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/catalog"
	cv "github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

var (
	convID   = uuid.MustParse("3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
	memberID = uuid.MustParse("7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11")
	staffID  = uuid.MustParse("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	msgID    = uuid.MustParse("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a")
	due      = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
)

func paris(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, appointment.Paris)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDueInBusinessHours: targets count only the help line's hours (Mon–Fri 8:30–12:15, 13:30–16:30, Paris) of
// working days. Friday 15:00 + 4 h: 1 h 30 on Friday, 2 h 30 on Monday from 8:30: Monday 11:00. (The brief's
// "Friday 16:00 … Monday 11:00" does not add up: from 16:00 the same target ends Monday 12:00; both are here.)
func TestDueInBusinessHours(t *testing.T) {
	cases := []struct {
		name, from string
		hours      int
		want       string
	}{
		{"inside a morning", "2026-03-03 09:00", 2, "2026-03-03 11:00"},
		{"across the lunch break", "2026-03-03 11:00", 2, "2026-03-03 14:15"},
		{"Friday 15:00, 4 h: Monday 11:00", "2026-03-06 15:00", 4, "2026-03-09 11:00"},
		{"Friday 16:00, 4 h: Monday 12:00", "2026-03-06 16:00", 4, "2026-03-09 12:00"},
		{"written on Saturday: counts from Monday 8:30", "2026-03-07 10:00", 1, "2026-03-09 09:30"},
		{"written in the evening", "2026-03-03 19:00", 1, "2026-03-04 09:30"},
		{"written in the lunch break", "2026-03-03 12:30", 1, "2026-03-03 14:30"},
		{"Whit Monday skipped", "2026-05-22 15:00", 4, "2026-05-26 11:00"},
		{"Easter Monday 2027 skipped", "2027-03-26 15:00", 4, "2027-03-30 11:00"},
		{"Christmas and a weekend", "2026-12-24 16:00", 1, "2026-12-28 09:00"},
		{"ends exactly at a window's end", "2026-03-03 08:30", 3, "2026-03-03 11:30"},
		{"a whole day is 6 h 45", "2026-03-03 08:30", 7, "2026-03-04 08:45"},
		{"16 h from Thursday morning", "2026-03-05 08:30", 16, "2026-03-09 11:00"},
	}
	for _, c := range cases {
		got := cv.Due(paris(c.from), c.hours).In(appointment.Paris).Format("2006-01-02 15:04")
		if got != c.want {
			t.Errorf("%s: Due(%s, %d h) = %s, want %s", c.name, c.from, c.hours, got, c.want)
		}
	}
}

// TestThemesRouteToCatalogQueues: every theme of every version is routed to a queue of the service catalogue,
// not a confidential one, with a positive target.
func TestThemesRouteToCatalogQueues(t *testing.T) {
	c := cv.Current()
	if len(c.Themes) == 0 || c.MaxBodyChars <= 0 || c.MaxSubjectChars <= 0 {
		t.Fatalf("catalog %+v", c)
	}
	for _, th := range c.Themes {
		q, ok := catalog.Current().Queue(th.Queue)
		if !ok || q.Confidential || th.TargetHours <= 0 || th.Label == "" {
			t.Errorf("theme %+v: queue %v %v", th, q, ok)
		}
	}
}

func goldenValues() map[string]any {
	return map[string]any{
		"ConversationStarted.v1.json": cv.Started{ConversationID: convID, MemberID: memberID, Theme: "retraite",
			Queue: "retraite", Subject: "Date de départ", MessageID: msgID, Body: "Bonjour,\nquand puis-je partir ?",
			DueAt: due, CatalogVersion: "2026.1"},
		"ConversationMemberWrote.v1.json": cv.MemberWrote{ConversationID: convID, MessageID: msgID, Body: "Merci.", DueAt: due},
		"ConversationStarted.v1-attachments.json": cv.Started{ConversationID: convID, MemberID: memberID, Theme: "retraite",
			Queue: "retraite", Subject: "Relevé", MessageID: msgID, Body: "Voici mon relevé.", DueAt: due, CatalogVersion: "2026.1",
			Attachments:     []cv.Attachment{{Type: "application/pdf", Size: 1234, SHA256: "ab12", BlobKey: "sha256/cd34", StoredSize: 1290}},
			AttachmentNames: []string{"releve.pdf"}},
		"ConversationMemberWrote.v1-attachments.json": cv.MemberWrote{ConversationID: convID, MessageID: msgID, Body: "Page 2.", DueAt: due,
			Attachments:     []cv.Attachment{{Type: "image/png", Size: 99, SHA256: "ef56", BlobKey: "sha256/0789", StoredSize: 155}},
			AttachmentNames: []string{"page2.png"}},
		"ConversationClaimed.v1.json":  cv.Claimed{ConversationID: convID, StaffID: staffID},
		"ConversationReleased.v1.json": cv.Released{ConversationID: convID, StaffID: staffID, By: memberID},
		"ConversationStaffReplied.v1.json": cv.StaffReplied{ConversationID: convID, MessageID: msgID, StaffID: staffID,
			Body: "Votre relevé de carrière est en ligne."},
		"ConversationNoteAdded.v1.json": cv.NoteAdded{ConversationID: convID, NoteID: msgID, StaffID: staffID, Text: "Rappeler."},
		"ConversationClosed.v1.json":    cv.Closed{ConversationID: convID, StaffID: staffID},
		"ConversationMessageRead.v1.json": cv.MessageRead{ConversationID: convID, MessageID: msgID,
			Reader: cv.ReaderStaff, StaffID: staffID},
	}
}

func TestGolden(t *testing.T) {
	want := goldenValues()
	if os.Getenv("CONVERSATION_GOLDEN_WRITE") != "" { // writes files that do not exist yet; never rewrites one
		reg, err := event.NewRegistry(cv.Definitions())
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range want {
			path := filepath.Join("testdata", name)
			if _, err := os.Stat(path); err == nil {
				continue
			}
			typ, _, data, err := reg.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(eventtest.Stored{Type: typ, Data: data})
			if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventtest.CheckDefinitions(t, cv.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}

// TestFoldCoversEveryEvent: every event changes the fold of an open, claimed conversation with one message.
func TestFoldCoversEveryEvent(t *testing.T) {
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	base := cv.State{}.Apply(cv.Started{ConversationID: convID, MemberID: memberID, MessageID: msgID, Body: "x"}, at)
	claimed := base.Apply(cv.Claimed{ConversationID: convID, StaffID: uuid.New()}, at)
	for name, v := range goldenValues() {
		switch v.(type) {
		case cv.Started:
			continue
		case cv.Released:
			if !reflect.DeepEqual(claimed.Apply(v, at).Assignee, uuid.Nil) {
				t.Errorf("%s: not folded", name)
			}
			continue
		}
		if reflect.DeepEqual(base.Apply(v, at.Add(time.Hour)), base) {
			t.Errorf("%s: not folded", name)
		}
	}
}

// TestReadRecordedOnce: a message's first reading stands; unread lists only the other side's messages.
func TestReadRecordedOnce(t *testing.T) {
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	s := cv.State{}.Apply(cv.Started{ConversationID: convID, MessageID: msgID, Body: "x"}, at)
	if got := s.Unread(cv.ReaderStaff); len(got) != 1 || len(s.Unread(cv.ReaderMember)) != 0 {
		t.Fatalf("unread %v", got)
	}
	read := cv.MessageRead{ConversationID: convID, MessageID: msgID, Reader: cv.ReaderStaff}
	s = s.Apply(read, at.Add(time.Hour)).Apply(read, at.Add(2*time.Hour))
	if !s.Messages[0].ReadAt.Equal(at.Add(time.Hour)) || len(s.Unread(cv.ReaderStaff)) != 0 {
		t.Fatalf("read at %v", s.Messages[0].ReadAt)
	}
}

// TestClaimReplyClose: a reply or a close needs the claim; another's claim is a conflict; closed refuses all but notes.
func TestClaimReplyClose(t *testing.T) {
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	s := cv.State{}.Apply(cv.Started{ConversationID: convID, MessageID: msgID, Body: "x"}, at)
	if _, err := s.Reply(staffID, msgID, "r"); err != cv.ErrNotClaimed {
		t.Fatalf("reply unclaimed: %v", err)
	}
	evs, err := s.Claim(staffID)
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	s = s.Apply(evs[0], at)
	if _, err := s.Claim(uuid.New()); err != cv.ErrAlreadyClaimed {
		t.Fatalf("claim by another: %v", err)
	}
	if evs, _ := s.Claim(staffID); len(evs) != 0 {
		t.Fatal("claim twice records again")
	}
	if _, err := s.Release(uuid.New(), false); err != cv.ErrNotYours {
		t.Fatalf("release by another caseworker: %v", err)
	}
	if evs, err := s.Release(uuid.New(), true); err != nil || s.Apply(evs[0], at).Assignee != uuid.Nil {
		t.Fatalf("release by a supervisor: %v %v", evs, err)
	}
	evs, _ = s.Close(staffID)
	s = s.Apply(evs[0], at)
	if _, err := s.MemberWrites(cv.MemberWrote{}); err != cv.ErrClosed {
		t.Fatalf("write on closed: %v", err)
	}
}
