package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/inbox"
)

// inboxNamespace derives the id of a published document from its kind and source, so a document is published once
// per source (a decision letter per request, an attestation per attestation request), whoever publishes it again.
var inboxNamespace = uuid.MustParse("0d6c3f0e-2a47-5b8e-9f61-7c3d2e1a4b59")

// InboxDocumentID is the id of the document of kind published from source.
func InboxDocumentID(kind string, source uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(inboxNamespace, append([]byte(kind+"/"), source[:]...))
}

// InboxPublisherActor is the actor of the documents the reactions publish (decision letters, attestations).
var InboxPublisherActor = event.Actor{ID: "reactions/inbox", Role: event.RoleSystem}

// InboxNotifierActor is the actor of the deemed notifications.
var InboxNotifierActor = event.Actor{ID: "reactions/inbox-notification", Role: event.RoleSystem}

// Inbox runs the commands of the member's inbox: publishing a document (its file sealed with the member's key in
// the blob store first, then the event), the member's first opening, and the deemed notification. Its ports: the
// store and the blob store.
type Inbox struct {
	core
	blobs BlobStore
}

// NewInbox returns the inbox commands; Store and blobs are required.
func NewInbox(rt Runtime, blobs BlobStore) (*Inbox, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if blobs == nil {
		return nil, errors.New("command: the inbox commands need a BlobStore")
	}
	return &Inbox{core: c, blobs: blobs}, nil
}

// PublishInput is a document to publish into member MemberID's inbox. DocumentID is InboxDocumentID(Kind, SourceID)
// for a document made from a source; ContentType is the file's real type (the caller made it or checked it).
type PublishInput struct {
	MemberID    uuid.UUID
	DocumentID  uuid.UUID
	Kind        string
	SourceID    uuid.UUID
	Title       string
	FileName    string
	ContentType string
	Content     []byte
}

// PublishResult is the published document's id and the commit position; Published is false when the document was
// already in the inbox (nothing was written).
type PublishResult struct {
	Result
	DocumentID uuid.UUID
	Published  bool
}

// Publish stores the file sealed with the member's key, durably, then appends InboxDocumentPublished: no event ever
// points at a missing file. A document already published (same id) is left as it is and nothing is stored; a blob
// stored by a call that lost a race to publish the same document is deleted (or swept later).
func (h *Inbox) Publish(ctx context.Context, m Meta, in PublishInput) (PublishResult, error) {
	const op = "command.PublishInboxDocument"
	if in.MemberID == uuid.Nil || in.DocumentID == uuid.Nil {
		return PublishResult{}, failure.Opf(op, "no member or document id")
	}
	title := strings.TrimSpace(in.Title)
	if title == "" || utf8.RuneCountInString(title) > 200 || !utf8.ValidString(title) {
		return PublishResult{}, failure.Op(op, failure.Field("title", inbox.ErrTitle))
	}
	if len(in.Content) == 0 {
		return PublishResult{}, failure.Op(op, failure.Field("file", inbox.ErrEmpty))
	}
	switch in.ContentType {
	case "application/pdf", "image/jpeg", "image/png":
	default:
		return PublishResult{}, failure.Op(op, failure.Field("file", inbox.ErrType))
	}
	stream := inbox.StreamID(in.MemberID)
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return PublishResult{}, failure.Op(op, err)
	}
	if st := inboxState(history); st.Documents[in.DocumentID] != nil {
		return PublishResult{DocumentID: in.DocumentID}, nil
	}
	key, stored, err := h.blobs.Put(ctx, in.MemberID, in.Content)
	if err != nil {
		return PublishResult{}, failure.Op(op, failure.Wrap("blob store", failure.Unavailable, err))
	}
	sum := sha256.Sum256(in.Content)
	ev := inbox.Published{DocumentID: in.DocumentID, Kind: in.Kind, SourceID: in.SourceID, Title: title,
		FileName: in.FileName, ContentType: in.ContentType, Size: int64(len(in.Content)),
		SHA256: hex.EncodeToString(sum[:]), BlobKey: key, StoredSize: stored}
	if m.CommandID == uuid.Nil {
		m.CommandID = uuid.NewSHA1(in.DocumentID, []byte("publish"))
	}
	if m.Actor.ID == "" {
		m.Actor = InboxPublisherActor
	}
	appended := false
	commit, err := h.store.Update(ctx, stream, h.command(m, stream), func(history []event.Envelope) ([]any, error) {
		if inboxState(history).Documents[in.DocumentID] != nil {
			return nil, nil
		}
		appended = true
		return []any{ev}, nil
	})
	if err != nil || !appended || commit.Appended == 0 {
		_ = h.blobs.Delete(context.WithoutCancel(ctx), key) // not referenced by any event: gone now, or swept later
		if err != nil {
			return PublishResult{}, failure.Op(op, err)
		}
		return PublishResult{Result: Result{Position: commit.Position}, DocumentID: in.DocumentID}, nil
	}
	return PublishResult{Result: Result{Position: commit.Position}, DocumentID: in.DocumentID, Published: true}, nil
}

