package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// AppointmentOffers finds the staff members whose published availability offers a slot (the appointments
// projection implements it). It only proposes: the slot is decided on the staff day's stream.
type AppointmentOffers interface {
	Offers(ctx context.Context, theme, channel, agency string, start time.Time) ([]appointment.Offer, error)
}

// Appointments runs the commands of appointments: the supervisors' publication of availability, the member's
// booking, cancellation and reschedule, the reminder, and the staff's outcome. Its ports: the store and the offers.
type Appointments struct {
	core
	offers AppointmentOffers
}

// NewAppointments returns the appointment commands; Store and offers are required.
func NewAppointments(rt Runtime, offers AppointmentOffers) (*Appointments, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if offers == nil {
		return nil, errors.New("command: the appointment commands need AppointmentOffers")
	}
	return &Appointments{core: c, offers: offers}, nil
}

// Retries after a lost race: re-deciding is safe on both streams (a hold re-checks the day's holds, a booking
// the member's count), and every lost race means another command made progress.
const (
	apptDayRetries    = 100
	apptMemberRetries = 20
)

// ReminderActor is the actor of reminders.
var ReminderActor = event.Actor{ID: "reactions/appointment-reminders", Role: event.RoleSystem}

// PublishAvailability records a supervisor's publication of a staff member's availability (appointment.Catalog
// Validate): the staff member must exist. It replaces the previous publication of the same (theme, channel,
// agency).
func (h *Appointments) PublishAvailability(ctx context.Context, m Meta, a appointment.AvailabilityPublished) (Result, error) {
	const op = "command.PublishAvailability"
	a, err := appointment.Current().Validate(a)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	history, err := h.store.Load(ctx, event.NewStreamID(staff.Category, a.StaffID))
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if a.StaffID == uuid.Nil || len(history) == 0 {
		return Result{}, failure.Op(op, failure.Field("staff_id", appointment.ErrStaffUnknown))
	}
	m = h.withCommandID(m)
	stream := event.NewStreamID(appointment.AvailabilityCategory, a.StaffID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = apptMemberRetries
	commit, err := h.store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) { return []any{a}, nil })
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// BookInput is a member's booking.
type BookInput struct {
	Theme, Channel, Agency string
	Start                  time.Time
	Note, Phone            string
}

// Booking is a booked appointment.
type Booking struct {
	Result
	Appointment appointment.Appointment
}

// Book books the slot starting at in.Start for member memberID. In order: the input and the rules (offer, help
// hours, not in the past, within the horizon), the member's count of future appointments, then a hold on the day
// of a staff member who offers the slot (optimistic concurrency on "appointmentday-…": a slot is never held twice),
// then Booked on the member's stream (the count decided again there). A booking refused at that last step releases
// its hold. The appointment id derives from the Idempotency-Key and the member: a retry returns the same
// appointment, and completes a booking a crash left half done.
func (h *Appointments) Book(ctx context.Context, m Meta, memberID uuid.UUID, in BookInput) (Booking, error) {
	const op = "command.BookAppointment"
	cat := appointment.Current()
	if err := cat.CheckOffer(in.Theme, in.Channel, in.Agency, false); err != nil {
		return Booking{}, failure.Op(op, err)
	}
	note, err := appointment.CleanNote("note", in.Note)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	phone, err := appointment.CleanPhone(in.Phone)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	if in.Channel == appointment.ChannelPhone && phone == "" {
		return Booking{}, failure.Op(op, failure.Field("phone", appointment.ErrPhoneRequired))
	}
	m = withActor(h.withCommandID(m), memberID)
	memberStream := event.NewStreamID(appointment.Category, memberID)
	id := uuid.NewSHA1(h.command(m, memberStream).Metadata.CommandID, []byte("appointment"))
	now := h.clock().UTC()
	history, err := h.store.Load(ctx, memberStream)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	state := appointment.Fold(events(history))
	if a, ok := state.Appointments[id]; ok { // a retry of a completed booking: the same request, or refused
		for _, e := range history {
			if b, ok := e.Event.(appointment.Booked); ok && b.AppointmentID == id {
				if err := h.command(m, memberStream).Metadata.CheckReplay(e.Metadata); err != nil {
					return Booking{}, failure.Op(op, err)
				}
				return Booking{Result: Result{Position: e.Position}, Appointment: a}, nil
			}
		}
	}
	offers, err := h.offers.Offers(ctx, in.Theme, in.Channel, in.Agency, in.Start)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	if len(offers) == 0 {
		return Booking{}, failure.Op(op, failure.Field("start", appointment.ErrSlotUnavailable))
	}
	if err := cat.Rules.CheckBookable(in.Start, offers[0].End, now); err != nil {
		return Booking{}, failure.Op(op, err)
	}
	if state.Future(now) >= cat.Rules.MaxFuturePerMember {
		return Booking{}, failure.Op(op, appointment.ErrTooMany)
	}
	held := appointment.SlotHeld{AppointmentID: id, MemberID: memberID, Theme: in.Theme, Channel: in.Channel,
		Agency: in.Agency, Start: in.Start.UTC()}
	if held, err = h.hold(ctx, m, now, offers, held); err != nil {
		return Booking{}, failure.Op(op, err)
	}
	booked := appointment.Booked{AppointmentID: id, StaffID: held.StaffID, Theme: in.Theme, Channel: in.Channel,
		Agency: in.Agency, Start: held.Start, End: held.End, Note: note, Phone: phone, CatalogVersion: cat.Version}
	cmd := h.commandAt(m, memberStream, now)
	cmd.RetryOnConflict = apptMemberRetries
	commit, err := h.store.Update(ctx, memberStream, cmd, func(history []event.Envelope) ([]any, error) {
		if appointment.Fold(events(history)).Future(now) >= cat.Rules.MaxFuturePerMember {
			return nil, appointment.ErrTooMany
		}
		return []any{booked}, nil
	})
	if err != nil {
		if _, rerr := h.release(ctx, m, now, held.StaffID, id, held.Start, held.End); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Booking{}, failure.Op(op, err)
	}
	a, _ := appointment.Appointment{}.Apply(booked)
	return Booking{Result: Result{Position: commit.Position}, Appointment: a}, nil
}

