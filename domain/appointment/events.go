package appointment

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Stream categories.
const (
	// AvailabilityCategory: "appointmentavailability-<staff id>".
	AvailabilityCategory = "appointmentavailability"
	// DayCategory: "appointmentday-<DayStream(staff, date)>", the slots held on one staff member's day.
	DayCategory = "appointmentday"
	// Category: "appointments-<member id>", the member's appointments.
	Category = "appointments"
)

// dayNamespace names the staff days' stream ids.
var dayNamespace = uuid.MustParse("5b0c4c1e-8f0e-4d0e-9a8e-6a1f7c3d2b10")

// DayStream returns the stream of the staff member's Paris calendar day of t.
func DayStream(staffID uuid.UUID, t time.Time) event.StreamID {
	return event.NewStreamID(DayCategory, uuid.NewSHA1(dayNamespace, []byte(staffID.String()+"/"+t.In(Paris).Format(DateLayout))))
}

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeAvailabilityPublished = "AppointmentAvailabilityPublished"
	TypeSlotHeld              = "AppointmentSlotHeld"
	TypeSlotReleased          = "AppointmentSlotReleased"
	TypeBooked                = "AppointmentBooked"
	TypeRescheduled           = "AppointmentRescheduled"
	TypeCancelled             = "AppointmentCancelled"
	TypeReminderSent          = "AppointmentReminderSent"
	TypeHeld                  = "AppointmentHeld"
	TypeMissed                = "AppointmentMissed"
)

// Period is one weekly span of availability: Weekday (1 Monday … 5 Friday), from Start to End ("HH:MM", Paris).
type Period struct {
	Weekday time.Weekday `json:"weekday" personal:"no"`
	Start   string       `json:"start" personal:"no"`
	End     string       `json:"end" personal:"no"`
}

// AvailabilityPublished is a supervisor's publication of a staff member's availability for one (theme, channel,
// agency): from From to Until (calendar dates, inclusive), the weekly Periods, cut in slots of SlotMinutes, except
// on the Exceptions dates and on public holidays. It replaces the previous publication for the same triple.
type AvailabilityPublished struct {
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
	Theme          string    `json:"theme" personal:"no"`
	Channel        string    `json:"channel" personal:"no"`
	Agency         string    `json:"agency" personal:"no"`
	From           string    `json:"from" personal:"no"`
	Until          string    `json:"until" personal:"no"`
	SlotMinutes    int       `json:"slot_minutes" personal:"no"`
	Weekly         []Period  `json:"weekly" personal:"no"`
	Exceptions     []string  `json:"exceptions" personal:"no"`
	CatalogVersion string    `json:"catalog_version" personal:"no"`
}

// SlotHeld holds [Start, End) of a staff member's day for an appointment (a booking or the new slot of a
// reschedule). Nothing personal: the member is named by id.
type SlotHeld struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	MemberID      uuid.UUID `json:"member_id" personal:"no"`
	StaffID       uuid.UUID `json:"staff_id" personal:"no"`
	Theme         string    `json:"theme" personal:"no"`
	Channel       string    `json:"channel" personal:"no"`
	Agency        string    `json:"agency" personal:"no"`
	Start         time.Time `json:"start" personal:"no"`
	End           time.Time `json:"end" personal:"no"`
}

// SlotReleased frees the slot an appointment held (cancelled, or moved to another slot).
type SlotReleased struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	StaffID       uuid.UUID `json:"staff_id" personal:"no"`
	Start         time.Time `json:"start" personal:"no"`
	End           time.Time `json:"end" personal:"no"`
}

// Booked is a member's appointment.
type Booked struct {
	AppointmentID  uuid.UUID `json:"appointment_id" personal:"no"`
	StaffID        uuid.UUID `json:"staff_id" personal:"no"`
	Theme          string    `json:"theme" personal:"no"`
	Channel        string    `json:"channel" personal:"no"`
	Agency         string    `json:"agency" personal:"no"`
	Start          time.Time `json:"start" personal:"no"`
	End            time.Time `json:"end" personal:"no"`
	Note           string    `json:"note" personal:"yes"`  // what the member wants to talk about
	Phone          string    `json:"phone" personal:"yes"` // callback number (phone appointments)
	CatalogVersion string    `json:"catalog_version" personal:"no"`
}

// Rescheduled moves an appointment to another slot (the new one was held before; the old one is released after).
type Rescheduled struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	StaffID       uuid.UUID `json:"staff_id" personal:"no"`
	Start         time.Time `json:"start" personal:"no"`
	End           time.Time `json:"end" personal:"no"`
	FromStaffID   uuid.UUID `json:"from_staff_id" personal:"no"`
	FromStart     time.Time `json:"from_start" personal:"no"`
	FromEnd       time.Time `json:"from_end" personal:"no"`
}

// Cancellation reasons.
const (
	CancelledByMember = "member"
	CancelledByStaff  = "staff"
)

// Cancelled cancels an appointment.
type Cancelled struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	By            string    `json:"by" personal:"no"`
}

// ReminderSent records the reminder of the appointment starting at Start (the reminder mail follows from it).
type ReminderSent struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	Start         time.Time `json:"start" personal:"no"`
}

// Held: the appointment took place; OutcomeNote is the staff member's note (personal data).
type Held struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	StaffID       uuid.UUID `json:"staff_id" personal:"no"`
	OutcomeNote   string    `json:"outcome_note" personal:"yes"`
}

// Missed: the member did not come (or could not be reached).
type Missed struct {
	AppointmentID uuid.UUID `json:"appointment_id" personal:"no"`
	StaffID       uuid.UUID `json:"staff_id" personal:"no"`
}

// Definitions lists the events of the package, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[AvailabilityPublished](TypeAvailabilityPublished),
		event.Define[SlotHeld](TypeSlotHeld),
		event.Define[SlotReleased](TypeSlotReleased),
		event.Define[Booked](TypeBooked),
		event.Define[Rescheduled](TypeRescheduled),
		event.Define[Cancelled](TypeCancelled),
		event.Define[ReminderSent](TypeReminderSent),
		event.Define[Held](TypeHeld),
		event.Define[Missed](TypeMissed),
	}
}
