package casework

import (
	"fmt"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// defaultZone is the fund's calendar, for an acknowledgement that names none.
const defaultZone = "Europe/Paris"

// AcknowledgementSubject is the subject of the acknowledgement mail.
const AcknowledgementSubject = "Accusé de réception de votre demande"

// noImplicitDecision is what the acknowledgement says of silence when it decides nothing
// (servicerequest.NoImplicitDecision): the request is for a document delivered by right (CRPA R112-4 2°) or is a
// declaration, which asks for no decision by itself.
const noImplicitDecision = "Cette demande ne donne pas lieu à une décision implicite : elle porte sur un document " +
	"délivré de droit ou constitue une déclaration, et le silence gardé par votre caisse ne vaut ni acceptation ni " +
	"rejet."

// acknowledgementMessage renders the acknowledgement ack, as it was told to the member, without recipient,
// Message-ID or Date. Its dates are those of the event (frozen as announced), written in ack's calendar.
func acknowledgementMessage(ack servicerequest.Acknowledged, fallback *time.Location) (mail.Message, error) {
	loc, zoneName := fallback, "heure de Paris"
	if ack.TimeZone != "" && ack.TimeZone != defaultZone {
		l, err := time.LoadLocation(ack.TimeZone)
		if err != nil {
			return mail.Message{}, fmt.Errorf("casework: time zone of the acknowledgement: %w", ErrAcknowledgementInvalid)
		}
		loc, zoneName = l, "heure locale"
	}
	due, err := time.Parse(time.DateOnly, ack.DueOn)
	if err != nil {
		return mail.Message{}, fmt.Errorf("casework: due date: %w", ErrAcknowledgementInvalid)
	}
	if ack.Reference == "" || ack.ReceivedAt.IsZero() || ack.HandlingTime.Validate() != nil {
		return mail.Message{}, fmt.Errorf("casework: incomplete acknowledgement: %w", ErrAcknowledgementInvalid)
	}
	// silence is the paragraph on what the caisse's silence means: with the implicit-decision day for acceptance and
	// rejection, without any day when silence decides nothing.
	var silence, suspension, routesTitle string
	switch ack.Silence.Outcome {
	case servicerequest.Acceptance, servicerequest.Rejection:
		implicit, err := time.Parse(time.DateOnly, ack.ImplicitDecisionOn)
		if err != nil {
			return mail.Message{}, fmt.Errorf("casework: implicit decision date: %w", ErrAcknowledgementInvalid)
		}
		meaning := "votre demande sera réputée acceptée : le silence gardé par votre caisse vaut décision " +
			"d'acceptation. Vous pourrez alors demander une attestation de cette décision implicite."
		routesTitle = "Vos droits"
		if ack.Silence.Outcome == servicerequest.Rejection {
			meaning = "votre demande sera réputée rejetée : le silence gardé par votre caisse vaut décision de rejet. " +
				"Vous pourrez contester ce rejet implicite selon les voies de recours indiquées ci-dessous."
			routesTitle = "Délais et voies de recours"
		}
		silence = fmt.Sprintf("Si aucune décision ne vous a été notifiée à la fin de la journée du %s, %s",
			frenchDate(implicit), meaning)
		suspension = suspensionText(ack.Silence.Outcome)
	case servicerequest.NoImplicitDecision:
		if ack.ImplicitDecisionOn != "" {
			return mail.Message{}, fmt.Errorf("casework: implicit decision date without implicit decision: %w",
				ErrAcknowledgementInvalid)
		}
		silence = noImplicitDecision
		suspension = "Si des informations ou des pièces complémentaires vous sont demandées, ce délai est suspendu " +
			"jusqu'à leur réception et cette date est reportée d'autant."
		routesTitle = "Délais et voies de recours"
	default:
		return mail.Message{}, fmt.Errorf("casework: silence outcome: %w", ErrAcknowledgementInvalid)
	}

	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	fmt.Fprintf(&b, "Nous avons bien reçu votre demande le %s (%s).\n\n", frenchDateTime(ack.ReceivedAt.In(loc)), zoneName)
	fmt.Fprintf(&b, "Référence de votre demande : %s\n", ack.Reference)
	b.WriteString("Rappelez cette référence dans tous vos échanges avec votre caisse.\n\n")
	fmt.Fprintf(&b, "Délai de traitement : %s. Nous nous engageons à traiter votre demande au plus tard le %s.\n\n",
		frenchPeriod(ack.HandlingTime), frenchDate(due))
	fmt.Fprintf(&b, "%s\n\n%s\n\n", silence, suspension)
	if office := ack.ServiceInCharge; office != (servicerequest.ServiceInCharge{}) {
		fmt.Fprintf(&b, "Service chargé de votre demande :\n%s\n%s\nTéléphone : %s\nCourriel : %s\n\n",
			office.Name, office.Address, office.Phone, office.Email)
	}
	if routes := strings.TrimSpace(ack.AppealRoutes); routes != "" {
		fmt.Fprintf(&b, "%s :\n%s\n\n", routesTitle, routes)
	}
	b.WriteString("Vous pouvez suivre votre demande dans votre espace privé.\n\n")
	b.WriteString("Ce message vous est envoyé automatiquement, merci de ne pas y répondre.\n")
	return mail.Message{
		Subject: AcknowledgementSubject,
		Text:    b.String(),
		Header:  map[string]string{"Content-Language": "fr"},
	}, nil
}

// The paragraphs on a request for missing information or pieces (CRPA L114-5), one per rule of the clock
// (servicerequest.Outcome.Incomplete): under acceptance the periods only start when the pieces are received (a
// restart); under rejection they are suspended for the time the member takes, ending when the pieces arrive.
const (
	restartText = "Si des informations ou des pièces complémentaires vous sont demandées, ces délais ne courent " +
		"qu'à compter de leur réception : ils recommencent alors en entier à partir du jour où nous les recevons, " +
		"et ces dates sont reportées en conséquence (article L114-5 du code des relations entre le public et " +
		"l'administration)."
	suspendText = "Si des informations ou des pièces complémentaires vous sont demandées, ces délais sont " +
		"suspendus pendant le temps que vous mettez à les fournir, dans la limite du délai qui vous est imparti : " +
		"la suspension prend fin dès leur réception, et ces dates sont reportées d'autant (article L114-5 du code " +
		"des relations entre le public et l'administration)."
)

// suspensionText is the L114-5 paragraph for a silence meaning o (acceptance or rejection).
func suspensionText(o servicerequest.Outcome) string {
	if o.Incomplete() == servicerequest.Restart {
		return restartText
	}
	return suspendText
}

var (
	frenchDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre"}
)

// frenchDate writes the calendar day of t as French does: "lundi 28 juillet 2025", "dimanche 1er juin 2025".
func frenchDate(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %s %d", frenchDays[t.Weekday()], day, frenchMonths[t.Month()-1], t.Year())
}

// frenchDateTime writes t as French does, in t's location: "mercredi 28 mai 2025 à 10 h 05".
func frenchDateTime(t time.Time) string {
	return fmt.Sprintf("%s à %d h %02d", frenchDate(t), t.Hour(), t.Minute())
}

// frenchPeriod writes p in words: "2 mois", "1 jour", "30 jours".
func frenchPeriod(p servicerequest.Period) string {
	switch p.Unit {
	case servicerequest.Months:
		return fmt.Sprintf("%d mois", p.Count)
	case servicerequest.Days:
		if p.Count == 1 {
			return "1 jour"
		}
		return fmt.Sprintf("%d jours", p.Count)
	}
	return fmt.Sprintf("%d %s", p.Count, p.Unit)
}