// StaleHold is how old a hold must be, with no booked appointment behind it, to be released by the next booking
// of its slot: a booking that crashed between its hold and its record. Far beyond any request's deadline, so a
// booking in flight is never robbed.
const StaleHold = 10 * time.Minute

// hold holds the slot of h on the day of the first offering staff member whose day has it free; ErrSlotTaken
// when none has. It returns the hold with its staff member and end. Stale holds in the way (see StaleHold) are
// released in the same append.
func (h *Appointments) hold(ctx context.Context, m Meta, now time.Time, offers []appointment.Offer, held appointment.SlotHeld) (appointment.SlotHeld, error) {
	for _, o := range offers {
		held.StaffID, held.End = o.StaffID, o.End.UTC()
		stream := appointment.DayStream(o.StaffID, held.Start)
		stale, err := h.staleHolds(ctx, stream, held, now)
		if err != nil {
			return held, err
		}
		cmd := h.commandAt(m, stream, now)
		cmd.RetryOnConflict = apptDayRetries
		_, err = h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			d := appointment.FoldDay(events(history))
			var out []any
			for _, s := range stale {
				if d.HoldsSlot(s.AppointmentID, s.Start) {
					r := appointment.SlotReleased{AppointmentID: s.AppointmentID, StaffID: held.StaffID, Start: s.Start, End: s.End}
					d, out = d.Apply(r), append(out, r)
				}
			}
			already, err := d.Hold(held.AppointmentID, held.Start, held.End)
			if err != nil || already {
				return nil, err
			}
			return append(out, held), nil
		})
		switch {
		case err == nil:
			return held, nil
		case errors.Is(err, appointment.ErrSlotTaken):
			continue
		default:
			return held, err
		}
	}
	return held, failure.Field("start", appointment.ErrSlotTaken)
}

// staleHolds returns the holds of the day stream overlapping the slot of want that are older than StaleHold and
// have no booked appointment of their member at that staff member and start behind them (read before the
// decision: no remote call inside it).
func (h *Appointments) staleHolds(ctx context.Context, stream event.StreamID, want appointment.SlotHeld, now time.Time) ([]appointment.Hold, error) {
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return nil, err
	}
	d := appointment.FoldDay(events(history))
	var stale []appointment.Hold
	for _, e := range history {
		sh, ok := e.Event.(appointment.SlotHeld)
		if !ok || sh.AppointmentID == want.AppointmentID || !d.HoldsSlot(sh.AppointmentID, sh.Start) ||
			!sh.Start.Before(want.End) || !want.Start.Before(sh.End) || now.Sub(e.Metadata.OccurredAt) < StaleHold {
			continue
		}
		member, err := h.store.Load(ctx, event.NewStreamID(appointment.Category, sh.MemberID))
		if err != nil {
			return nil, err
		}
		a, ok := appointment.Fold(events(member)).Appointments[sh.AppointmentID]
		if ok && a.Status == appointment.StatusBooked && a.StaffID == sh.StaffID && a.Start.Equal(sh.Start) {
			continue
		}
		stale = append(stale, appointment.Hold{AppointmentID: sh.AppointmentID, Start: sh.Start.UTC(), End: sh.End.UTC()})
	}
	return stale, nil
}

