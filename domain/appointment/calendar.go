package appointment

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database
)

// Paris is the time zone of the help hours, the agencies and the public holidays.
var Paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("appointment: time zone %s: %v", name, err)) // unreachable with time/tzdata linked in
	}
	return loc
}

// Window is a span of a day in minutes after midnight, Paris time: [Start, End).
type Window struct {
	Start, End int
}

// HelpHours are the help line's hours (the seed's "du lundi au vendredi de 8h30 à 12h15 et de 13h30 à 16h30"),
// Monday to Friday: every slot lies inside one of them.
var HelpHours = []Window{{8*60 + 30, 12*60 + 15}, {13*60 + 30, 16*60 + 30}}

// easter returns Easter Sunday of year (Gregorian calendar; the anonymous algorithm of Meeus/Jones/Butcher).
func easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// Holidays returns the French public holidays (jours fériés, Code du travail L3133-1) of year, as calendar dates
// "YYYY-MM-DD" mapped to their name: the eight fixed ones and Easter Monday, Ascension and Whit Monday. (Good Friday
// and 26 December, holidays in Alsace-Moselle only, are not: the fund's agencies are in the Nord.)
func Holidays(year int) map[string]string {
	e := easter(year)
	day := func(m time.Month, d int) string {
		return time.Date(year, m, d, 0, 0, 0, 0, time.UTC).Format(DateLayout)
	}
	after := func(n int) string { return e.AddDate(0, 0, n).Format(DateLayout) }
	return map[string]string{
		day(time.January, 1):   "Jour de l'an",
		after(1):               "Lundi de Pâques",
		day(time.May, 1):       "Fête du travail",
		day(time.May, 8):       "Victoire 1945",
		after(39):              "Ascension",
		after(50):              "Lundi de Pentecôte",
		day(time.July, 14):     "Fête nationale",
		day(time.August, 15):   "Assomption",
		day(time.November, 1):  "Toussaint",
		day(time.November, 11): "Armistice 1918",
		day(time.December, 25): "Noël",
	}
}

// DateLayout is the layout of calendar dates.
const DateLayout = "2006-01-02"

// holidayCache keeps each year's holidays by day of the year, once computed (slot listings ask for every day).
var holidayCache sync.Map // year → map[int]bool (YearDay)

// IsHoliday reports whether the Paris calendar date of t is a public holiday.
func IsHoliday(t time.Time) bool {
	p := t.In(Paris)
	days, ok := holidayCache.Load(p.Year())
	if !ok {
		m := map[int]bool{}
		for d := range Holidays(p.Year()) {
			day, _ := time.Parse(DateLayout, d)
			m[day.YearDay()] = true
		}
		days, _ = holidayCache.LoadOrStore(p.Year(), m)
	}
	return days.(map[int]bool)[p.YearDay()]
}

// WorkingDay reports whether the Paris calendar date of t is a weekday that is not a public holiday.
func WorkingDay(t time.Time) bool {
	p := t.In(Paris)
	return p.Weekday() != time.Saturday && p.Weekday() != time.Sunday && !IsHoliday(p)
}

// minuteOfDay returns the minutes after midnight of t in Paris.
func minuteOfDay(t time.Time) int {
	p := t.In(Paris)
	return p.Hour()*60 + p.Minute()
}

// InHelpHours reports whether [start, end) lies on one working day, inside one window of HelpHours.
func InHelpHours(start, end time.Time) bool {
	if !end.After(start) || !WorkingDay(start) {
		return false
	}
	ps, pe := start.In(Paris), end.In(Paris)
	if ps.Format(DateLayout) != pe.Format(DateLayout) || ps.Second() != 0 || ps.Nanosecond() != 0 {
		return false
	}
	s, e := minuteOfDay(ps), minuteOfDay(pe)
	for _, w := range HelpHours {
		if s >= w.Start && e <= w.End {
			return true
		}
	}
	return false
}

// At returns the instant of minute m of the Paris calendar date day.
func At(day time.Time, m int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, Paris)
}

// ParseClock reads "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// FormatClock writes minutes after midnight as "HH:MM".
func FormatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
