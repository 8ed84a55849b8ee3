// Package documentmail mails the member the acknowledgement of receipt of a deposit of documents (CRPA L112-3): when
// the fund registers the deposit (document.Registered: it answered an information request, joined a case file, or
// waits in the intake queue), once, through messaging.MailOnce (the Message-ID and the Date come from the event, so
// a repeat is the first copy byte for byte). The mail holds the deposit's reference, its date, the number of
// documents and files, and where it went; never a file, a name, a reason or anything the member wrote.
//
// The handler is added with messaging.SkipHistory (a first start never mails old deposits). The recipient is the
// member's email as it stood when the deposit was registered. Addresses and contents are never logged.
package documentmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// Handler is the reaction's permanent identity (checkpoint, processed keys, poison rows, lease): never rename it.
const Handler = "mail.document-acknowledgement"

// ErrNoRecipient: the deposit's member has no email (no Registered on the member stream): poison.
var ErrNoRecipient = failure.New(failure.Invalid, "documentmail.no_recipient", "no recipient for this acknowledgement")

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// Deps are what the reaction needs.
type Deps struct {
	DB     *sqldb.DB
	Store  EventLoader
	Sender mail.Sender
	From   string
	Logger *slog.Logger
}

// Register adds the acknowledgement reaction to router.
func Register(router *messaging.Router, deps Deps) error {
	if err := depcheck.New("documentmail:").Require("DB", deps.DB).Require("Store", deps.Store).Require("Sender", deps.Sender).Err(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("documentmail: router is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	r := &reaction{Deps: deps, paris: paris}
	return router.AddHandler(Handler, r.handle, messaging.SkipHistory(), messaging.Handles(document.TypeRegistered))
}

type reaction struct {
	Deps
	paris *time.Location
}

func (r *reaction) handle(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != document.TypeRegistered {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	reg, ok := env.Event.(document.Registered)
	if !ok {
		return nil
	}
	id, err := messaging.MailOnce(msg.Context(), r.DB, Handler, env, r.Sender, r.From,
		"documentmail: send acknowledgement", func(ctx context.Context) (mail.Message, error) {
			history, err := r.Store.Load(ctx, env.Stream)
			if err != nil {
				return mail.Message{}, err
			}
			var st document.State
			for _, e := range history {
				st.Apply(e.Event, e.Metadata.OccurredAt)
			}
			dep := st.Deposits[reg.SubmissionID]
			if dep == nil {
				return mail.Message{}, fmt.Errorf("documentmail: deposit not in %s: %w", env.Stream, ErrNoRecipient)
			}
			to, err := r.recipient(ctx, env)
			if err != nil {
				return mail.Message{}, err
			}
			m := Acknowledgement(*dep, reg.Disposition, env.Metadata.OccurredAt.In(r.paris))
			m.From, m.To = r.From, to
			return m, nil
		})
	if id != "" {
		r.Logger.Info("documentmail: acknowledgement mail sent", "handler", Handler, "event_id", env.EventID.String(),
			"message_id", id)
	}
	return err
}

// recipient is the member's email as it stood when env was committed (the stream's id is the member's).
func (r *reaction) recipient(ctx context.Context, env event.Envelope) (string, error) {
	stream := event.NewStreamID(member.Category, env.Stream.ID)
	history, err := r.Store.Load(ctx, stream)
	if err != nil {
		return "", fmt.Errorf("documentmail: load %s: %w", stream, err)
	}
	to := member.EmailAsOf(history, env.Position)
	if to == "" || to == event.ErasedText {
		return "", fmt.Errorf("documentmail: %s has no email: %w", stream, ErrNoRecipient)
	}
	return to, nil
}

// Acknowledgement is the acknowledgement mail of deposit d (without From and To).
func Acknowledgement(d document.Deposit, disposition string, at time.Time) mail.Message {
	files := 0
	for _, doc := range d.Documents {
		files += len(doc.Files)
	}
	where := "Il sera examiné par un conseiller de votre MSA, qui le rattachera à votre dossier."
	switch disposition {
	case document.DispositionInformationAnswer:
		where = "Il répond à la demande d'information de votre caisse sur votre demande : le délai de traitement reprend son cours."
	case document.DispositionCaseFile:
		where = "Il a été joint au dossier de votre demande."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\nVotre caisse de MSA a bien reçu votre envoi de documents.\n\n")
	fmt.Fprintf(&b, "Référence de l'envoi : %s\n", d.Reference)
	fmt.Fprintf(&b, "Reçu le : %s\n", at.Format("02/01/2006 à 15h04"))
	fmt.Fprintf(&b, "Contenu : %d document(s), %d fichier(s)\n\n", len(d.Documents), files)
	fmt.Fprintf(&b, "%s\n\nVous retrouvez cet envoi et son état dans votre espace privé, rubrique « Contact & échanges ».\n\n", where)
	b.WriteString("Ceci est un message automatique : merci de ne pas y répondre.\n")
	return mail.Message{Date: at, Subject: "Accusé de réception de votre envoi de documents " + d.Reference, Text: b.String()}
}
