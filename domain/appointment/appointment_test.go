package appointment_test

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	ap "github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

var (
	staffID  = uuid.MustParse("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	memberID = uuid.MustParse("7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11")
	apptID   = uuid.MustParse("0b7f3c2e-4d5a-4f6b-8c9d-1e2f3a4b5c6d")
	start    = time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC) // 09:00 in Paris
	end      = start.Add(45 * time.Minute)
)

// TestPublicHolidays: the real dates of 2026 and 2027 (Easter 5 April 2026 and 28 March 2027).
func TestPublicHolidays(t *testing.T) {
	want := map[int][]string{
		2026: {"2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14",
			"2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25"},
		2027: {"2027-01-01", "2027-03-29", "2027-05-01", "2027-05-06", "2027-05-08", "2027-05-17", "2027-07-14",
			"2027-08-15", "2027-11-01", "2027-11-11", "2027-12-25"},
	}
	for year, dates := range want {
		got := slices.Sorted(maps.Keys(ap.Holidays(year)))
		if !slices.Equal(got, dates) {
			t.Errorf("%d: %v\nwant %v", year, got, dates)
		}
	}
	names := ap.Holidays(2027)
	if names["2027-03-29"] != "Lundi de Pâques" || names["2027-05-06"] != "Ascension" || names["2027-05-17"] != "Lundi de Pentecôte" {
		t.Errorf("Easter-based names of 2027: %v", names)
	}
}

// everyWeekday is a publication over two whole years, every weekday, in both windows of the help hours.
func everyWeekday() ap.AvailabilityPublished {
	var weekly []ap.Period
	for d := time.Monday; d <= time.Friday; d++ {
		weekly = append(weekly, ap.Period{Weekday: d, Start: "08:30", End: "12:15"}, ap.Period{Weekday: d, Start: "13:30", End: "16:30"})
	}
	a, err := ap.Current().Validate(ap.AvailabilityPublished{StaffID: staffID, Theme: "question-generale",
		Channel: ap.ChannelPhone, Agency: "lille", From: "2026-01-01", Until: "2027-12-31", Weekly: weekly})
	if err != nil {
		panic(err)
	}
	return a
}

// TestNoSlotOnAPublicHoliday: every holiday of 2026 and 2027 that falls on a weekday has no slot, and the working
// days around it have their full day (13 slots of 30 minutes).
func TestNoSlotOnAPublicHoliday(t *testing.T) {
	a := everyWeekday()
	for _, year := range []int{2026, 2027} {
		for date, name := range ap.Holidays(year) {
			day, _ := time.ParseInLocation(ap.DateLayout, date, ap.Paris)
			if slots := a.Slots(day, day.AddDate(0, 0, 1)); len(slots) != 0 {
				t.Errorf("%s (%s): %d slots", date, name, len(slots))
			}
		}
	}
	// 2026-05-13 (Wednesday before Ascension) and 2026-05-15 (Friday after): 7 + 6 slots of 30 minutes.
	for _, date := range []string{"2026-05-13", "2026-05-15", "2027-03-30"} {
		day, _ := time.ParseInLocation(ap.DateLayout, date, ap.Paris)
		slots := a.Slots(day, day.AddDate(0, 0, 1))
		if len(slots) != 13 {
			t.Errorf("%s: %d slots, want 13", date, len(slots))
		}
		for _, s := range slots {
			if !ap.InHelpHours(s.Start, s.End) {
				t.Errorf("%s: slot %v outside the help hours", date, s)
			}
		}
	}
}

