package appointmentmail

import (
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
)

// The kinds of appointment mail.
const (
	kindConfirmation = "confirmation"
	kindRescheduled  = "rescheduled"
	kindCancelled    = "cancelled"
	kindReminder     = "reminder"
)

// ICSName is the file name of the iCalendar attachment.
const ICSName = "rendez-vous-msa.ics"

// place says where the appointment takes place, in French.
func place(a appointment.Appointment) string {
	switch a.Channel {
	case appointment.ChannelPhone:
		return "Par téléphone : un conseiller vous appellera au numéro que vous avez indiqué."
	case appointment.ChannelVideo:
		return "En visio : le lien de connexion vous sera envoyé dans votre espace privé."
	}
	c := catalogOf(a)
	if ag, ok := c.Agency(a.Agency); ok {
		return fmt.Sprintf("%s, %s, %s %s", ag.Name, ag.Address, ag.PostalCode, ag.City)
	}
	return a.Agency
}

func catalogOf(a appointment.Appointment) appointment.Catalog {
	if c := appointment.Load(a.CatalogVersion); c.Version != "" {
		return c
	}
	return appointment.Current()
}

func themeLabel(a appointment.Appointment) string {
	if t, ok := catalogOf(a).Theme(a.Theme); ok {
		return t.Label
	}
	return a.Theme
}

var frDays = []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
var frMonths = []string{"", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
	"octobre", "novembre", "décembre"}

// when writes the appointment's time in French, Paris time: "mardi 3 mars 2026 de 09h30 à 10h00".
func when(a appointment.Appointment) string {
	s, e := a.Start.In(appointment.Paris), a.End.In(appointment.Paris)
	return fmt.Sprintf("%s %d %s %d de %02dh%02d à %02dh%02d", frDays[s.Weekday()], s.Day(), frMonths[s.Month()],
		s.Year(), s.Hour(), s.Minute(), e.Hour(), e.Minute())
}

// subjectAndText are the subject and plain text of a mail: no note, no phone, nothing the member wrote.
func subjectAndText(kind string, a appointment.Appointment) (string, string) {
	var subject, head string
	switch kind {
	case kindConfirmation:
		subject, head = "Confirmation de votre rendez-vous MSA", "Votre rendez-vous est confirmé."
	case kindRescheduled:
		subject, head = "Votre rendez-vous MSA a été déplacé", "Votre rendez-vous a été déplacé ; voici le nouvel horaire."
	case kindCancelled:
		subject, head = "Annulation de votre rendez-vous MSA", "Votre rendez-vous est annulé."
		if a.CancelledBy == appointment.CancelledByStaff {
			head = "Nous avons dû annuler votre rendez-vous ; veuillez nous en excuser. Vous pouvez en prendre un " +
				"autre dans Mon espace privé, rubrique « Contact & échanges »."
		}
	default:
		subject, head = "Rappel : votre rendez-vous MSA demain", "Nous vous rappelons votre rendez-vous."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Bonjour,\n\n%s\n\n", head)
	fmt.Fprintf(&b, "Objet : %s\nDate : %s (heure de Paris)\nLieu : %s\n\n", themeLabel(a), when(a), place(a))
	if kind != kindCancelled {
		b.WriteString("Vous pouvez ajouter ce rendez-vous à votre agenda avec le fichier joint. Pour l'annuler ou le " +
			"déplacer, rendez-vous dans Mon espace privé, rubrique « Contact & échanges », au plus tard 24 heures avant.\n\n")
	}
	b.WriteString("Pour toute question : 03 20 900 500, du lundi au vendredi de 8h30 à 12h15 et de 13h30 à 16h30.\n\n" +
		"Ce message est envoyé automatiquement, merci de ne pas y répondre.\nVotre MSA\n")
	return subject, b.String()
}

// Calendar returns the iCalendar invitation (RFC 5545) of an appointment: one VEVENT whose UID is the
// appointment's, SEQUENCE its number of reschedules (a reschedule updates the same event in the member's agenda),
// METHOD:CANCEL and STATUS:CANCELLED for a cancellation. stamp is the event's business time, so a repeat is byte
// for byte the first copy.
func Calendar(kind string, a appointment.Appointment, organizer string, stamp time.Time) []byte {
	cal := ics.NewCalendarFor("MSA//Dossier rendez-vous")
	method, status := ics.MethodRequest, ics.ObjectStatusConfirmed
	if kind == kindCancelled {
		method, status = ics.MethodCancel, ics.ObjectStatusCancelled
	}
	cal.SetMethod(method)
	ev := cal.AddEvent(UID(a.ID))
	ev.SetDtStampTime(stamp.UTC())
	ev.SetStartAt(a.Start.UTC())
	ev.SetEndAt(a.End.UTC())
	ev.SetSequence(a.Reschedules)
	ev.SetSummary("Rendez-vous MSA : " + themeLabel(a))
	ev.SetLocation(place(a))
	ev.SetDescription("Rendez-vous pris dans Mon espace privé. Pour l'annuler ou le déplacer : Mon espace privé, " +
		"rubrique « Contact & échanges ».")
	ev.SetStatus(status)
	if organizer != "" {
		ev.SetOrganizer("mailto:" + organizer)
	}
	return []byte(cal.Serialize())
}

// UID is the iCalendar UID of an appointment.
func UID(id uuid.UUID) string { return id.String() + "@rendez-vous.msa.invalid" }
