package conversation

import (
	"time"

	"github.com/msa-dossier/dossier/domain/appointment"
)

// Due returns the instant at which hours business hours of the help line have passed after from: only the help
// line's windows (appointment.HelpHours, Paris time) of working days (Monday to Friday, French public holidays
// excepted: appointment.WorkingDay) count. A message written outside the hours starts counting at the next window.
func Due(from time.Time, hours int) time.Time {
	left := time.Duration(hours) * time.Hour
	day := from.In(appointment.Paris)
	day = time.Date(day.Year(), day.Month(), day.Day(), 12, 0, 0, 0, appointment.Paris)
	for range 3660 { // ten years of days: far beyond any target
		if appointment.WorkingDay(day) {
			for _, w := range appointment.HelpHours {
				start, end := appointment.At(day, w.Start), appointment.At(day, w.End)
				if from.After(start) {
					start = from
				}
				if !end.After(start) {
					continue
				}
				if span := end.Sub(start); left <= span {
					return start.Add(left).UTC()
				} else {
					left -= span
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}
