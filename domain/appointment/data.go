// Package appointment is "Demander un rendez-vous": members book a slot with the fund's staff, for a theme (a
// retirement information interview, the social worker, a general question), by a channel (at an agency, by phone,
// by video), at an agency. Supervisors publish each staff member's availability (a weekly pattern inside the help
// line's hours, exceptions, French public holidays computed); slots of a configured length come from it.
//
// Streams:
//
//   - "appointmentavailability-<staff id>": the staff member's published availability, one AvailabilityPublished per
//     (theme, channel, agency), the last one standing;
//   - "appointmentday-<DayStream(staff, date)>": the slots held on one staff member's day. Every booking and every
//     reschedule appends SlotHeld there with the expected revision of the history it decided on (optimistic
//     concurrency), after checking that no held slot overlaps: a slot is never held twice, on any replica, because
//     the event store refuses the second append. Cancellations and reschedules append SlotReleased;
//   - "appointments-<member id>": the member's appointments (Booked, Rescheduled, Cancelled, ReminderSent, Held,
//     Missed). Its subject is the member: the member's note and the staff's outcome note are sealed under the
//     member's key. The limit of future appointments is decided on it, with optimistic concurrency too.
//
// Themes, channels, agencies and the rules (notice, limit, horizon) are versioned data (Catalog), like the service
// catalogue: a booking records the version it was decided on.
package appointment

import (
	"slices"
	"time"
)

// CatalogVersion is the version of the appointment data in force.
const CatalogVersion = "2026.1"

// Channels of an appointment.
const (
	ChannelAgency = "agency" // at the agency's desk
	ChannelPhone  = "phone"  // the fund calls the member
	ChannelVideo  = "video"  // a video call
)

// Channels returns every channel.
func Channels() []string { return []string{ChannelAgency, ChannelPhone, ChannelVideo} }

// Theme is what an appointment is about.
type Theme struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// SlotMinutes is the default length of its slots (an availability may set another).
	SlotMinutes int `json:"slot_minutes"`
	// Channels are the channels the theme is offered by.
	Channels []string `json:"channels"`
}

// Hours are an agency's opening hours on one weekday (HH:MM, Paris time).
type Hours struct {
	Weekday time.Weekday `json:"weekday"`
	Opens   string       `json:"opens"`
	Closes  string       `json:"closes"`
}

// Agency is a place where the fund receives members.
type Agency struct {
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	Address    string  `json:"address"`
	PostalCode string  `json:"postal_code"`
	City       string  `json:"city"`
	Opening    []Hours `json:"opening_hours"`
}

// Rules are the booking rules of a catalogue version.
type Rules struct {
	// CancelNoticeHours: cancelling (or moving) an appointment closer than this to its start is refused.
	CancelNoticeHours int `json:"cancel_notice_hours"`
	// MaxFuturePerMember: a member holds at most this many future appointments.
	MaxFuturePerMember int `json:"max_future_per_member"`
	// HorizonDays: slots are offered and booked at most this many days ahead.
	HorizonDays int `json:"horizon_days"`
	// MinLeadMinutes: a slot must start at least this many minutes after the booking.
	MinLeadMinutes int `json:"min_lead_minutes"`
}

// Catalog is one version of the appointment data.
type Catalog struct {
	Version  string   `json:"version"`
	Themes   []Theme  `json:"themes"`
	Agencies []Agency `json:"agencies"`
	Rules    Rules    `json:"rules"`
}

func weekdays(opens, closes string) []Hours {
	var out []Hours
	for d := time.Monday; d <= time.Friday; d++ {
		out = append(out, Hours{Weekday: d, Opens: opens, Closes: closes})
	}
	return out
}

// catalogs are the published versions; a version, once published, never changes.
var catalogs = map[string]Catalog{
	"2026.1": {
		Version: "2026.1",
		Themes: []Theme{
			{Code: "retraite-information", Label: "Entretien information retraite", SlotMinutes: 45,
				Channels: []string{ChannelAgency, ChannelPhone, ChannelVideo}},
			{Code: "travailleur-social", Label: "Rendez-vous avec un travailleur social", SlotMinutes: 60,
				Channels: []string{ChannelAgency, ChannelPhone}},
			{Code: "question-generale", Label: "Question générale sur votre dossier", SlotMinutes: 30,
				Channels: []string{ChannelAgency, ChannelPhone, ChannelVideo}},
		},
		Agencies: []Agency{
			{Code: "lille", Name: "MSA Nord-Pas de Calais, agence de Lille", Address: "33 rue du Faubourg de Roubaix",
				PostalCode: "59000", City: "Lille", Opening: weekdays("08:30", "16:30")},
			{Code: "arras", Name: "MSA Nord-Pas de Calais, agence d'Arras", Address: "8 rue des Agaches",
				PostalCode: "62000", City: "Arras", Opening: weekdays("08:30", "16:30")},
			{Code: "saint-omer", Name: "MSA Nord-Pas de Calais, agence de Saint-Omer", Address: "2 rue d'Arras",
				PostalCode: "62500", City: "Saint-Omer",
				Opening: []Hours{{time.Monday, "08:30", "12:15"}, {time.Tuesday, "08:30", "16:30"},
					{time.Wednesday, "08:30", "12:15"}, {time.Thursday, "08:30", "16:30"}, {time.Friday, "08:30", "12:15"}}},
		},
		Rules: Rules{CancelNoticeHours: 24, MaxFuturePerMember: 3, HorizonDays: 90, MinLeadMinutes: 60},
	},
}

// Current returns the catalogue version in force.
func Current() Catalog { return Load(CatalogVersion) }

// Load returns a published version (the zero Catalog for an unknown one).
func Load(version string) Catalog { return catalogs[version] }

// Theme returns the theme of that code.
func (c Catalog) Theme(code string) (Theme, bool) {
	i := slices.IndexFunc(c.Themes, func(t Theme) bool { return t.Code == code })
	if i < 0 {
		return Theme{}, false
	}
	return c.Themes[i], true
}

// Agency returns the agency of that code.
func (c Catalog) Agency(code string) (Agency, bool) {
	i := slices.IndexFunc(c.Agencies, func(a Agency) bool { return a.Code == code })
	if i < 0 {
		return Agency{}, false
	}
	return c.Agencies[i], true
}

// Offers reports whether the theme is offered by channel.
func (t Theme) Offers(channel string) bool { return slices.Contains(t.Channels, channel) }