// release frees the slot [start, end) of staffID's day held by appointment id (nothing if it is not held). It
// returns the commit position of the release (or of the day's last event), for read-your-writes.
func (h *Appointments) release(ctx context.Context, m Meta, now time.Time, staffID, id uuid.UUID, start, end time.Time) (uint64, error) {
	stream := appointment.DayStream(staffID, start)
	m.CommandID = uuid.NewSHA1(h.withCommandID(m).CommandID, []byte("release"))
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = apptDayRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		if !appointment.FoldDay(events(history)).HoldsSlot(id, start) {
			return nil, nil
		}
		return []any{appointment.SlotReleased{AppointmentID: id, StaffID: staffID, Start: start.UTC(), End: end.UTC()}}, nil
	})
	return commit.Position, err
}

// Cancel cancels the member's appointment id and frees its slot. The member cancels only their own appointments
// (another's is appointment.not_found), at least the catalogue's notice before it starts; staff (byStaff) cancel
// any booked one. Cancelling a cancelled appointment again only makes sure its slot is free.
func (h *Appointments) Cancel(ctx context.Context, m Meta, memberID, id uuid.UUID, byStaff bool) (Result, error) {
	return h.cancel(ctx, "command.CancelAppointment", m, memberID, id, byStaff, nil)
}

// StaffCancel cancels the member's appointment id for them: by the staff member of the appointment, or by a
// supervisor (appointment.not_assigned otherwise), whatever the notice; the member is mailed as for their own
// cancellation, and the slot is free again. Cancelling again changes nothing. Errors: appointment.not_found,
// .not_assigned, .not_booked (held or missed already).
func (h *Appointments) StaffCancel(ctx context.Context, m Meta, staffID uuid.UUID, supervisor bool, memberID, id uuid.UUID) (Result, error) {
	return h.cancel(ctx, "command.StaffCancelAppointment", m, memberID, id, true, func(a appointment.Appointment) error {
		if !supervisor && a.StaffID != staffID {
			return appointment.ErrNotYours
		}
		return nil
	})
}

// cancel records the cancellation of the member's appointment id (byStaff: for the member, whatever the notice,
// after check of the appointment when given), then frees its slot.
func (h *Appointments) cancel(ctx context.Context, op string, m Meta, memberID, id uuid.UUID, byStaff bool,
	check func(appointment.Appointment) error) (Result, error) {
	rules := appointment.Current().Rules
	if !byStaff {
		m = withActor(m, memberID)
	}
	m = h.withCommandID(m)
	stream := event.NewStreamID(appointment.Category, memberID)
	now := h.clock().UTC()
	var target appointment.Appointment
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = apptMemberRetries
	by := appointment.CancelledByMember
	if byStaff {
		by = appointment.CancelledByStaff
	}
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		s := appointment.Fold(events(history))
		a, err := s.Open(id, now, rules)
		target = a
		if check != nil && a.ID != uuid.Nil {
			if err := check(a); err != nil {
				return nil, err
			}
		}
		switch {
		case err == nil, byStaff && errors.Is(err, appointment.ErrNoticeTooShort):
			return []any{appointment.Cancelled{AppointmentID: id, By: by}}, nil
		case a.Status == appointment.StatusCancelled:
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if target.ID == uuid.Nil { // a retry: the store did not decide again
		history, err := h.store.Load(ctx, stream)
		if err != nil {
			return Result{}, failure.Op(op, err)
		}
		target = appointment.Fold(events(history)).Appointments[id]
	}
	// The answer's position is the release's, so a read after it shows the slot free.
	released, err := h.release(ctx, m, now, target.StaffID, id, target.Start, target.End)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: max(commit.Position, released)}, nil
}

