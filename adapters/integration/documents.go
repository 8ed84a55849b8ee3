package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// DocumentsTopic is the topic of the documents the fund's other systems publish into a member's inbox.
//
// A message carries one document, its payload a JSON object:
//
//	{"external_id": "GED-2026-000123", "member_id": "6f1c…", "title": "Attestation de droits",
//	 "file_name": "attestation.pdf", "file": "JVBERi0xLjcK…"}
//
// The member is named as in finance facts, by exactly one of member_id or nir (the NIR only in the payload, never
// in metadata). external_id is the other system's id of the document (1 to 200 characters): the document's id
// derives from the member and it (inbox.ExternalSource, as `dossier admin publish-document --external-id` does), so
// a redelivered message, or the same document published again, records nothing more. file is the document itself,
// base64 (standard alphabet, padded), at most DocumentsConfig.MaxBytes once decoded (10 MiB by default): inline
// rather than a blob reference, so that the message is the whole fact (no second system to reach, no reference that
// can dangle) and the size limit is checked before decoding. It is checked on its content by adapters/filecheck like
// a member's deposit and the admin command (PDF without active content, JPEG or PNG), then published through
// command.Inbox.Publish: sealed with the member's key in the blob store, then InboxDocumentPublished; the member is
// mailed by the inbox reaction. file_name is optional (default "document" with the type's extension).
//
// A member without an open account (a member_id or a NIR that names none) is rejected with
// integration.member_unknown (acked, counted), not parked as finance facts are: a document is sealed with the
// member's key, which exists only once the account is open, and parking it would keep a file about a person outside
// the member space; the fund's system publishes it again once the account exists.
const DocumentsTopic = "dossier.documents"

// Errors of a document message that can never be published (all Invalid: acknowledge, do not retry).
var (
	ErrDocumentMalformed = failure.New(failure.Invalid, "integration.document_malformed",
		"message is not a JSON object {external_id, member_id or nir, title, file_name, file}")
	ErrDocumentExternalID = failure.New(failure.Invalid, "integration.document_external_id",
		"a document needs its external_id (1 to 200 characters)")
	ErrDocumentEncoding = failure.New(failure.Invalid, "integration.document_file_encoding",
		"the document's file is not valid base64")
)

// DocumentMessage is the payload of a message on DocumentsTopic.
type DocumentMessage struct {
	ExternalID string `json:"external_id"`
	MemberID   string `json:"member_id,omitempty"`
	NIR        string `json:"nir,omitempty"`
	Title      string `json:"title"`
	FileName   string `json:"file_name,omitempty"`
	File       string `json:"file"`
}

// DocumentPublisher publishes into a member's inbox; *command.Inbox implements it.
type DocumentPublisher interface {
	Publish(ctx context.Context, m command.Meta, in command.PublishInput) (command.PublishResult, error)
}

// MemberResolver returns the member of an open account named by id (when n is zero) or by NIR (when id is
// uuid.Nil), or an error wrapping member.ErrNotFound when there is none.
type MemberResolver func(ctx context.Context, id uuid.UUID, n nir.NIR) (uuid.UUID, error)

// DocumentsConfig configures Documents. Publisher and Members are required.
type DocumentsConfig struct {
	Publisher DocumentPublisher
	Members   MemberResolver
	// MaxBytes is the largest file accepted, decoded, in bytes; default DefaultDocumentMaxBytes.
	MaxBytes int64
}

// DefaultDocumentMaxBytes is the default largest document (10 MiB), the admin command's default.
const DefaultDocumentMaxBytes = 10 << 20

