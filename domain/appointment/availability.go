package appointment

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Limits of a publication and of a booking.
const (
	MinSlotMinutes  = 15
	MaxSlotMinutes  = 120
	MaxPublishDays  = 731
	MaxNoteLength   = 1000
	MaxListDays     = 62
	maxExceptions   = 366
	maxWeeklyPeriod = 20
)

// Slot is a bookable span.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// CheckOffer validates a (theme, channel, agency) triple against the catalogue. agency may be empty for the phone
// and video channels when allowEmptyAgency (a listing over every agency).
func (c Catalog) CheckOffer(theme, channel, agency string, allowEmptyAgency bool) error {
	t, ok := c.Theme(theme)
	if !ok {
		return failure.Field("theme", ErrThemeUnknown)
	}
	if !slices.Contains(Channels(), channel) {
		return failure.Field("channel", ErrChannelInvalid)
	}
	if !t.Offers(channel) {
		return failure.Field("channel", ErrChannelNotOffered)
	}
	if agency == "" && allowEmptyAgency && channel != ChannelAgency {
		return nil
	}
	if _, ok := c.Agency(agency); !ok {
		return failure.Field("agency", ErrAgencyUnknown)
	}
	return nil
}

// Validate checks a publication against the catalogue c: the offer, the dates, the slot length (0 takes the
// theme's), the weekly periods (weekdays, inside one window of the help hours and, at an agency, inside its opening
// hours, not overlapping) and the exceptions. It returns the publication as recorded (slot length filled in,
// periods and exceptions sorted).
func (c Catalog) Validate(a AvailabilityPublished) (AvailabilityPublished, error) {
	if err := c.CheckOffer(a.Theme, a.Channel, a.Agency, false); err != nil {
		return a, err
	}
	from, err1 := time.Parse(DateLayout, a.From)
	until, err2 := time.Parse(DateLayout, a.Until)
	if err1 != nil || err2 != nil || until.Before(from) || until.Sub(from) > MaxPublishDays*24*time.Hour {
		return a, failure.Field("until_on", ErrAvailabilityInvalid) // the API's name of the field
	}
	if a.SlotMinutes == 0 {
		t, _ := c.Theme(a.Theme)
		a.SlotMinutes = t.SlotMinutes
	}
	if a.SlotMinutes < MinSlotMinutes || a.SlotMinutes > MaxSlotMinutes || a.SlotMinutes%5 != 0 {
		return a, failure.Field("slot_minutes", ErrAvailabilityInvalid)
	}
	if len(a.Weekly) == 0 || len(a.Weekly) > maxWeeklyPeriod {
		return a, failure.Field("weekly", ErrAvailabilityInvalid)
	}
	agency, _ := c.Agency(a.Agency)
	weekly := slices.Clone(a.Weekly)
	slices.SortFunc(weekly, func(x, y Period) int {
		if x.Weekday != y.Weekday {
			return int(x.Weekday) - int(y.Weekday)
		}
		return strings.Compare(x.Start, y.Start)
	})
	for i, p := range weekly {
		s, ok1 := ParseClock(p.Start)
		e, ok2 := ParseClock(p.End)
		if !ok1 || !ok2 || p.Weekday < time.Monday || p.Weekday > time.Friday || e-s < a.SlotMinutes ||
			!inside(s, e, HelpHours) {
			return a, failure.Field("weekly", ErrAvailabilityInvalid)
		}
		if a.Channel == ChannelAgency && !agency.open(p.Weekday, s, e) {
			return a, failure.Field("weekly", ErrAvailabilityInvalid)
		}
		if i > 0 && weekly[i-1].Weekday == p.Weekday {
			if prevEnd, _ := ParseClock(weekly[i-1].End); prevEnd > s {
				return a, failure.Field("weekly", ErrAvailabilityInvalid)
			}
		}
	}
	a.Weekly = weekly
	if len(a.Exceptions) > maxExceptions {
		return a, failure.Field("exceptions", ErrAvailabilityInvalid)
	}
	exceptions := []string{}
	for _, d := range a.Exceptions {
		if _, err := time.Parse(DateLayout, d); err != nil {
			return a, failure.Field("exceptions", ErrAvailabilityInvalid)
		}
		if !slices.Contains(exceptions, d) {
			exceptions = append(exceptions, d)
		}
	}
	slices.Sort(exceptions)
	a.Exceptions = exceptions
	a.CatalogVersion = c.Version
	return a, nil
}