// Reschedule moves the member's appointment id to the slot starting at start (same theme, channel and agency): the
// new slot is held first, then Rescheduled is recorded, then the old slot is released. The rules of a booking apply
// to the new slot, the notice of a cancellation to the old one.
func (h *Appointments) Reschedule(ctx context.Context, m Meta, memberID, id uuid.UUID, start time.Time) (Booking, error) {
	const op = "command.RescheduleAppointment"
	cat := appointment.Current()
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(appointment.Category, memberID)
	now := h.clock().UTC()
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	state := appointment.Fold(events(history))
	old, err := state.Open(id, now, cat.Rules)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	offers, err := h.offers.Offers(ctx, old.Theme, old.Channel, old.Agency, start)
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	if len(offers) == 0 {
		return Booking{}, failure.Op(op, failure.Field("start", appointment.ErrSlotUnavailable))
	}
	if err := cat.Rules.CheckBookable(start, offers[0].End, now); err != nil {
		return Booking{}, failure.Op(op, err)
	}
	held, err := h.hold(ctx, m, now, offers, appointment.SlotHeld{AppointmentID: id, MemberID: memberID,
		Theme: old.Theme, Channel: old.Channel, Agency: old.Agency, Start: start.UTC()})
	if err != nil {
		return Booking{}, failure.Op(op, err)
	}
	moved := appointment.Rescheduled{AppointmentID: id, StaffID: held.StaffID, Start: held.Start, End: held.End,
		FromStaffID: old.StaffID, FromStart: old.Start, FromEnd: old.End}
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = apptMemberRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a, err := appointment.Fold(events(history)).Open(id, now, cat.Rules)
		if err != nil {
			return nil, err
		}
		if !a.Start.Equal(old.Start) || a.StaffID != old.StaffID { // moved meanwhile: decide on what the member saw
			return nil, failure.Wrap(op, failure.Conflict, errors.New("the appointment moved meanwhile"))
		}
		return []any{moved}, nil
	})
	if err != nil {
		if !held.Start.Equal(old.Start) || held.StaffID != old.StaffID {
			_, rerr := h.release(ctx, m, now, held.StaffID, id, held.Start, held.End)
			err = errors.Join(err, rerr)
		}
		return Booking{}, failure.Op(op, err)
	}
	position := commit.Position
	if !held.Start.Equal(old.Start) || held.StaffID != old.StaffID {
		// The answer's position is the release's, so a read after it shows the old slot free.
		released, err := h.release(ctx, m, now, old.StaffID, id, old.Start, old.End)
		if err != nil {
			return Booking{}, failure.Op(op, err)
		}
		position = max(position, released)
	}
	a, _ := old.Apply(moved)
	return Booking{Result: Result{Position: position}, Appointment: a}, nil
}

// Outcome is what a staff member records once an appointment has started.
type Outcome struct {
	Held bool   // true: held (with Note); false: missed
	Note string // the outcome note (personal data)
}

// RecordOutcome marks the member's appointment id held or missed. A caseworker records only their own
// appointments (appointment.not_assigned); a supervisor any.
func (h *Appointments) RecordOutcome(ctx context.Context, m Meta, staffID uuid.UUID, supervisor bool, memberID, id uuid.UUID, o Outcome) (Result, error) {
	const op = "command.RecordAppointmentOutcome"
	note, err := appointment.CleanNote("note", o.Note)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	m = h.withCommandID(m)
	stream := event.NewStreamID(appointment.Category, memberID)
	now := h.clock().UTC()
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = apptMemberRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a, ok := appointment.Fold(events(history)).Appointments[id]
		switch {
		case !ok:
			return nil, appointment.ErrNotFound
		case !supervisor && a.StaffID != staffID:
			return nil, appointment.ErrNotYours
		case a.Status != appointment.StatusBooked:
			return nil, appointment.ErrNotBooked
		case now.Before(a.Start):
			return nil, appointment.ErrNotStarted
		case o.Held:
			return []any{appointment.Held{AppointmentID: id, StaffID: staffID, OutcomeNote: note}}, nil
		}
		return []any{appointment.Missed{AppointmentID: id, StaffID: staffID}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// Remind records the reminder of the member's appointment id starting at start (the reminder mail follows from
// the event). Nothing is recorded, and nil returned, when the appointment is no longer booked at that start or
// was already reminded of it: the scheduler's row was stale. One command id per (appointment, start).
func (h *Appointments) Remind(ctx context.Context, memberID, id uuid.UUID, start time.Time) (Result, error) {
	const op = "command.RemindAppointment"
	start = start.UTC()
	key := uuid.NewSHA1(id, []byte("reminder/"+start.Format(time.RFC3339)))
	m := Meta{Actor: ReminderActor, CommandID: key, CorrelationID: id}
	stream := event.NewStreamID(appointment.Category, memberID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = apptMemberRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a, ok := appointment.Fold(events(history)).Appointments[id]
		if !ok || a.Status != appointment.StatusBooked || !a.Start.Equal(start) || a.RemindedFor.Equal(start) {
			return nil, nil
		}
		return []any{appointment.ReminderSent{AppointmentID: id, Start: start}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// events returns the event values of a history.
func events(history []event.Envelope) []appointment.Event {
	out := make([]appointment.Event, len(history))
	for i, e := range history {
		out[i] = e.Event
	}
	return out
}
