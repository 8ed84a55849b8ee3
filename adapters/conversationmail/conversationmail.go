// Package conversationmail runs the reaction of conversations (adapters/messaging), fed by the event store's
// global log: ReplyHandler tells the member by mail that a reply to their message is waiting in their private
// space, once per reply (messaging.MailOnce), starting at the head of the log on its first start (SkipHistory).
//
// The mail never carries the reply, the subject nor anything the member wrote: only the theme's label and where to
// read it. Logs carry ids and positions only.
package conversationmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// ReplyHandler is the reaction's permanent identity. Never rename it.
const ReplyHandler = "mail.conversation-reply"

// Subject is the subject of the mail.
const Subject = "Une réponse à votre message vous attend"

// ErrNoRecipient is a reply whose member has no email: poison.
var ErrNoRecipient = failure.New(failure.Invalid, "conversationmail.no_recipient", "no recipient for this conversation mail")

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// Deps are what the reaction needs.
type Deps struct {
	DB     *sqldb.DB   // processed keys; required
	Store  EventLoader // the conversation's and the member's streams; required
	Sender mail.Sender // required
	From   string
	Logger *slog.Logger
}

// Register adds the handler to router.
func Register(router *messaging.Router, deps Deps) error {
	if err := depcheck.New("conversationmail:").Require("DB", deps.DB).Require("Store", deps.Store).
		Require("Sender", deps.Sender).Err(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("conversationmail: router is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	r := &reaction{Deps: deps}
	if err := router.AddHandler(ReplyHandler, r.reply, messaging.SkipHistory(), messaging.Handles(conversation.TypeStaffReplied)); err != nil {
		return fmt.Errorf("conversationmail: add %s: %w", ReplyHandler, err)
	}
	return nil
}

type reaction struct{ Deps }

func (r *reaction) reply(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != conversation.TypeStaffReplied ||
		!strings.HasPrefix(msg.Metadata.Get(messaging.MetaStream), conversation.Category+"-") {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	sent, err := messaging.MailOnce(msg.Context(), r.DB, ReplyHandler, env, r.Sender, r.From,
		"conversationmail: send", func(ctx context.Context) (mail.Message, error) {
			history, err := r.Store.Load(ctx, env.Stream)
			if err != nil {
				return mail.Message{}, fmt.Errorf("conversationmail: load %s: %w", env.Stream, err)
			}
			c := conversation.Fold(history)
			account, err := r.Store.Load(ctx, event.NewStreamID(member.Category, c.MemberID))
			if err != nil {
				return mail.Message{}, fmt.Errorf("conversationmail: load the member: %w", err)
			}
			to := member.Fold(account).Identity.Email
			if to == "" || !c.Exists() {
				return mail.Message{}, fmt.Errorf("conversationmail: %s: %w", env.Stream, ErrNoRecipient)
			}
			return mail.Message{From: r.From, To: to, Subject: Subject, Text: text(c),
				Header: map[string]string{"Content-Language": "fr"}}, nil
		})
	if sent != "" {
		r.Logger.Info("conversationmail: mail sent", "stream", env.Stream.String(), "event_id", env.EventID.String(),
			"position", env.Position, "message_id", sent)
	}
	return err
}

// text is the mail's body: the theme's label, never the reply nor the subject.
func text(c conversation.State) string {
	cat := conversation.Load(c.CatalogVersion)
	if cat.Version == "" {
		cat = conversation.Current()
	}
	label := c.Theme
	if t, ok := cat.Theme(c.Theme); ok {
		label = t.Label
	}
	return "Bonjour,\n\n" +
		"Un conseiller de la MSA a répondu à votre message sur le thème « " + label + " ».\n\n" +
		"Pour lire sa réponse, connectez-vous à votre espace privé, rubrique « Contact & échanges », " +
		"« Mes messages ».\n\n" +
		"Ce courriel est envoyé automatiquement : merci de ne pas y répondre.\n\n" +
		"Votre MSA\n"
}
