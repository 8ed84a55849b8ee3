package casework

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// InformationRequestSubject is the subject of the mail asking the member for missing information or pieces.
const InformationRequestSubject = "Informations complémentaires demandées pour votre demande"

// The paragraphs on what the request for pieces does to the periods (CRPA L114-5), by silence rule; %s is the
// deadline granted.
const (
	informationRestart = "Le délai au terme duquel votre demande sera réputée acceptée ne court qu'à compter de la " +
		"réception de ces éléments : il recommencera alors en entier à partir du jour où nous les recevrons, de même " +
		"que notre délai de traitement (article L114-5 du code des relations entre le public et l'administration)."
	informationSuspend = "Le délai au terme duquel votre demande sera réputée rejetée est suspendu pendant le temps " +
		"que vous mettrez à nous les fournir, au plus jusqu'au %s : la suspension prend fin dès leur réception, et " +
		"la date de la décision implicite est reportée d'autant (article L114-5 du code des relations entre le public " +
		"et l'administration)."
	informationNone = "Notre délai de traitement est suspendu jusqu'à leur réception."
)

// informationMessage renders the request for information req on the request acknowledged by ack (its reference,
// silence rule and service in charge), without recipient, Message-ID or Date.
func informationMessage(ack servicerequest.Acknowledged, req servicerequest.InformationRequested,
	loc *time.Location) (mail.Message, error) {
	if ack.Reference == "" || len(req.Items) == 0 || req.Deadline.IsZero() {
		return mail.Message{}, fmt.Errorf("casework: incomplete request for information: %w", ErrAcknowledgementInvalid)
	}
	deadline := frenchDateTime(req.Deadline.In(loc))
	var rule string
	switch ack.Silence.Outcome.Incomplete() {
	case servicerequest.Restart:
		rule = informationRestart
	default:
		rule = fmt.Sprintf(informationSuspend, deadline)
		if !ack.Silence.Outcome.ImplicitDecision() {
			rule = informationNone
		}
	}
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	fmt.Fprintf(&b, "Pour instruire votre demande (référence %s), nous avons besoin des informations ou pièces "+
		"suivantes :\n", ack.Reference)
	for _, item := range req.Items {
		fmt.Fprintf(&b, "- %s\n", item)
	}
	fmt.Fprintf(&b, "\nMerci de nous les transmettre depuis votre espace privé au plus tard le %s (heure de Paris). "+
		"Sans réponse dans ce délai, votre demande ne pourra pas être instruite et sera clôturée.\n\n", deadline)
	fmt.Fprintf(&b, "%s\n\n", rule)
	if office := ack.ServiceInCharge; office != (servicerequest.ServiceInCharge{}) {
		fmt.Fprintf(&b, "Service chargé de votre demande :\n%s\n%s\nTéléphone : %s\nCourriel : %s\n\n",
			office.Name, office.Address, office.Phone, office.Email)
	}
	b.WriteString("Ce message vous est envoyé automatiquement, merci de ne pas y répondre.\n")
	return mail.Message{Subject: InformationRequestSubject, Text: b.String(),
		Header: map[string]string{"Content-Language": "fr"}}, nil
}

// information mails the member a request for information, once, worded by the request's silence rule.
func (r *reactions) information(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != servicerequest.TypeInformationRequested {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	req, ok := env.Event.(servicerequest.InformationRequested)
	if !ok {
		return nil
	}
	log := r.Logger.With("handler", InformationRequestHandler, "stream", env.Stream.String(),
		"event_id", env.EventID.String(), "position", env.Position)
	id, err := messaging.MailOnce(msg.Context(), r.DB, InformationRequestHandler, env, r.Sender, r.From,
		"casework: send a request for information", func(ctx context.Context) (mail.Message, error) {
			ack, err := r.acknowledgementOf(ctx, env)
			if err != nil {
				return mail.Message{}, err
			}
			to, err := r.recipient(ctx, env)
			if err != nil {
				return mail.Message{}, err
			}
			m, err := informationMessage(ack, req, r.paris)
			if err != nil {
				return mail.Message{}, err
			}
			m.From, m.To = r.From, to
			return m, nil
		})
	if id != "" {
		log.Info("casework: request for information mailed", "message_id", id)
	}
	return err
}

// acknowledgementOf returns the acknowledgement of the request of env.
func (r *reactions) acknowledgementOf(ctx context.Context, env event.Envelope) (servicerequest.Acknowledged, error) {
	history, err := r.Store.Load(ctx, env.Stream)
	if err != nil {
		return servicerequest.Acknowledged{}, fmt.Errorf("casework: load %s: %w", env.Stream, err)
	}
	for _, e := range history {
		if ack, ok := e.Event.(servicerequest.Acknowledged); ok {
			return ack, nil
		}
	}
	return servicerequest.Acknowledged{}, fmt.Errorf("casework: %s has no %s: %w", env.Stream,
		servicerequest.TypeAcknowledged, ErrNoRecipient)
}
