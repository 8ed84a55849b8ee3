package command_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
)

// TestApptStaffCancel: another caseworker may not cancel a member's appointment (nothing recorded); its own staff
// member may, even inside the notice; cancelling again (a supervisor) records nothing; the slot is free again.
func TestApptStaffCancel(t *testing.T) {
	f := newApptFixture(t, 2)
	staffMeta := func(id uuid.UUID) command.Meta {
		return command.Meta{Actor: event.Actor{ID: id.String(), Role: event.RoleCaseworker}}
	}
	ctx := apptCtx(t)
	alice := uuid.New()
	b, err := f.h.Book(ctx, command.Meta{}, alice, apptBook(apptSlot(0)))
	if err != nil {
		t.Fatal(err)
	}
	owner, other := b.Appointment.StaffID, f.staff[0]
	if other == owner {
		other = f.staff[1]
	}
	stream := event.NewStreamID(appointment.Category, alice)
	events := func() int { h, _ := f.env.Store.Load(ctx, stream); return len(h) }
	before := events()
	if _, err := f.h.StaffCancel(ctx, staffMeta(other), other, false, alice, b.Appointment.ID); !errors.Is(err, appointment.ErrNotYours) || events() != before {
		t.Fatalf("another caseworker cancels: %v, %d events", err, events()-before)
	}
	f.now = apptSlot(0).Add(-time.Hour) // inside the member's 24 h notice
	if _, err := f.h.StaffCancel(ctx, staffMeta(owner), owner, false, alice, b.Appointment.ID); err != nil {
		t.Fatalf("its staff member cancels: %v", err)
	}
	after := events()
	super := uuid.New()
	if _, err := f.h.StaffCancel(ctx, staffMeta(super), super, true, alice, b.Appointment.ID); err != nil || events() != after {
		t.Fatalf("a supervisor cancels again: %v, %d events", err, events()-after)
	}
	h, _ := f.env.Store.Load(ctx, stream)
	if a := appointment.Fold(apptEvents(h)).Appointments[b.Appointment.ID]; a.Status != appointment.StatusCancelled || a.CancelledBy != appointment.CancelledByStaff {
		t.Fatalf("after the staff cancellation: %+v", a)
	}
	if _, err := f.h.Book(ctx, command.Meta{}, uuid.New(), apptBook(apptSlot(0))); err != nil {
		t.Fatalf("the slot is not free again: %v", err)
	}
}

func apptEvents(h []event.Envelope) []appointment.Event {
	out := make([]appointment.Event, len(h))
	for i, e := range h {
		out[i] = e.Event
	}
	return out
}
