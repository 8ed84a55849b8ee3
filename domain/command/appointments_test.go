package command_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// Every top-level name here starts with "appt": other command tests share the package.

// apptOffers reads the offers from the availability streams in the event store (the same events and the same
// pure function as the read model, without its lag): the port's real data, for the staff of the test.
type apptOffers struct {
	store command.EventStore
	staff []uuid.UUID
}

func (o apptOffers) Offers(ctx context.Context, theme, channel, agency string, start time.Time) ([]appointment.Offer, error) {
	var out []appointment.Offer
	for _, id := range o.staff {
		history, err := o.store.Load(ctx, event.NewStreamID(appointment.AvailabilityCategory, id))
		if err != nil {
			return nil, err
		}
		for _, e := range history {
			a, ok := e.Event.(appointment.AvailabilityPublished)
			if !ok || a.Theme != theme || a.Channel != channel || a.Agency != agency {
				continue
			}
			for _, s := range a.Slots(start, start.Add(time.Minute)) {
				if s.Start.Equal(start) {
					out = append(out, appointment.Offer{StaffID: id, End: s.End})
				}
			}
		}
	}
	return out, nil
}

type apptFixture struct {
	env   *kurrentdbtest.Env
	h     *command.Appointments
	staff []uuid.UUID
	now   time.Time
}

// newApptFixture: n staff members, each publishing Tuesday 3 March 2026 from 9:00 to 11:30 at Lille (5 slots of
// 30 minutes); the clock is Monday 2 March, 8:00 in Paris.
func newApptFixture(t *testing.T, n int) *apptFixture {
	return newApptFixtureWith(t, n, []appointment.Period{{Weekday: time.Tuesday, Start: "09:00", End: "11:30"}})
}

// newApptBenchFixture: 10 staff members, every weekday morning of March 2026.
func newApptBenchFixture(b *testing.B) *apptFixture {
	var weekly []appointment.Period
	for d := time.Monday; d <= time.Friday; d++ {
		weekly = append(weekly, appointment.Period{Weekday: d, Start: "08:30", End: "12:00"})
	}
	return newApptFixtureWith(b, 10, weekly)
}

func newApptFixtureWith(t testing.TB, n int, weekly []appointment.Period) *apptFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, appointment.Definitions(), staff.Definitions())
	f := &apptFixture{env: env, now: time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)}
	for range n {
		id := uuid.New()
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(),
			CommandID: uuid.New(), Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleAdmin}, OccurredAt: f.now}}
		if _, err := env.Store.Update(apptCtx(t), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
			return []any{staff.Created{Login: "agent-" + id.String()[:8], Name: "Agent", Roles: []string{staff.RoleCaseworker}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		f.staff = append(f.staff, id)
	}
	h, err := command.NewAppointments(command.Runtime{Store: env.Store, Clock: func() time.Time { return f.now }},
		apptOffers{store: env.Store, staff: f.staff})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	for _, id := range f.staff {
		if _, err := h.PublishAvailability(apptCtx(t), apptSupervisor(), appointment.AvailabilityPublished{StaffID: id,
			Theme: "question-generale", Channel: appointment.ChannelAgency, Agency: "lille", From: "2026-03-01",
			Until: "2026-03-31", Weekly: weekly}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func apptCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func apptSupervisor() command.Meta {
	return command.Meta{Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleSupervisor}, CorrelationID: uuid.New()}
}

var apptTuesday = time.Date(2026, 3, 3, 0, 0, 0, 0, appointment.Paris)

func apptSlot(i int) time.Time { return appointment.At(apptTuesday, 9*60+30*i).UTC() }

func apptBook(start time.Time) command.BookInput {
	return command.BookInput{Theme: "question-generale", Channel: appointment.ChannelAgency, Agency: "lille", Start: start}
}

// TestApptRaceManyMembersFewSlots: 100 members book at once among 10 slots (5 starts offered by 2 staff members):
// exactly 10 bookings, 90 refusals "slot taken", and no staff day holds two overlapping slots. Decided by the
// event store's optimistic concurrency on the staff days' streams, nothing in memory.
func TestApptRaceManyMembersFewSlots(t *testing.T) {
	f := newApptFixture(t, 2)
	const members = 100
	errs := make([]error, members)
	var wg sync.WaitGroup
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.h.Book(caseCtx(t), command.Meta{CorrelationID: uuid.New()}, uuid.New(), apptBook(apptSlot(i%5)))
		}()
	}
	wg.Wait()
	booked, taken := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			booked++
		case errors.Is(err, appointment.ErrSlotTaken) && failure.KindOf(err) == failure.Conflict:
			taken++
		default:
			t.Errorf("unexpected refusal: %v", err)
		}
	}
	if booked != 10 || taken != 90 {
		t.Fatalf("%d booked, %d taken; want 10 and 90", booked, taken)
	}
	for _, id := range f.staff {
		history, err := f.env.Store.Load(caseCtx(t), appointment.DayStream(id, apptSlot(0)))
		if err != nil {
			t.Fatal(err)
		}
		var evs []any
		for _, e := range history {
			evs = append(evs, e.Event)
		}
		holds := appointment.FoldDay(evs).Holds
		if len(holds) != 5 {
			t.Errorf("staff %s holds %d slots, want 5", id, len(holds))
		}
		for i, a := range holds {
			for _, b := range holds[i+1:] {
				if a.Start.Before(b.End) && b.Start.Before(a.End) {
					t.Errorf("overlapping holds %v and %v", a, b)
				}
			}
		}
	}
}