func inside(s, e int, windows []Window) bool {
	for _, w := range windows {
		if s >= w.Start && e <= w.End {
			return true
		}
	}
	return false
}

func (a Agency) open(d time.Weekday, s, e int) bool {
	for _, h := range a.Opening {
		o, _ := ParseClock(h.Opens)
		c, _ := ParseClock(h.Closes)
		if h.Weekday == d && s >= o && e <= c {
			return true
		}
	}
	return false
}

// Slots returns the slots of the publication a starting in [from, to), in order: on working days between its
// dates, not on its exceptions, cut from its weekly periods. (Public holidays are never working days.)
func (a AvailabilityPublished) Slots(from, to time.Time) []Slot {
	var out []Slot
	a.EachSlot(from, to, func(s Slot) { out = append(out, s) })
	return out
}

// EachSlot calls fn with each slot Slots returns, in order, without building the list.
func (a AvailabilityPublished) EachSlot(from, to time.Time, fn func(Slot)) {
	first, err1 := time.ParseInLocation(DateLayout, a.From, Paris)
	last, err2 := time.ParseInLocation(DateLayout, a.Until, Paris)
	if err1 != nil || err2 != nil || a.SlotMinutes <= 0 {
		return
	}
	f := from.In(Paris)
	if d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, Paris); d.After(first) {
		first = d
	}
	if d := to.In(Paris); d.Before(last.AddDate(0, 0, 1)) {
		last = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, Paris)
	}
	type span struct{ s, e int }
	byDay := map[time.Weekday][]span{}
	for _, p := range a.Weekly {
		s, ok1 := ParseClock(p.Start)
		e, ok2 := ParseClock(p.End)
		if ok1 && ok2 {
			byDay[p.Weekday] = append(byDay[p.Weekday], span{s, e})
		}
	}
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		spans := byDay[day.Weekday()]
		if len(spans) == 0 || !WorkingDay(day) || slices.Contains(a.Exceptions, day.Format(DateLayout)) {
			continue
		}
		length := time.Duration(a.SlotMinutes) * time.Minute
		for _, sp := range spans {
			// Within the help hours a Paris day has no clock change: one time.Date per span.
			first := At(day, sp.s).UTC()
			for m := sp.s; m+a.SlotMinutes <= sp.e; m += a.SlotMinutes {
				start := first.Add(time.Duration(m-sp.s) * time.Minute)
				if start.Before(from) || !start.Before(to) {
					continue
				}
				fn(Slot{Start: start, End: start.Add(length)})
			}
		}
	}
}

// Offers reports whether the publication offers the slot [start, end).
func (a AvailabilityPublished) Offers(start, end time.Time) bool {
	for _, s := range a.Slots(start, start.Add(time.Minute)) {
		if s.Start.Equal(start) && s.End.Equal(end) {
			return true
		}
	}
	return false
}

// CheckBookable checks a slot start for a booking at now under the rules: inside the help hours, in the future by
// the minimum lead, within the horizon.
func (r Rules) CheckBookable(start, end, now time.Time) error {
	if !InHelpHours(start, end) {
		return failure.Field("start", ErrOutsideHelpHours)
	}
	if start.Before(now.Add(time.Duration(r.MinLeadMinutes) * time.Minute)) {
		return failure.Field("start", ErrInPast)
	}
	if start.After(now.AddDate(0, 0, r.HorizonDays)) {
		return failure.Field("start", ErrTooFar)
	}
	return nil
}

// CleanNote validates a member's or a staff member's note: at most MaxNoteLength characters, no control character
// but line breaks and tabs; spaces around trimmed.
func CleanNote(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNoteLength {
		return "", failure.Field(field, ErrNoteInvalid)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", failure.Field(field, ErrNoteInvalid)
		}
	}
	return s, nil
}

// CleanPhone validates a callback number: digits, spaces, dots and one leading +, 10 to 15 digits.
func CleanPhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '.':
		case r == '+' && i == 0:
		default:
			return "", failure.Field("phone", ErrPhoneInvalid)
		}
	}
	if digits < 10 || digits > 15 {
		return "", failure.Field("phone", ErrPhoneInvalid)
	}
	return s, nil
}