// Documents returns the FinanceFunc-shaped handler of DocumentsTopic (for a Consumer with Topic DocumentsTopic): it
// publishes the document a message carries, with actor command.InboxPublisherActor. OutcomeRecorded: published;
// OutcomeUnchanged: already in the inbox; OutcomeRejected with an Invalid error: can never be published (its code
// says why; never the message's data); OutcomeRetried: transient (the event store or blob store out of reach).
func Documents(cfg DocumentsConfig) FinanceFunc {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultDocumentMaxBytes
	}
	return func(msg *message.Message) (Outcome, error) {
		const op = "integration.Documents"
		ctx := msg.Context()
		var body DocumentMessage
		dec := json.NewDecoder(bytes.NewReader(msg.Payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || dec.More() {
			return OutcomeRejected, failure.Wrap(op, failure.Internal, ErrDocumentMalformed)
		}
		external := strings.TrimSpace(body.ExternalID)
		if external == "" || utf8.RuneCountInString(external) > 200 || !utf8.ValidString(external) {
			return OutcomeRejected, failure.Wrap(op, failure.Internal, failure.Field("external_id", ErrDocumentExternalID))
		}
		id, n, err := memberRef(op, body.MemberID, body.NIR)
		if err != nil {
			return OutcomeRejected, err
		}
		if int64(base64.StdEncoding.DecodedLen(len(body.File))) > cfg.MaxBytes+2 {
			return OutcomeRejected, invalid(op, failure.Field("file", document.ErrFileTooLarge))
		}
		content, err := base64.StdEncoding.DecodeString(body.File)
		if err != nil {
			return OutcomeRejected, failure.Wrap(op, failure.Internal, failure.Field("file", ErrDocumentEncoding))
		}
		typ, err := filecheck.Check(ctx, content, cfg.MaxBytes)
		if err != nil {
			if failure.KindOf(err) != failure.Invalid {
				return OutcomeRetried, failure.Wrap(op, failure.Internal, err)
			}
			return OutcomeRejected, invalid(op, failure.Field("file", err))
		}
		memberID, err := cfg.Members(ctx, id, n)
		if errors.Is(err, member.ErrNotFound) {
			return OutcomeRejected, failure.Wrap(op, failure.Internal, ErrUnknownMember)
		} else if err != nil {
			return OutcomeRetried, failure.Wrap(op, failure.Internal, err)
		}
		name := path.Base(strings.ReplaceAll(body.FileName, "\\", "/"))
		if body.FileName == "" || name == "." || name == "/" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
			name = "document" + extension(typ)
		}
		causation := messageID(msg.UUID)
		correlation := causation
		if c, err := uuid.Parse(msg.Metadata.Get(MetaCorrelationID)); err == nil && c != uuid.Nil {
			correlation = c
		}
		source := inbox.ExternalSource(memberID, external)
		res, err := cfg.Publisher.Publish(ctx, command.Meta{Actor: command.InboxPublisherActor,
			CorrelationID: correlation, CommandID: causation}, command.PublishInput{
			MemberID: memberID, DocumentID: command.InboxDocumentID(inbox.KindExternal, source), Kind: inbox.KindExternal,
			SourceID: source, Title: body.Title, FileName: name, ContentType: typ, Content: content})
		switch {
		case err == nil && res.Published:
			return OutcomeRecorded, nil
		case err == nil:
			return OutcomeUnchanged, nil
		case failure.KindOf(err) == failure.Invalid || failure.KindOf(err) == failure.Rule:
			return OutcomeRejected, invalid(op, err)
		}
		return OutcomeRetried, failure.Wrap(op, failure.Internal, err)
	}
}

func extension(typ string) string {
	switch typ {
	case document.TypeJPEG:
		return ".jpg"
	case document.TypePNG:
		return ".png"
	}
	return ".pdf"
}

// StoreMembers is the MemberResolver over the event store: it finds the member of an open account by id (its member
// stream exists) or by NIR (the nirclaim stream, named by the keyed hash of the NIR, names the member, whose stream
// exists); member.ErrNotFound otherwise. keys serve only for a NIR (nil for a caller that never passes one).
func StoreMembers(store command.EventStore, keys command.Keys) MemberResolver {
	return func(ctx context.Context, id uuid.UUID, n nir.NIR) (uuid.UUID, error) {
		if id == uuid.Nil {
			claim, err := store.Load(ctx, event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body())))
			if err != nil {
				return uuid.Nil, err
			}
			for _, env := range claim {
				if c, ok := env.Event.(member.Claimed); ok {
					id = c.MemberID
				}
			}
			if id == uuid.Nil {
				return uuid.Nil, member.ErrNotFound
			}
		}
		history, err := store.Load(ctx, event.NewStreamID(member.Category, id))
		if err != nil {
			return uuid.Nil, err
		}
		if len(history) == 0 {
			return uuid.Nil, member.ErrNotFound
		}
		return id, nil
	}
}
