// Package appointmentmail runs the reactions of appointments (adapters/messaging), fed by the event store's global
// log:
//
//   - ConfirmationHandler mails the member a confirmation of each booking, reschedule and cancellation, with an
//     iCalendar (.ics) file made by github.com/arran4/golang-ical (one UID per appointment, SEQUENCE bumped by
//     each reschedule, METHOD:CANCEL for a cancellation), once (messaging.MailOnce), starting at the head of the log
//     on its first start (SkipHistory);
//   - RemindersHandler keeps a durable table of the reminders to send (a row per booked appointment: its start and
//     when the reminder is due, the lead before it); the ReminderScheduler, under a lease, records the reminders that
//     are due through a port (cmd wires it to command.Appointments.Remind), and ReminderHandler mails each recorded
//     reminder (AppointmentReminderSent), once. The table and the checkpoints are in the reactions' database, so a
//     restart misses nothing. The scheduler is messaging.DueRows, as the casework deadlines' and privacy retention's.
//
// Mails carry no note, no phone and nothing the member wrote; logs carry ids and positions only.
package appointmentmail

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	netmail "net/mail"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Handler names: the reactions' permanent identities. Never rename one.
const (
	ConfirmationHandler = "mail.appointment-confirmation"
	ReminderHandler     = "mail.appointment-reminder"
	RemindersHandler    = "appointments.reminders-due"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string { return []string{ConfirmationHandler, ReminderHandler, RemindersHandler} }

// Owner is the name under which the table is migrated.
const Owner = "appointmentmail"

const reminderTable = "appointment_reminder"

// DefaultLead is how long before an appointment its reminder is due: the day before.
const DefaultLead = 24 * time.Hour

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the goose migrations of the reminders table.
func Migrations() fs.FS { return migrations.FS }

// Migrate creates or upgrades the reminders table; safe from several replicas at once.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// ErrNoRecipient is a mail whose member stream has no email: poison.
var ErrNoRecipient = failure.New(failure.Invalid, "appointmentmail.no_recipient", "no recipient for this appointment mail")

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader = messaging.EventLoader

// Deps are what the reactions need.
type Deps struct {
	DB     *sqldb.DB   // processed keys and the reminders table; required
	Store  EventLoader // the member's appointments and account streams; required
	Sender mail.Sender // required
	From   string      // the mails' author (and the invitations' organizer)
	// Lead is how long before an appointment its reminder is due; 0: DefaultLead.
	Lead   time.Duration
	Logger *slog.Logger
}

// Validate reports every missing dependency at once.
func (d Deps) Validate() error {
	return depcheck.New("appointmentmail:").Require("DB", d.DB).Require("Store", d.Store).Require("Sender", d.Sender).
		Problem(d.Lead < 0, "Lead must not be negative").Err()
}

// Register adds the three handlers to router. Call Migrate first.
func Register(router *messaging.Router, deps Deps) error {
	if err := deps.Validate(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("appointmentmail: router is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Lead == 0 {
		deps.Lead = DefaultLead
	}
	r := &reactions{Deps: deps}
	if err := router.AddHandler(ConfirmationHandler, r.confirmation, messaging.SkipHistory(),
		messaging.Handles(appointment.TypeBooked, appointment.TypeRescheduled, appointment.TypeCancelled)); err != nil {
		return fmt.Errorf("appointmentmail: add %s: %w", ConfirmationHandler, err)
	}
	if err := router.AddHandler(ReminderHandler, r.reminder, messaging.SkipHistory(), messaging.Handles(appointment.TypeReminderSent)); err != nil {
		return fmt.Errorf("appointmentmail: add %s: %w", ReminderHandler, err)
	}
	if err := router.AddHandler(RemindersHandler, r.reminders); err != nil {
		return fmt.Errorf("appointmentmail: add %s: %w", RemindersHandler, err)
	}
	return nil
}

type reactions struct{ Deps }

// appointmentEvent decodes msg when it is an event of a member's appointments stream.
func appointmentEvent(msg *message.Message) (event.Envelope, bool, error) {
	return messaging.EventOf(msg, appointment.Category)
}

// stateAt returns the appointment id as the member's stream held it once env was committed, and the member's
// email as it stood then (later changes do not count, so that a repeat goes where the first copy went).
func (r *reactions) stateAt(ctx context.Context, env event.Envelope, id uuid.UUID) (appointment.Appointment, string, error) {
	history, err := r.Store.Load(ctx, env.Stream)
	if err != nil {
		return appointment.Appointment{}, "", fmt.Errorf("appointmentmail: load %s: %w", env.Stream, err)
	}
	var a appointment.Appointment
	for _, e := range history {
		if e.Revision > env.Revision {
			break
		}
		if eid, ok := appointment.IDOf(e.Event); ok && eid == id {
			a, _ = a.Apply(e.Event)
		}
	}
	to, err := messaging.MemberEmail(ctx, r.Store, env.Stream.ID, env.Position)
	if err != nil {
		return a, "", fmt.Errorf("appointmentmail: %w", err)
	}
	if to == "" || a.ID == uuid.Nil {
		return a, "", fmt.Errorf("appointmentmail: %s: %w", env.Stream, ErrNoRecipient)
	}
	return a, to, nil
}

// send mails kind for the appointment id of env, once (MailOnce keyed by handler and event).
func (r *reactions) send(msg *message.Message, handler, kind string, env event.Envelope, id uuid.UUID) error {
	log := r.Logger.With("handler", handler, "stream", env.Stream.String(), "event_id", env.EventID.String(),
		"position", env.Position)
	sent, err := messaging.MailOnce(msg.Context(), r.DB, handler, env, r.Sender, r.From,
		"appointmentmail: send "+kind, func(ctx context.Context) (mail.Message, error) {
			a, to, err := r.stateAt(ctx, env, id)
			if err != nil {
				return mail.Message{}, err
			}
			subject, text := subjectAndText(kind, a)
			method := "REQUEST"
			if kind == kindCancelled {
				method = "CANCEL"
			}
			return mail.Message{From: r.From, To: to, Subject: subject, Text: text,
				Header: map[string]string{"Content-Language": "fr"},
				Attachments: []mail.Attachment{{Name: ICSName,
					ContentType: "text/calendar; charset=utf-8; method=" + method,
					Data:        Calendar(kind, a, organizer(r.From), env.Metadata.OccurredAt)}}}, nil
		})
	if sent != "" {
		log.Info("appointmentmail: mail sent", "kind", kind, "message_id", sent)
	}
	return err
}

// organizer is the bare address of from ("" when it does not parse).
func organizer(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		return a.Address
	}
	return ""
}

func (r *reactions) confirmation(msg *message.Message) error {
	switch msg.Metadata.Get(messaging.MetaEventType) {
	case appointment.TypeBooked, appointment.TypeRescheduled, appointment.TypeCancelled:
	default:
		return nil
	}
	env, ok, err := appointmentEvent(msg)
	if err != nil || !ok {
		return err
	}
	id, _ := appointment.IDOf(env.Event)
	kind := kindConfirmation
	switch env.Event.(type) {
	case appointment.Rescheduled:
		kind = kindRescheduled
	case appointment.Cancelled:
		kind = kindCancelled
	}
	return r.send(msg, ConfirmationHandler, kind, env, id)
}

func (r *reactions) reminder(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != appointment.TypeReminderSent {
		return nil
	}
	env, ok, err := appointmentEvent(msg)
	if err != nil || !ok {
		return err
	}
	id, _ := appointment.IDOf(env.Event)
	return r.send(msg, ReminderHandler, kindReminder, env, id)
}

// dbTime is how times go into the table: UTC, to the microsecond.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var upsertReminder = sqldb.Upsert{Table: reminderTable,
	Columns: []string{"appointment_id", "member_id", "start_at", "due_at", "attempts"}, Key: []string{"appointment_id"}}

