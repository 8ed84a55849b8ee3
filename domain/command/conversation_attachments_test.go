package command_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/failure"
)

// TestConversationAttachments: a member's message with files stores each file sealed before the event records its
// key; a refused file (active content, too many files) deletes what was stored and records nothing; a closed
// conversation is refused before any file is read; a retry with the same key stores nothing more; the member reads
// their own attachments only, staff only in the queues they see.
func TestConversationAttachments(t *testing.T) {
	f := newConvFixture(t)
	files := newDepositFixture(t) // the deposits' sealed blob store, in its own directory
	f.h.UseFiles(filecheck.Check, files.blobs)
	ctx := apptCtx(t)
	in := command.StartConversation{Theme: "retraite", Subject: "Relevé", Body: "Voici mon relevé."}
	pdf, png := filechecktest.PDF("Relevé de carrière"), filechecktest.PNG(40, 30)

	// Refused at the second file: the first is deleted, nothing recorded.
	m := convMember(f.member)
	m.CommandID = uuid.New()
	msg, err := f.h.BeginStart(ctx, m, f.member, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.AddFile(ctx, "releve.pdf", pdf); err != nil {
		t.Fatal(err)
	}
	err = msg.AddFile(ctx, "script.pdf", filechecktest.PDFWithJavaScript())
	if !errors.Is(err, document.ErrPDFActiveContent) || failure.FieldOf(err) != "attachments[1]" {
		t.Fatalf("scripted attachment: %v (%s)", err, failure.FieldOf(err))
	}
	msg.Abort(ctx)
	if got := files.stored(t); len(got) != 0 || len(f.stream(t, msg.ID())) != 0 {
		t.Fatalf("a refused message left %v and %d events", got, len(f.stream(t, msg.ID())))
	}

	// Six files: the sixth is refused.
	msg, err = f.h.BeginStart(ctx, convMember(f.member), f.member, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := msg.AddFile(ctx, "p.png", png); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	if err := msg.AddFile(ctx, "p.png", png); !errors.Is(err, conversation.ErrAttachmentCount) {
		t.Fatalf("a sixth file: %v", err)
	}
	msg.Abort(ctx)
	if got := files.stored(t); len(got) != 0 {
		t.Fatalf("a refused message left %v", got)
	}

	// Two files recorded with their keys, after both are stored.
	key := uuid.New()
	m = convMember(f.member)
	m.CommandID = key
	msg, err = f.h.BeginStart(ctx, m, f.member, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		content []byte
	}{{"releve.pdf", pdf}, {"photo.png", png}} {
		if err := msg.AddFile(ctx, c.name, c.content); err != nil {
			t.Fatal(err)
		}
	}
	res, err := msg.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := files.stored(t); len(got) != 2 {
		t.Fatalf("stored %v, want 2 blobs", got)
	}
	started := f.stream(t, res.ID)[0].Event.(conversation.Started)
	if len(started.Attachments) != 2 || started.Attachments[0].Type != document.TypePDF || started.Attachments[1].Type != document.TypePNG ||
		started.AttachmentNames[1] != "photo.png" || started.Attachments[0].Size != int64(len(pdf)) {
		t.Fatalf("started: %+v %v", started.Attachments, started.AttachmentNames)
	}
	for _, a := range started.Attachments {
		content, err := files.blobs.Get(ctx, f.member, a.BlobKey)
		if err != nil || (a.Type == document.TypePDF && string(content) != string(pdf)) {
			t.Fatalf("blob %s: %v", a.BlobKey, err)
		}
	}

	// A retry with the same key stores nothing more and answers the same conversation.
	again, err := f.h.BeginStart(ctx, m, f.member, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.AddFile(ctx, "releve.pdf", pdf); err != nil {
		t.Fatal(err)
	}
	if r, err := again.Commit(ctx); err != nil || r.ID != res.ID || len(files.stored(t)) != 2 || len(f.stream(t, res.ID)) != 1 {
		t.Fatalf("retry: %v %v, %d blobs", r, err, len(files.stored(t)))
	}

	// Reading: the member's own only; staff of the queue only.
	if a, name, err := f.h.MemberAttachment(ctx, f.member, res.ID, started.MessageID, 1); err != nil || name != "photo.png" || a.BlobKey != started.Attachments[1].BlobKey {
		t.Fatalf("member reads: %v %q %v", a, name, err)
	}
	if _, _, err := f.h.MemberAttachment(ctx, f.member2, res.ID, started.MessageID, 0); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("another member reads: %v", err)
	}
	if _, _, err := f.h.MemberAttachment(ctx, f.member, res.ID, started.MessageID, 2); !errors.Is(err, conversation.ErrAttachmentNotFound) {
		t.Fatalf("attachment 2: %v", err)
	}
	if member, _, err := f.h.StaffAttachment(ctx, command.Meta{}, f.worker, res.ID, started.MessageID, 0); err != nil || member != f.member {
		t.Fatalf("caseworker of the queue: %v %v", member, err)
	}
	if _, _, err := f.h.StaffAttachment(ctx, command.Meta{}, f.other, res.ID, started.MessageID, 0); err == nil {
		t.Fatal("a caseworker of another queue reads an attachment")
	}

	// A closed conversation refuses the member's message before any file is read.
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.ClaimConversation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.CloseConversation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.BeginWrite(ctx, convMember(f.member), f.member, res.ID, "Encore"); !errors.Is(err, conversation.ErrClosed) {
		t.Fatalf("write on a closed conversation: %v", err)
	}
}