// OpenDocument records member memberID's first opening of document id (its notification); later openings record
// nothing. A document not in the member's inbox is inbox.ErrNotFound (another member's included).
func (h *Inbox) OpenDocument(ctx context.Context, m Meta, memberID, id uuid.UUID) (Result, error) {
	const op = "command.OpenInboxDocument"
	stream := inbox.StreamID(memberID)
	m = withActor(m, memberID)
	m.CommandID = uuid.NewSHA1(id, []byte("opened")) // once per document, whoever races
	commit, err := h.store.Update(ctx, stream, h.command(m, stream), func(history []event.Envelope) ([]any, error) {
		d := inboxState(history).Documents[id]
		if d == nil {
			return nil, inbox.ErrNotFound
		}
		if !d.OpenedAt.IsZero() {
			return nil, nil
		}
		return []any{inbox.Opened{DocumentID: id}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// ErrNotDueYet: a deemed notification asked before its date (the scheduler's clock ahead of this one).
var ErrNotDueYet = failure.New(failure.Rule, "inbox.not_due_yet", "the document is not deemed notified yet")

// DeemNotified records that document id of member memberID, never opened, is deemed notified DeemedAfter after it
// was made available. Nothing is recorded for a document already notified (opened, or deemed before).
func (h *Inbox) DeemNotified(ctx context.Context, memberID, id uuid.UUID) (Result, error) {
	const op = "command.DeemInboxDocumentNotified"
	stream := inbox.StreamID(memberID)
	now := h.clock().UTC()
	m := Meta{Actor: InboxNotifierActor, CommandID: uuid.NewSHA1(id, []byte("deemed-notified"))}
	commit, err := h.store.Update(ctx, stream, h.commandAt(m, stream, now), func(history []event.Envelope) ([]any, error) {
		d := inboxState(history).Documents[id]
		if d == nil {
			return nil, inbox.ErrNotFound
		}
		if !d.NotifiedAt.IsZero() {
			return nil, nil
		}
		due := inbox.DeemedAt(d.PublishedAt)
		if now.Before(due) {
			return nil, ErrNotDueYet
		}
		return []any{inbox.DeemedNotified{DocumentID: id, NotifiedAt: due.UTC()}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// InboxDocument returns document id of member memberID's inbox as the event store holds it.
func (h *Inbox) InboxDocument(ctx context.Context, memberID, id uuid.UUID) (inbox.Document, error) {
	history, err := h.store.Load(ctx, inbox.StreamID(memberID))
	if err != nil {
		return inbox.Document{}, err
	}
	d := inboxState(history).Documents[id]
	if d == nil {
		return inbox.Document{}, inbox.ErrNotFound
	}
	return *d, nil
}

func inboxState(history []event.Envelope) inbox.State {
	var st inbox.State
	for _, e := range history {
		st.Apply(e.Event, e.Metadata.OccurredAt)
	}
	return st
}