func TestPublicationsOutsideTheHelpHoursAreRefused(t *testing.T) {
	base := ap.AvailabilityPublished{StaffID: staffID, Theme: "retraite-information", Channel: ap.ChannelAgency,
		Agency: "saint-omer", From: "2026-03-01", Until: "2026-03-31"}
	for name, weekly := range map[string][]ap.Period{
		"lunch":          {{Weekday: time.Monday, Start: "11:30", End: "14:00"}},
		"early":          {{Weekday: time.Monday, Start: "08:00", End: "09:00"}},
		"saturday":       {{Weekday: time.Saturday, Start: "09:00", End: "11:00"}},
		"agency closed":  {{Weekday: time.Monday, Start: "13:30", End: "16:30"}}, // Saint-Omer closes at 12:15 on Mondays
		"overlapping":    {{Weekday: time.Tuesday, Start: "09:00", End: "11:00"}, {Weekday: time.Tuesday, Start: "10:00", End: "12:00"}},
		"shorter than 1": {{Weekday: time.Tuesday, Start: "09:00", End: "09:30"}},
	} {
		b := base
		b.Weekly = weekly
		if _, err := ap.Current().Validate(b); !errors.Is(err, ap.ErrAvailabilityInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	base.Weekly = []ap.Period{{Weekday: time.Tuesday, Start: "13:30", End: "16:30"}}
	if a, err := ap.Current().Validate(base); err != nil || a.SlotMinutes != 45 {
		t.Fatalf("valid publication: %+v, %v", a, err)
	}
	bad := base
	bad.Theme = "astrologie"
	if _, err := ap.Current().Validate(bad); !errors.Is(err, ap.ErrThemeUnknown) {
		t.Errorf("unknown theme: %v", err)
	}
	bad = base
	bad.Agency = "paris"
	if _, err := ap.Current().Validate(bad); !errors.Is(err, ap.ErrAgencyUnknown) {
		t.Errorf("unknown agency: %v", err)
	}
}

func TestHelpHoursAndBookability(t *testing.T) {
	r := ap.Current().Rules
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(d, hm string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", d+" "+hm, ap.Paris)
		return t
	}
	cases := []struct {
		start time.Time
		mins  int
		want  error
	}{
		{at("2026-03-04", "09:00"), 30, nil},
		{at("2026-03-04", "12:00"), 30, ap.ErrOutsideHelpHours}, // runs past 12:15
		{at("2026-03-04", "16:15"), 30, ap.ErrOutsideHelpHours},
		{at("2026-03-07", "09:00"), 30, ap.ErrOutsideHelpHours}, // a Saturday
		{at("2026-04-06", "09:00"), 30, ap.ErrOutsideHelpHours}, // Easter Monday
		{at("2026-03-02", "10:30"), 30, ap.ErrInPast},           // too soon (now is 10:00 in Paris)
		{at("2026-03-02", "09:00"), 30, ap.ErrInPast},
		{at("2026-09-01", "09:00"), 30, ap.ErrTooFar},
	}
	for _, c := range cases {
		err := r.CheckBookable(c.start, c.start.Add(time.Duration(c.mins)*time.Minute), now)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.start, err, c.want)
		}
	}
}