// TestApptRules: the refusals of booking, cancelling and rescheduling, and that they write nothing.
func TestApptRules(t *testing.T) {
	f := newApptFixture(t, 1)
	ctx := caseCtx(t)
	alice, bob := uuid.New(), uuid.New()
	b, err := f.h.Book(ctx, command.Meta{}, alice, apptBook(apptSlot(0)))
	if err != nil {
		t.Fatal(err)
	}
	id := b.Appointment.ID
	for name, c := range map[string]struct {
		in   command.BookInput
		want error
	}{
		"taken":        {apptBook(apptSlot(0)), appointment.ErrSlotTaken},
		"not offered":  {apptBook(apptSlot(0).Add(10 * time.Minute)), appointment.ErrSlotUnavailable},
		"unknown":      {command.BookInput{Theme: "x", Channel: "agency", Agency: "lille", Start: apptSlot(1)}, appointment.ErrThemeUnknown},
		"agency":       {command.BookInput{Theme: "question-generale", Channel: "agency", Agency: "x", Start: apptSlot(1)}, appointment.ErrAgencyUnknown},
		"phone needed": {command.BookInput{Theme: "question-generale", Channel: "phone", Agency: "lille", Start: apptSlot(1)}, appointment.ErrPhoneRequired},
	} {
		if _, err := f.h.Book(ctx, command.Meta{}, bob, c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if h, _ := f.env.Store.Load(ctx, event.NewStreamID(appointment.Category, bob)); len(h) != 0 {
		t.Errorf("refusals wrote %d events", len(h))
	}
	// Bob cannot cancel or move Alice's appointment.
	if _, err := f.h.Cancel(ctx, command.Meta{}, bob, id, false); !errors.Is(err, appointment.ErrNotFound) {
		t.Errorf("bob cancels: %v", err)
	}
	if _, err := f.h.Reschedule(ctx, command.Meta{}, bob, id, apptSlot(1)); !errors.Is(err, appointment.ErrNotFound) {
		t.Errorf("bob moves: %v", err)
	}
	// Reschedule: the new slot is held, the old one freed; booking the old one then works.
	if _, err := f.h.Reschedule(ctx, command.Meta{}, alice, id, apptSlot(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Book(ctx, command.Meta{}, bob, apptBook(apptSlot(0))); err != nil {
		t.Fatalf("the old slot is not free after the reschedule: %v", err)
	}
	// Too close to cancel: the clock moves to 8:45 on Tuesday.
	f.now = apptSlot(0).Add(-15 * time.Minute)
	if _, err := f.h.Cancel(ctx, command.Meta{}, alice, id, false); !errors.Is(err, appointment.ErrNoticeTooShort) {
		t.Errorf("cancel 75 minutes before: %v", err)
	}
	// Booking in the past, or too soon.
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(0))); !errors.Is(err, appointment.ErrInPast) {
		t.Errorf("booking a slot that started: %v", err)
	}
	// The outcome once started: the reminder first (once), then held.
	f.now = apptSlot(1).Add(5 * time.Minute)
	for range 2 {
		if _, err := f.h.Remind(ctx, alice, id, apptSlot(1)); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := f.env.Store.Load(ctx, event.NewStreamID(appointment.Category, alice))
	reminders := 0
	for _, e := range h {
		if _, ok := e.Event.(appointment.ReminderSent); ok {
			reminders++
		}
	}
	if reminders != 1 {
		t.Errorf("%d reminders recorded, want 1", reminders)
	}
	other := uuid.New()
	staffMeta := func(id uuid.UUID) command.Meta {
		return command.Meta{Actor: event.Actor{ID: id.String(), Role: event.RoleCaseworker}}
	}
	if _, err := f.h.RecordOutcome(ctx, staffMeta(other), other, false, alice, id, command.Outcome{Held: true}); !errors.Is(err, appointment.ErrNotYours) {
		t.Errorf("another caseworker: %v", err)
	}
	if _, err := f.h.RecordOutcome(ctx, staffMeta(f.staff[0]), f.staff[0], false, alice, id, command.Outcome{Held: true, Note: "Vu."}); err != nil {
		t.Fatal(err)
	}
}

// TestApptMemberLimit: the fourth future appointment is refused, and its hold is released.
func TestApptMemberLimit(t *testing.T) {
	f := newApptFixture(t, 1)
	ctx := caseCtx(t)
	alice := uuid.New()
	for i := range 3 {
		if _, err := f.h.Book(ctx, command.Meta{}, alice, apptBook(apptSlot(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.h.Book(ctx, command.Meta{}, alice, apptBook(apptSlot(3))); !errors.Is(err, appointment.ErrTooMany) {
		t.Fatalf("fourth: %v", err)
	}
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(3))); err != nil {
		t.Fatalf("the slot of a refused booking is not free: %v", err)
	}
}

// TestApptStaleHoldIsReleased: a hold left by a booking that crashed before its record (no appointment behind it)
// blocks its slot for StaleHold, then the next booking of the slot releases it in the same append; a hold behind a
// booked appointment never does.
func TestApptStaleHoldIsReleased(t *testing.T) {
	f := newApptFixture(t, 1)
	ctx := apptCtx(t)
	orphan := appointment.SlotHeld{AppointmentID: uuid.New(), MemberID: uuid.New(), StaffID: f.staff[0],
		Theme: "question-generale", Channel: appointment.ChannelAgency, Agency: "lille", Start: apptSlot(2),
		End: apptSlot(2).Add(30 * time.Minute)}
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: orphan.MemberID.String(), Role: event.RoleMember}, OccurredAt: f.now}}
	if _, err := f.env.Store.Update(ctx, appointment.DayStream(f.staff[0], orphan.Start), cmd,
		func([]event.Envelope) ([]any, error) { return []any{orphan}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(2))); !errors.Is(err, appointment.ErrSlotTaken) {
		t.Fatalf("a fresh hold: %v", err)
	}
	booked, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(3)))
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(command.StaleHold + time.Minute)
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(2))); err != nil {
		t.Fatalf("a stale hold still blocks its slot: %v", err)
	}
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(3))); !errors.Is(err, appointment.ErrSlotTaken) {
		t.Fatalf("an old hold behind a booking (%s) was released: %v", booked.Appointment.ID, err)
	}
}
