// Package inboxmail runs the reactions of the members' inboxes (adapters/messaging), fed by the event store's global
// log:
//
//   - MailHandler mails the member that a new document waits in their space, once per publication
//     (messaging.MailOnce), without its title, its content or anything personal: only that a document of a kind
//     is there and where to find it. SkipHistory: a first start never mails old publications.
//   - DueHandler keeps a durable table of the documents not notified yet (a row per publication, due when it is
//     deemed notified: made available + inbox.DeemedAfter; deleted at the first opening or the deemed
//     notification). The NotificationScheduler, a messaging.DueRows job under a lease, records the deemed
//     notifications that are due through a port (cmd wires it to command.Inbox.DeemNotified, which records nothing
//     for a document already opened): restarts and replicas miss nothing and record nothing twice.
//
// Logs carry ids and positions only.
package inboxmail

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
)

// Handler names: the reactions' permanent identities. Never rename one.
const (
	MailHandler = "mail.inbox-document"
	DueHandler  = "inbox.notification-due"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string { return []string{MailHandler, DueHandler} }

// Owner is the name under which the table is migrated.
const Owner = "inboxmail"

const dueTable = "inbox_notification_due"

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the goose migrations of the due table.
func Migrations() fs.FS { return migrations.FS }

// Migrate creates or upgrades the due table; safe from several replicas at once.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// ErrNoRecipient: the member has no email (no Registered on the member stream): poison.
var ErrNoRecipient = failure.New(failure.Invalid, "inboxmail.no_recipient", "no recipient for this inbox mail")

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader = messaging.EventLoader

// Deps are what the reactions need.
type Deps struct {
	DB     *sqldb.DB   // processed keys and the due table; required
	Store  EventLoader // the member's account stream; required
	Sender mail.Sender // required
	From   string
	Logger *slog.Logger
}

// Register adds the two handlers to router. Call Migrate first.
func Register(router *messaging.Router, d Deps) error {
	if err := depcheck.New("inboxmail:").Require("DB", d.DB).Require("Store", d.Store).Require("Sender", d.Sender).Err(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("inboxmail: router is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	r := &reactions{Deps: d, paris: paris}
	if err := router.AddHandler(MailHandler, r.mail, messaging.SkipHistory()); err != nil {
		return fmt.Errorf("inboxmail: add %s: %w", MailHandler, err)
	}
	if err := router.AddHandler(DueHandler, r.due); err != nil {
		return fmt.Errorf("inboxmail: add %s: %w", DueHandler, err)
	}
	return nil
}

type reactions struct {
	Deps
	paris *time.Location
}

// inboxEvent decodes msg when it is an event of a member's inbox.
func inboxEvent(msg *message.Message) (event.Envelope, bool, error) {
	return messaging.EventOf(msg, inbox.Category)
}

func (r *reactions) mail(msg *message.Message) error {
	env, ok, err := inboxEvent(msg)
	if err != nil || !ok {
		return err
	}
	pub, ok := env.Event.(inbox.Published)
	if !ok {
		return nil
	}
	id, err := messaging.MailOnce(msg.Context(), r.DB, MailHandler, env, r.Sender, r.From,
		"inboxmail: send new document mail", func(ctx context.Context) (mail.Message, error) {
			to, err := r.recipient(ctx, env)
			if err != nil {
				return mail.Message{}, err
			}
			m := NewDocument(pub.Kind, env.Metadata.OccurredAt.In(r.paris))
			m.From, m.To = r.From, to
			return m, nil
		})
	if id != "" {
		r.Logger.Info("inboxmail: new document mail sent", "handler", MailHandler, "event_id", env.EventID.String(),
			"message_id", id)
	}
	return err
}

// recipient is the member's email as it stood when env was committed (the inbox stream's id is the member's).
func (r *reactions) recipient(ctx context.Context, env event.Envelope) (string, error) {
	to, err := messaging.MemberEmail(ctx, r.Store, env.Stream.ID, env.Position)
	if err != nil {
		return "", fmt.Errorf("inboxmail: %w", err)
	}
	if to == "" {
		return "", fmt.Errorf("inboxmail: %s has no email: %w", event.NewStreamID(member.Category, env.Stream.ID),
			ErrNoRecipient)
	}
	return to, nil
}

// kinds are the member's words for the kinds of documents.
var kinds = map[string]string{
	inbox.KindDecisionLetter:     "une notification de décision sur l'une de vos demandes",
	inbox.KindPaymentAttestation: "l'attestation de paiements que vous avez demandée",
	inbox.KindExternal:           "un document de votre caisse",
}

// NewDocument is the mail telling that a document of kind waits (without From and To): never its title or content.
func NewDocument(kind string, at time.Time) mail.Message {
	what, ok := kinds[kind]
	if !ok {
		what = kinds[inbox.KindExternal]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\nUn nouveau document vous attend dans votre espace privé depuis le %s : %s.\n\n",
		at.Format("02/01/2006 à 15h04"), what)
	b.WriteString("Pour le consulter, connectez-vous à votre espace privé, rubrique « Consulter un document ».\n\n")
	fmt.Fprintf(&b, "Si vous ne l'ouvrez pas, il vous sera réputé notifié %d jours après sa mise à disposition : "+
		"les délais de recours éventuels courent alors à partir de cette date.\n\n", int(inbox.DeemedAfter/(24*time.Hour)))
	b.WriteString("Ceci est un message automatique : merci de ne pas y répondre.\n")
	return mail.Message{Date: at, Subject: "Un nouveau document vous attend dans votre espace privé", Text: b.String()}
}

// due keeps the table of documents not notified yet.
func (r *reactions) due(msg *message.Message) error {
	env, ok, err := inboxEvent(msg)
	if err != nil || !ok {
		return err
	}
	var change func(ctx context.Context, tx *sqldb.Tx) error
	switch ev := env.Event.(type) {
	case inbox.Published:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			return upsertDue.Exec(ctx, tx, ev.DocumentID.String(), env.Stream.ID.String(),
				dbTime(inbox.DeemedAt(env.Metadata.OccurredAt)), 0)
		}
	case inbox.Opened:
		change = r.forget(ev.DocumentID)
	case inbox.DeemedNotified:
		change = r.forget(ev.DocumentID)
	default:
		return nil
	}
	ctx := msg.Context()
	if _, err := messaging.Once(ctx, r.DB, DueHandler, env.EventID, func(tx *sqldb.Tx) error {
		return change(ctx, tx)
	}); err != nil {
		return fmt.Errorf("inboxmail: due notifications of %s: %w", env.Stream, err)
	}
	return nil
}

func (r *reactions) forget(id uuid.UUID) func(ctx context.Context, tx *sqldb.Tx) error {
	return func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+dueTable+" WHERE document_id = ?"), id.String())
		return err
	}
}

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var upsertDue = sqldb.Upsert{Table: dueTable, Columns: []string{"document_id", "member_id", "due_at", "attempts"},
	Key: []string{"document_id"}}
