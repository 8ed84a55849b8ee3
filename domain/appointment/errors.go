package appointment

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of appointments, each with a stable code; domain/messages holds the French sentence.
var (
	ErrThemeUnknown   = failure.New(failure.Invalid, "appointment.theme_unknown", "unknown appointment theme")
	ErrAgencyUnknown  = failure.New(failure.Invalid, "appointment.agency_unknown", "unknown agency")
	ErrChannelInvalid = failure.New(failure.Invalid, "appointment.channel_invalid",
		"unknown channel (want agency, phone or video)")
	ErrChannelNotOffered = failure.New(failure.Rule, "appointment.channel_not_offered",
		"this theme is not offered by this channel")
	ErrAvailabilityInvalid = failure.New(failure.Invalid, "appointment.availability_invalid",
		"invalid availability: dates, slot length or weekly hours outside the help hours or the agency's opening hours")
	ErrRangeInvalid = failure.New(failure.Invalid, "appointment.range_invalid",
		"invalid period: from and to are RFC 3339 times, from before to, at most 62 days apart")
	ErrStartInvalid     = failure.New(failure.Invalid, "appointment.start_invalid", "invalid start time (want RFC 3339)")
	ErrOutsideHelpHours = failure.New(failure.Rule, "appointment.outside_help_hours",
		"the slot is not inside the help hours of a working day")
	ErrInPast          = failure.New(failure.Rule, "appointment.in_past", "the slot starts in the past or too soon")
	ErrTooFar          = failure.New(failure.Rule, "appointment.too_far", "the slot is beyond the booking horizon")
	ErrSlotUnavailable = failure.New(failure.Conflict, "appointment.slot_unavailable",
		"no published availability offers this slot")
	ErrSlotTaken = failure.New(failure.Conflict, "appointment.slot_taken", "the slot is already taken")
	ErrTooMany   = failure.New(failure.Rule, "appointment.too_many",
		"too many future appointments for this member")
	ErrNoticeTooShort = failure.New(failure.Rule, "appointment.notice_too_short",
		"the appointment is too close to be cancelled or moved online")
	ErrNotFound  = failure.New(failure.NotFound, "appointment.not_found", "appointment not found")
	ErrNotBooked = failure.New(failure.Rule, "appointment.not_booked",
		"the appointment is no longer booked (cancelled, held or missed)")
	ErrNotStarted = failure.New(failure.Rule, "appointment.not_started",
		"an appointment is marked held or missed only once it has started")
	ErrNotYours = failure.New(failure.Forbidden, "appointment.not_assigned",
		"the appointment is with another staff member")
	ErrNoteInvalid = failure.New(failure.Invalid, "appointment.note_invalid",
		"note too long (1000 characters at most) or with control characters")
	ErrPhoneInvalid  = failure.New(failure.Invalid, "appointment.phone_invalid", "invalid callback phone number")
	ErrPhoneRequired = failure.New(failure.Invalid, "appointment.phone_required",
		"a callback phone number is required for a phone appointment")
	ErrStaffUnknown = failure.New(failure.NotFound, "appointment.staff_unknown", "unknown staff member")
	ErrDateInvalid  = failure.New(failure.Invalid, "appointment.date_invalid", "invalid date (want YYYY-MM-DD)")
)

var sentinels = []*failure.Error{
	ErrThemeUnknown, ErrAgencyUnknown, ErrChannelInvalid, ErrChannelNotOffered, ErrAvailabilityInvalid,
	ErrRangeInvalid, ErrStartInvalid, ErrOutsideHelpHours, ErrInPast, ErrTooFar, ErrSlotUnavailable, ErrSlotTaken,
	ErrTooMany, ErrNoticeTooShort, ErrNotFound, ErrNotBooked, ErrNotStarted, ErrNotYours, ErrNoteInvalid,
	ErrPhoneInvalid, ErrPhoneRequired, ErrStaffUnknown, ErrDateInvalid,
}

// Errors returns every sentinel of the package.
func Errors() []*failure.Error { return append([]*failure.Error(nil), sentinels...) }