func TestDayHoldsNeverOverlap(t *testing.T) {
	other := uuid.New()
	d := ap.FoldDay([]ap.Event{ap.SlotHeld{AppointmentID: apptID, Start: start, End: end}})
	if held, err := d.Hold(apptID, start, end); !held || err != nil {
		t.Errorf("the same hold again: %v %v", held, err)
	}
	for _, s := range []time.Time{start, start.Add(30 * time.Minute), start.Add(-30 * time.Minute)} {
		if _, err := d.Hold(other, s, s.Add(45*time.Minute)); !errors.Is(err, ap.ErrSlotTaken) {
			t.Errorf("overlap at %s: %v", s, err)
		}
	}
	if _, err := d.Hold(other, end, end.Add(45*time.Minute)); err != nil {
		t.Errorf("the next slot: %v", err)
	}
	d = d.Apply(ap.SlotReleased{AppointmentID: apptID, Start: start, End: end})
	if _, err := d.Hold(other, start, end); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestMemberFold(t *testing.T) {
	now := start.Add(-72 * time.Hour)
	s := ap.Fold([]ap.Event{ap.Booked{AppointmentID: apptID, StaffID: staffID, Start: start, End: end, Note: "n"}})
	if s.Future(now) != 1 {
		t.Fatalf("future %d", s.Future(now))
	}
	if _, err := s.Open(apptID, start.Add(-2*time.Hour), ap.Current().Rules); !errors.Is(err, ap.ErrNoticeTooShort) {
		t.Errorf("2 hours before: %v", err)
	}
	if _, err := s.Open(uuid.New(), now, ap.Current().Rules); !errors.Is(err, ap.ErrNotFound) {
		t.Errorf("another's: %v", err)
	}
	s = s.Apply(ap.Cancelled{AppointmentID: apptID, By: ap.CancelledByMember})
	if _, err := s.Open(apptID, now, ap.Current().Rules); !errors.Is(err, ap.ErrNotBooked) || s.Future(now) != 0 {
		t.Errorf("cancelled: %v", err)
	}
}

// goldenValues are the stored payloads under testdata.
func goldenValues() map[string]any {
	return map[string]any{
		"AppointmentAvailabilityPublished.v1.json": ap.AvailabilityPublished{StaffID: staffID, Theme: "retraite-information",
			Channel: "agency", Agency: "lille", From: "2026-03-01", Until: "2026-06-30", SlotMinutes: 45,
			Weekly: []ap.Period{{Weekday: time.Tuesday, Start: "08:30", End: "12:15"}}, Exceptions: []string{"2026-03-10"},
			CatalogVersion: "2026.1"},
		"AppointmentSlotHeld.v1.json": ap.SlotHeld{AppointmentID: apptID, MemberID: memberID, StaffID: staffID,
			Theme: "retraite-information", Channel: "agency", Agency: "lille", Start: start, End: end},
		"AppointmentSlotReleased.v1.json": ap.SlotReleased{AppointmentID: apptID, StaffID: staffID, Start: start, End: end},
		"AppointmentBooked.v1.json": ap.Booked{AppointmentID: apptID, StaffID: staffID, Theme: "retraite-information",
			Channel: "agency", Agency: "lille", Start: start, End: end, Note: "Départ en retraite en 2027",
			Phone: "06 12 34 56 78", CatalogVersion: "2026.1"},
		"AppointmentRescheduled.v1.json": ap.Rescheduled{AppointmentID: apptID, StaffID: staffID, Start: end, End: end.Add(45 * time.Minute),
			FromStaffID: staffID, FromStart: start, FromEnd: end},
		"AppointmentCancelled.v1.json":    ap.Cancelled{AppointmentID: apptID, By: ap.CancelledByMember},
		"AppointmentReminderSent.v1.json": ap.ReminderSent{AppointmentID: apptID, Start: start},
		"AppointmentHeld.v1.json":         ap.Held{AppointmentID: apptID, StaffID: staffID, OutcomeNote: "Relevé de carrière remis."},
		"AppointmentMissed.v1.json":       ap.Missed{AppointmentID: apptID, StaffID: staffID},
	}
}

func TestGolden(t *testing.T) {
	want := goldenValues()
	if os.Getenv("APPOINTMENT_GOLDEN_WRITE") != "" { // writes files that do not exist yet; never rewrites one
		reg, err := event.NewRegistry(ap.Definitions())
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range want {
			path := filepath.Join("testdata", name)
			if _, err := os.Stat(path); err == nil {
				continue
			}
			typ, _, data, err := reg.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(eventtest.Stored{Type: typ, Data: data})
			if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventtest.CheckDefinitions(t, ap.Definitions(), want)
	eventtest.ExpectFiles(t, want)
}

// TestFoldCoversEveryEvent: every event of the member stream changes the appointment's fold; the day events change
// the day's.
func TestFoldCoversEveryEvent(t *testing.T) {
	for name, v := range goldenValues() {
		switch v.(type) {
		case ap.AvailabilityPublished:
			continue // folded by the projection's availability rows, no aggregate state
		case ap.SlotHeld, ap.SlotReleased:
			before := ap.FoldDay([]ap.Event{ap.SlotHeld{AppointmentID: apptID, Start: start, End: end}})
			after := before.Apply(v)
			if slices.Equal(before.Holds, after.Holds) {
				t.Errorf("%s changes no day", name)
			}
			continue
		}
		a, ok := ap.Appointment{ID: apptID, Status: ap.StatusBooked, Start: start}.Apply(v)
		if !ok || a == (ap.Appointment{ID: apptID, Status: ap.StatusBooked, Start: start}) {
			t.Errorf("%s: not folded", name)
		}
	}
}
