package appointmentmail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/appointmentmail"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
)

const from = "Mon espace privé <ne-pas-repondre@msa.example>"

// ctxT and eventually are messagingtest's.
var (
	ctxT       = messagingtest.Context
	eventually = messagingtest.Eventually
)

// noOffers: Remind, the only command the scheduler runs, never asks for offers.
type noOffers struct{}

func (noOffers) Offers(context.Context, string, string, string, time.Time) ([]appointment.Offer, error) {
	return nil, nil
}

// clock is the scheduler's injected clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// calendarOf parses the iCalendar attachment of a received mail back with golang-ical.
func calendarOf(t *testing.T, m smtptest.Message) *ics.VEvent {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/calendar part: %v", err)
		}
		if !strings.HasPrefix(part.Header.Get("Content-Type"), "text/calendar") {
			continue
		}
		data, _ := io.ReadAll(part)
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), "")); err != nil {
				t.Fatal(err)
			}
		}
		cal, err := ics.ParseCalendar(bytes.NewReader(data))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("parse .ics: %v\n%s", err, data)
		}
		return cal.Events()[0]
	}
}

// TestReminderTheDayBeforeSurvivesRestarts: a booking gets its confirmation with an .ics at once; its reminder is
// not sent before the day before (injected clock), is sent once when due, and a restart of the reactions and the
// scheduler sends nothing again. Both dialects, a real SMTP server, the real node.
func TestReminderTheDayBeforeSurvivesRestarts(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		events := kurrentdbtest.Start(t, appointment.Definitions(), member.Definitions())
		srv, sender := smtptest.StartSender(t, from)
		messagingtest.Migrate(t, db, appointmentmail.Migrate)
		cmds, err := command.NewAppointments(command.Runtime{Store: events.Store}, noOffers{})
		if err != nil {
			t.Fatal(err)
		}
		clk := &clock{now: time.Now().UTC()}

		start := func() func() {
			router, err := messaging.NewRouter(messaging.RouterConfig{Feed: events.Source, DB: db,
				Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := appointmentmail.Register(router, appointmentmail.Deps{DB: db, Store: events.Store, Sender: sender,
				From: from}); err != nil {
				t.Fatal(err)
			}
			sched := appointmentmail.NewScheduler(appointmentmail.SchedulerDeps{DB: db, Now: clk.Now,
				Interval: 50 * time.Millisecond, Remind: func(ctx context.Context, memberID, id uuid.UUID, at time.Time) error {
					_, err := cmds.Remind(ctx, memberID, id, at)
					return err
				}})
			runCtx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = router.Run(runCtx) }()
			go func() { defer wg.Done(); _ = sched.Run(runCtx) }()
			eventually(t, "the handlers' starting points", func() bool { return router.Started(ctxT(t)) == nil })
			return func() { _ = router.Close(); cancel(); wg.Wait() }
		}
		stop := start()

		memberID, id := uuid.New(), uuid.New()
		write := func(stream event.StreamID, v any) event.Commit {
			cmd := uuid.New()
			c, err := events.Store.Append(ctx, stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
				CommandID: cmd, Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember},
				OccurredAt: time.Now().UTC().Truncate(time.Second)}, v)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		write(event.NewStreamID(member.Category, memberID), member.Registered{RegistrationID: uuid.New(),
			Email: "alice@example.test", LastName: "Martin", FirstName: "Alice"})
		at := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Minute)
		write(event.NewStreamID(appointment.Category, memberID), appointment.Booked{AppointmentID: id,
			StaffID: uuid.New(), Theme: "retraite-information", Channel: appointment.ChannelAgency, Agency: "arras",
			Start: at, End: at.Add(45 * time.Minute), Note: "Ma note privée", CatalogVersion: "2026.1"})

		msgs, err := srv.WaitMatch(ctx, 1, smtptest.To("alice@example.test"))
		if err != nil {
			t.Fatal(err)
		}
		confirmation := msgs[0]
		ev := calendarOf(t, confirmation)
		if got, err := ev.GetStartAt(); err != nil || !got.Equal(at) || ev.Id() != appointmentmail.UID(id) ||
			!strings.Contains(confirmation.Subject, "Confirmation") || strings.Contains(string(confirmation.Raw), "Ma note") {
			t.Fatalf("confirmation: start %v (%v), uid %s, subject %q", got, err, ev.Id(), confirmation.Subject)
		}
		eventually(t, "the reminder row", func() bool {
			p, err := appointmentmail.PendingReminders(ctx, db)
			return err == nil && len(p) == 1 && p[0].DueAt.Equal(at.Add(-24*time.Hour))
		})

		reminders := func() int {
			n := 0
			for _, m := range srv.Messages() {
				if strings.Contains(m.Subject, "Rappel") {
					n++
				}
			}
			return n
		}
		// The day before minus an hour: nothing yet.
		clk.Set(at.Add(-25 * time.Hour))
		time.Sleep(400 * time.Millisecond)
		if n := reminders(); n != 0 {
			t.Fatalf("%d reminders 25 hours before", n)
		}
		// Due: one reminder, recorded as an event, the row gone.
		clk.Set(at.Add(-23 * time.Hour))
		eventually(t, "the reminder mail", func() bool { return reminders() == 1 })
		eventually(t, "the row deleted", func() bool {
			p, err := appointmentmail.PendingReminders(ctx, db)
			return err == nil && len(p) == 0
		})
		for _, m := range srv.Messages() {
			if strings.Contains(m.Subject, "Rappel") {
				if got, _ := calendarOf(t, m).GetStartAt(); !got.Equal(at) {
					t.Errorf("reminder invitation at %v", got)
				}
			}
		}
		// A restart sends nothing again.
		stop()
		stop = start()
		defer stop()
		time.Sleep(500 * time.Millisecond)
		if n := reminders(); n != 1 {
			t.Fatalf("%d reminders after a restart", n)
		}
		history, _ := events.Store.Load(ctx, event.NewStreamID(appointment.Category, memberID))
		sent := 0
		for _, e := range history {
			if _, ok := e.Event.(appointment.ReminderSent); ok {
				sent++
			}
		}
		if sent != 1 {
			t.Fatalf("%d ReminderSent events", sent)
		}
	})
}