// reminders keeps the table of reminders to send: Booked and Rescheduled (re)insert the appointment's row; a
// cancellation, an outcome or the reminder of that start delete it.
func (r *reactions) reminders(msg *message.Message) error {
	env, ok, err := appointmentEvent(msg)
	if err != nil || !ok {
		return err
	}
	id, ok := appointment.IDOf(env.Event)
	if !ok {
		return nil
	}
	del := func(ctx context.Context, tx *sqldb.Tx, extra string, args ...any) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+reminderTable+" WHERE appointment_id = ?"+extra),
			append([]any{id.String()}, args...)...)
		return err
	}
	var change func(ctx context.Context, tx *sqldb.Tx) error
	switch ev := env.Event.(type) {
	case appointment.Booked:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			return upsertReminder.Exec(ctx, tx, id.String(), env.Stream.ID.String(), dbTime(ev.Start),
				dbTime(ev.Start.Add(-r.Lead)), 0)
		}
	case appointment.Rescheduled:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			return upsertReminder.Exec(ctx, tx, id.String(), env.Stream.ID.String(), dbTime(ev.Start),
				dbTime(ev.Start.Add(-r.Lead)), 0)
		}
	case appointment.ReminderSent:
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			return del(ctx, tx, " AND start_at = ?", dbTime(ev.Start))
		}
	case appointment.Cancelled, appointment.Held, appointment.Missed:
		change = func(ctx context.Context, tx *sqldb.Tx) error { return del(ctx, tx, "") }
	default:
		return nil
	}
	ctx := msg.Context()
	if _, err := messaging.Once(ctx, r.DB, RemindersHandler, env.EventID, func(tx *sqldb.Tx) error {
		return change(ctx, tx)
	}); err != nil {
		return fmt.Errorf("appointmentmail: reminder of %s: %w", env.Stream, err)
	}
	return nil
}

// Pending is a reminder still to send.
type Pending struct {
	AppointmentID, MemberID string
	Start, DueAt            time.Time
	Attempts                int
}

// PendingReminders returns the reminders still to send, earliest due first.
func PendingReminders(ctx context.Context, db *sqldb.DB) ([]Pending, error) {
	var rows []struct {
		AppointmentID string    `db:"appointment_id"`
		MemberID      string    `db:"member_id"`
		StartAt       time.Time `db:"start_at"`
		DueAt         time.Time `db:"due_at"`
		Attempts      int       `db:"attempts"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT appointment_id, member_id, start_at, due_at, attempts FROM "+
		reminderTable+" ORDER BY due_at, appointment_id"); err != nil {
		return nil, fmt.Errorf("appointmentmail: pending reminders: %w", err)
	}
	out := make([]Pending, len(rows))
	for i, r := range rows {
		out[i] = Pending{AppointmentID: r.AppointmentID, MemberID: r.MemberID, Start: r.StartAt.UTC(),
			DueAt: r.DueAt.UTC(), Attempts: r.Attempts}
	}
	return out, nil
}
