package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// publishDocumentActor is who the published documents say acted: the command itself, run by an operator.
var publishDocumentActor = command.InboxPublisherActor

// errNoSuchMember: --member names no member account.
var errNoSuchMember = failure.New(failure.NotFound, "inbox.member_unknown", "no member account with this id")

// AdminPublishDocumentCmd is `dossier admin publish-document --member ID --file F --title T [--external-id X]`: it
// publishes a document of the fund's other systems into a member's inbox, on the embedded default (with --integration-url,
// the consumer of topic dossier.documents does the same: adapters/integration). The file is checked on its content like a member's deposit (PDF without
// active content, JPEG or PNG), sealed with the member's key in the blob store, then recorded; the member is mailed
// by the server's reaction. The document's id derives from --external-id (or from the file's SHA-256): publishing
// the same document again records nothing.
type AdminPublishDocumentCmd struct {
	Config     `embed:""`
	Member     string `name:"member" required:"" help:"The member's id (UUID)."`
	File       string `name:"file" required:"" type:"existingfile" help:"The document: PDF, JPEG or PNG."`
	Title      string `name:"title" required:"" help:"Its title as the member reads it (1 to 200 characters)."`
	ExternalID string `name:"external-id" help:"The other system's id of the document (publishing it again records nothing); default: the file's SHA-256."`
	MaxBytes   int64  `name:"max-bytes" default:"10485760" help:"Largest file accepted, in bytes."`

	stdout io.Writer // nil: os.Stdout (tests set it)
}

// Run publishes the document.
func (c *AdminPublishDocumentCmd) Run(ctx context.Context, logger *slog.Logger) error {
	memberID, err := uuid.Parse(c.Member)
	if err != nil {
		return fmt.Errorf("--member: not a UUID")
	}
	content, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	typ, err := filecheck.Check(ctx, content, c.MaxBytes)
	if err != nil {
		return fmt.Errorf("%s refused: %w", filepath.Base(c.File), err)
	}
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := eventStore(st.Events, st.Keys, member.Definitions(), inbox.Definitions())
	if err != nil {
		return err
	}
	if _, err := integration.StoreMembers(store, nil)(ctx, memberID, nir.NIR{}); errors.Is(err, member.ErrNotFound) {
		return errNoSuchMember
	} else if err != nil {
		return err
	}
	a := &app{cfg: &c.Config, stores: st, logger: logger}
	blobs, err := a.openBlobs(ctx)
	if err != nil {
		return err
	}
	defer blobs.Close()
	cmds, err := command.NewInbox(command.Runtime{Store: store}, blobs)
	if err != nil {
		return err
	}
	external := c.ExternalID
	if external == "" {
		sum := sha256.Sum256(content)
		external = fmt.Sprintf("sha256:%x", sum)
	}
	source := inbox.ExternalSource(memberID, external)
	res, err := cmds.Publish(ctx, command.Meta{Actor: publishDocumentActor, CorrelationID: uuid.New()}, command.PublishInput{
		MemberID: memberID, DocumentID: command.InboxDocumentID(inbox.KindExternal, source), Kind: inbox.KindExternal,
		SourceID: source, Title: c.Title, FileName: filepath.Base(c.File), ContentType: typ, Content: content})
	if err != nil {
		return err
	}
	out := c.stdout
	if out == nil {
		out = os.Stdout
	}
	if res.Published {
		fmt.Fprintf(out, "published: %s\nposition: %d\n", res.DocumentID, res.Position)
	} else {
		fmt.Fprintf(out, "already published: %s\n", res.DocumentID)
	}
	logger.Info("publish document: done", "document_id", res.DocumentID.String(), "published", res.Published)
	return nil
}
