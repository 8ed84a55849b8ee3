package appointment

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Statuses of an appointment.
const (
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
	StatusHeld      = "held"
	StatusMissed    = "missed"
)

// Appointment is one appointment as its events left it: the one fold of the member's appointment events. The
// member stream's decisions read it, and the appointments projection loads its stored row into one, applies the
// event and writes back.
type Appointment struct {
	ID             uuid.UUID
	StaffID        uuid.UUID
	Theme          string
	Channel        string
	Agency         string
	Start, End     time.Time
	Status         string
	Note, Phone    string
	OutcomeNote    string
	RemindedFor    time.Time // the start the last reminder was sent for (zero: none)
	CatalogVersion string
	Reschedules    int
	CancelledBy    string // CancelledByMember or CancelledByStaff, once cancelled
}

// IDOf returns the appointment an event of the member stream is about.
func IDOf(e any) (uuid.UUID, bool) {
	switch e := e.(type) {
	case Booked:
		return e.AppointmentID, true
	case Rescheduled:
		return e.AppointmentID, true
	case Cancelled:
		return e.AppointmentID, true
	case ReminderSent:
		return e.AppointmentID, true
	case Held:
		return e.AppointmentID, true
	case Missed:
		return e.AppointmentID, true
	}
	return uuid.Nil, false
}

// Apply returns the appointment after e, and whether e is an event of the member stream.
func (a Appointment) Apply(e any) (Appointment, bool) {
	switch e := e.(type) {
	case Booked:
		a = Appointment{ID: e.AppointmentID, StaffID: e.StaffID, Theme: e.Theme, Channel: e.Channel, Agency: e.Agency,
			Start: e.Start.UTC(), End: e.End.UTC(), Status: StatusBooked, Note: e.Note, Phone: e.Phone,
			CatalogVersion: e.CatalogVersion}
	case Rescheduled:
		a.StaffID, a.Start, a.End = e.StaffID, e.Start.UTC(), e.End.UTC()
		a.Reschedules++
	case Cancelled:
		a.Status, a.CancelledBy = StatusCancelled, e.By
	case ReminderSent:
		a.RemindedFor = e.Start.UTC()
	case Held:
		a.Status, a.OutcomeNote = StatusHeld, e.OutcomeNote
	case Missed:
		a.Status = StatusMissed
	default:
		return a, false
	}
	return a, true
}

// State is a member's appointments.
type State struct {
	Appointments map[uuid.UUID]Appointment
	Order        []uuid.UUID // by booking
}

// Fold folds a member stream's history.
func Fold(history []Event) State {
	s := State{Appointments: map[uuid.UUID]Appointment{}}
	for _, e := range history {
		s = s.Apply(e)
	}
	return s
}

// Event is an event value of the package (an alias: histories are of event.Envelope's Event).
type Event = any

// Apply returns the state after e (tolerant: other events change nothing).
func (s State) Apply(e any) State {
	id, ok := IDOf(e)
	if !ok {
		return s
	}
	a, known := s.Appointments[id]
	if _, booked := e.(Booked); !known && !booked {
		return s
	}
	next, _ := a.Apply(e)
	m := make(map[uuid.UUID]Appointment, len(s.Appointments)+1)
	for k, v := range s.Appointments {
		m[k] = v
	}
	m[id] = next
	order := s.Order
	if !known {
		order = append(slices.Clip(order), id)
	}
	return State{Appointments: m, Order: order}
}

// Future counts the booked appointments starting after now.
func (s State) Future(now time.Time) int {
	n := 0
	for _, a := range s.Appointments {
		if a.Status == StatusBooked && a.Start.After(now) {
			n++
		}
	}
	return n
}

// Open returns the appointment id if it is booked and may still be changed by the member at now under rules.
func (s State) Open(id uuid.UUID, now time.Time, rules Rules) (Appointment, error) {
	a, ok := s.Appointments[id]
	if !ok {
		return Appointment{}, ErrNotFound
	}
	if a.Status != StatusBooked {
		return a, ErrNotBooked
	}
	if a.Start.Sub(now) < time.Duration(rules.CancelNoticeHours)*time.Hour {
		return a, ErrNoticeTooShort
	}
	return a, nil
}

// Hold is a slot held on a staff day.
type Hold struct {
	AppointmentID uuid.UUID
	Start, End    time.Time
}

// Day is a staff day's held slots, the fold of its stream.
type Day struct {
	Holds []Hold
}

// Apply returns the day after e.
func (d Day) Apply(e any) Day {
	switch e := e.(type) {
	case SlotHeld:
		d.Holds = append(slices.Clip(d.Holds), Hold{AppointmentID: e.AppointmentID, Start: e.Start.UTC(), End: e.End.UTC()})
	case SlotReleased:
		d.Holds = slices.DeleteFunc(slices.Clone(d.Holds), func(h Hold) bool {
			return h.AppointmentID == e.AppointmentID && h.Start.Equal(e.Start)
		})
	}
	return d
}

// FoldDay folds a staff day's history.
func FoldDay(history []Event) Day {
	var d Day
	for _, e := range history {
		d = d.Apply(e)
	}
	return d
}

// Hold decides holding [start, end) for appointment id: nil when free, ErrSlotTaken when a held slot overlaps it.
// held reports that this appointment already holds exactly this slot (a retry: nothing to append).
func (d Day) Hold(id uuid.UUID, start, end time.Time) (held bool, err error) {
	for _, h := range d.Holds {
		if h.AppointmentID == id {
			if h.Start.Equal(start) && h.End.Equal(end) {
				return true, nil
			}
			continue // its own other slot (a reschedule), released right after
		}
		if h.Start.Before(end) && start.Before(h.End) {
			return false, ErrSlotTaken
		}
	}
	return false, nil
}

// Holds reports whether the appointment holds the slot starting at start.
func (d Day) HoldsSlot(id uuid.UUID, start time.Time) bool {
	return slices.ContainsFunc(d.Holds, func(h Hold) bool { return h.AppointmentID == id && h.Start.Equal(start) })
}

// Offer is a staff member whose published availability offers a slot starting at a given time, ending at End.
type Offer struct {
	StaffID uuid.UUID
	End     time.Time
}
