package servicerequest_test

import (
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestClock(t *testing.T) {
	// Hand-computed: receipt day 2026-01-31 (11:00 in Paris); silence 2 months → 2026-03-31 (no clamp: March has
	// 31 days); handling 30 days → 2026-03-02 (28 days of February).
	twoMonths := c2s.Deadlines
	// suspended is the same periods under a silence that means rejection: a request for pieces suspends them
	// (L114-5), which the cases with pauses below measure. Under acceptance it restarts them: TestClockL114_5.
	suspended := rejection2Months
	oneMonth := sr.Deadlines{
		Silence:      sr.SilenceRule{Outcome: sr.Rejection, Period: sr.Period{Count: 1, Unit: sr.Months}},
		HandlingTime: sr.Period{Count: 15, Unit: sr.Days},
	}
	ask := func(at time.Time) []event.Envelope { return on(at, requested) }
	answer := func(at time.Time) []event.Envelope { return on(at, received) }

	tests := []struct {
		name         string
		history      []event.Envelope
		deadlines    sr.Deadlines
		due, implied string
		pausedDays   int
		paused       bool
		closed       string // close reason, "" if open
	}{
		{
			name:    "2 months of silence from 2026-01-31",
			history: queuedCase, deadlines: twoMonths,
			due: "2026-03-02", implied: "2026-03-31",
		},
		{
			name:    "1 month from 31 January clamps to 28 February",
			history: queuedCase, deadlines: oneMonth,
			due: "2026-02-15", implied: "2026-02-28",
		},
		{
			name:    "1 month from 31 January of a leap year clamps to 29 February",
			history: on(utc(2028, 1, 31, 10, 0), submitted), deadlines: oneMonth,
			due: "2028-02-15", implied: "2028-02-29",
		},
		{
			name:    "months across the end of a year",
			history: on(utc(2026, 11, 30, 10, 0), submitted), deadlines: twoMonths,
			due: "2026-12-30", implied: "2027-01-30",
		},
		{
			name:    "a request sent at 23:30 UTC on 31 January is received on 1 February in Paris",
			history: on(utc(2026, 1, 31, 23, 30), submitted), deadlines: twoMonths,
			due: "2026-03-03", implied: "2026-04-01",
		},
		{
			name:      "a pause of 10 days moves both dates by 10 days",
			history:   join(queuedCase, ask(utc(2026, 2, 10, 9, 0)), answer(utc(2026, 2, 20, 16, 0))),
			deadlines: suspended, pausedDays: 10,
			due: "2026-03-12", implied: "2026-04-10",
		},
		{
			name:      "the time of day does not matter: late request, early answer, still 10 days",
			history:   join(queuedCase, ask(utc(2026, 2, 10, 22, 0)), answer(utc(2026, 2, 20, 6, 0))),
			deadlines: suspended, pausedDays: 10,
			due: "2026-03-12", implied: "2026-04-10",
		},
		{
			name:      "an answer the same day pauses nothing",
			history:   join(queuedCase, ask(utc(2026, 2, 10, 9, 0)), answer(utc(2026, 2, 10, 17, 0))),
			deadlines: suspended,
			due:       "2026-03-02", implied: "2026-03-31",
		},
		{
			name: "two pauses add up: 10 + 5 days",
			history: join(queuedCase, ask(utc(2026, 2, 10, 9, 0)), answer(utc(2026, 2, 20, 16, 0)),
				ask(utc(2026, 3, 1, 9, 0)), answer(utc(2026, 3, 6, 9, 0))),
			deadlines: suspended, pausedDays: 15,
			due: "2026-03-17", implied: "2026-04-15",
		},
		{
			name:      "while information is awaited the clock is paused and counts only the pauses over",
			history:   join(queuedCase, ask(utc(2026, 2, 10, 9, 0)), answer(utc(2026, 2, 20, 16, 0)), ask(utc(2026, 3, 1, 9, 0))),
			deadlines: suspended, pausedDays: 10, paused: true,
			due: "2026-03-12", implied: "2026-04-10",
		},
		{
			name:      "a second request during a pause does not restart it",
			history:   join(queuedCase, ask(utc(2026, 2, 10, 9, 0)), ask(utc(2026, 2, 15, 9, 0)), answer(utc(2026, 2, 20, 16, 0))),
			deadlines: suspended, pausedDays: 10,
			due: "2026-03-12", implied: "2026-04-10",
		},
		{
			name:      "a lapse ends the pause at the deadline and closes the case",
			history:   lapsedCase, // requested 2026-02-10, lapsed 2026-02-25 at 23:00 UTC = 26 February 00:00 in Paris
			deadlines: suspended, pausedDays: 16, closed: sr.CloseLapsed,
			due: "2026-03-18", implied: "2026-04-16",
		},
		{
			name:      "a withdrawal while paused ends the pause and closes the case",
			history:   join(awaitingCase, on(utc(2026, 2, 13, 9, 0), sr.Withdrawn{MemberID: memberID}, sr.Closed{Reason: sr.CloseWithdrawn})),
			deadlines: suspended, pausedDays: 3, closed: sr.CloseWithdrawn,
			due: "2026-03-05", implied: "2026-04-03",
		},
		{
			name:    "a decision closes the clock",
			history: decidedCase, deadlines: twoMonths, closed: sr.CloseDecided,
			due: "2026-03-02", implied: "2026-03-31",
		},
		{
			name:      "events after closure do not move it",
			history:   join(lapsedCase, ask(utc(2026, 3, 1, 9, 0)), answer(utc(2026, 3, 9, 9, 0))),
			deadlines: suspended, pausedDays: 16, closed: sr.CloseLapsed,
			due: "2026-03-18", implied: "2026-04-16",
		},
		{
			name:    "unknown events are ignored",
			history: join(on(t0, struct{}{}), queuedCase), deadlines: twoMonths,
			due: "2026-03-02", implied: "2026-03-31",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sr.Clock(tt.history, tt.deadlines, paris)
			if err != nil {
				t.Fatal(err)
			}
			if day(c.DueOn) != tt.due || day(c.ImplicitDecisionOn) != tt.implied {
				t.Errorf("due %s, implicit %s; want %s, %s", day(c.DueOn), day(c.ImplicitDecisionOn), tt.due, tt.implied)
			}
			if c.PausedDays != tt.pausedDays || c.Paused != tt.paused || c.Paused == c.PausedSince.IsZero() {
				t.Errorf("paused %t since %v, %d days; want %t, %d", c.Paused, c.PausedSince, c.PausedDays, tt.paused, tt.pausedDays)
			}
			if c.Closed != (tt.closed != "") || c.CloseReason != tt.closed || c.Closed == c.ClosedAt.IsZero() {
				t.Errorf("closed %t (%q at %v), want %q", c.Closed, c.CloseReason, c.ClosedAt, tt.closed)
			}
			if c.Outcome != tt.deadlines.Silence.Outcome || !c.ReceivedAt.Equal(tt.history[0].Metadata.OccurredAt) {
				t.Errorf("outcome %s, received %v", c.Outcome, c.ReceivedAt)
			}
			for _, d := range []time.Time{c.DueOn, c.ImplicitDecisionOn} {
				if d.Location() != paris || d.Hour() != 0 || d.Minute() != 0 {
					t.Errorf("%v is not midnight in %s", d, paris)
				}
			}
		})
	}
}

func TestClockProjected(t *testing.T) {
	// Paused since 2026-02-10, nothing over yet: on 2026-02-15 the running pause counts 5 days (a suspension).
	c, err := sr.Clock(awaitingCase, rejection2Months, paris)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Paused || day(c.ImplicitDecisionOn) != "2026-03-31" {
		t.Fatalf("clock %+v", c)
	}
	due, implicit := c.Projected(utc(2026, 2, 15, 12, 0))
	if day(due) != "2026-03-07" || day(implicit) != "2026-04-05" {
		t.Fatalf("projected %s %s", day(due), day(implicit))
	}
	// Under acceptance the periods start again on the day the pieces come: as of 2026-02-15, that day.
	c, err = sr.Clock(awaitingCase, c2s.Deadlines, paris)
	if err != nil {
		t.Fatal(err)
	}
	due, implicit = c.Projected(utc(2026, 2, 15, 12, 0))
	if !c.Paused || day(due) != "2026-03-17" || day(implicit) != "2026-04-15" {
		t.Fatalf("projected under a restart %s %s", day(due), day(implicit))
	}
	// Not paused: the dates as they are.
	c, _ = sr.Clock(answeredCase, c2s.Deadlines, paris)
	due, implicit = c.Projected(utc(2026, 6, 1, 0, 0))
	if !due.Equal(c.DueOn) || !implicit.Equal(c.ImplicitDecisionOn) {
		t.Fatalf("projected %v %v, clock %+v", due, implicit, c)
	}
}

// TestClockWithoutImplicitDecision: under a rule without implicit decision (a document delivered by right, a
// declaration) the clock has a handling target and no implicit-decision day; pauses still move the target.
func TestClockWithoutImplicitDecision(t *testing.T) {
	d := attestations.Deadlines // no implicit decision, handling 5 days
	ask := on(utc(2026, 2, 2, 9, 0), requested)
	answer := on(utc(2026, 2, 4, 16, 0), received)

	c, err := sr.Clock(queuedCase, d, paris)
	if err != nil {
		t.Fatal(err)
	}
	// Received 2026-01-31 in Paris: due 5 days later.
	if day(c.DueOn) != "2026-02-05" || !c.ImplicitDecisionOn.IsZero() || c.Outcome != sr.NoImplicitDecision ||
		c.Outcome.ImplicitDecision() || c.Paused || c.Closed {
		t.Fatalf("clock %+v", c)
	}
	if c.DueOn.Location() != paris || c.DueOn.Hour() != 0 {
		t.Errorf("%v is not midnight in %s", c.DueOn, paris)
	}

	// While paused (since 2 February): the target moves a day each day as of the read, the implicit day stays zero.
	c, err = sr.Clock(join(queuedCase, ask), d, paris)
	if err != nil {
		t.Fatal(err)
	}
	due, implicit := c.Projected(utc(2026, 2, 6, 12, 0))
	if !c.Paused || day(c.DueOn) != "2026-02-05" || day(due) != "2026-02-09" || !implicit.IsZero() {
		t.Fatalf("paused clock %+v, projected %s %v", c, day(due), implicit)
	}

	// Answered on 4 February: a pause of 2 days moves the target by 2 days.
	c, err = sr.Clock(join(queuedCase, ask, answer), d, paris)
	if err != nil {
		t.Fatal(err)
	}
	if c.PausedDays != 2 || day(c.DueOn) != "2026-02-07" || !c.ImplicitDecisionOn.IsZero() || c.Paused {
		t.Fatalf("clock after the answer %+v", c)
	}

	// Closed: still no implicit-decision day.
	closed := join(queuedCase, on(utc(2026, 2, 3, 9, 0), sr.Withdrawn{MemberID: memberID}, sr.Closed{Reason: sr.CloseWithdrawn}))
	if c, err = sr.Clock(closed, d, paris); err != nil || !c.Closed || !c.ImplicitDecisionOn.IsZero() {
		t.Fatalf("closed clock %+v, %v", c, err)
	}

	// The acknowledgement announces the same: the target, and no implicit-decision day.
	r := sr.Rehydrate(requestID, nil)
	if err := r.Submit(submission, attestations, t0, paris); err != nil {
		t.Fatal(err)
	}
	ack := r.Events()[1].(sr.Acknowledged)
	if ack.DueOn != "2026-02-05" || ack.ImplicitDecisionOn != "" || r.Deadlines() != d {
		t.Fatalf("acknowledgement %+v, deadlines %+v", ack, r.Deadlines())
	}
}

func TestClockMatchesAcknowledgement(t *testing.T) {
	for _, at := range []time.Time{t0, utc(2026, 1, 31, 23, 30), utc(2026, 3, 28, 23, 30), utc(2026, 10, 24, 22, 30)} {
		r := sr.Rehydrate(requestID, nil)
		if err := r.Submit(submission, c2s, at, paris); err != nil {
			t.Fatal(err)
		}
		ack := r.Events()[1].(sr.Acknowledged)
		c, err := sr.Clock(on(at, r.Events()...), r.Deadlines(), paris)
		if err != nil {
			t.Fatal(err)
		}
		if day(c.ImplicitDecisionOn) != ack.ImplicitDecisionOn || day(c.DueOn) != ack.DueOn {
			t.Errorf("%v: clock %s/%s, acknowledgement %s/%s", at, day(c.DueOn), day(c.ImplicitDecisionOn), ack.DueOn,
				ack.ImplicitDecisionOn)
		}
	}
}

func TestClockEmptyAndInvalid(t *testing.T) {
	c, err := sr.Clock(nil, c2s.Deadlines, paris)
	if err != nil || c != (sr.LegalClock{}) {
		t.Fatalf("empty history: %+v, %v", c, err)
	}
	if _, err := sr.Clock(queuedCase, c2s.Deadlines, nil); err == nil {
		t.Fatal("nil location accepted")
	}
	bad := []sr.Deadlines{
		{Silence: sr.SilenceRule{Outcome: "maybe", Period: sr.Period{Count: 2, Unit: sr.Months}}, HandlingTime: sr.Period{Count: 1, Unit: sr.Days}},
		{Silence: sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 0, Unit: sr.Months}}, HandlingTime: sr.Period{Count: 1, Unit: sr.Days}},
		{Silence: sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: "weeks"}}, HandlingTime: sr.Period{Count: 1, Unit: sr.Days}},
		{Silence: c2s.Deadlines.Silence},
		{Silence: sr.SilenceRule{Outcome: sr.NoImplicitDecision, Period: sr.Period{Count: 2, Unit: sr.Months}}, HandlingTime: sr.Period{Count: 1, Unit: sr.Days}},
		{Silence: sr.SilenceRule{Outcome: sr.NoImplicitDecision}},
		{Silence: sr.SilenceRule{Outcome: ""}, HandlingTime: sr.Period{Count: 1, Unit: sr.Days}},
	}
	for _, d := range bad {
		if _, err := sr.Clock(queuedCase, d, paris); err == nil {
			t.Errorf("%+v accepted", d)
		}
	}
}

// TestClockAcrossSummerTime checks that dates stay midnight on the right day when Paris changes to summer time
// (29 March 2026): only meaningful with the real zone.
func TestClockAcrossSummerTime(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata for Europe/Paris")
	}
	c, err := sr.Clock(queuedCase, c2s.Deadlines, loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 30, 22, 0, 0, 0, time.UTC); !c.ImplicitDecisionOn.Equal(want) {
		t.Fatalf("implicit decision at %v, want midnight of 31 March in Paris (%v)", c.ImplicitDecisionOn, want)
	}
}

func TestAddPeriod(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		from string
		p    sr.Period
		want string
	}{
		{"2026-01-31", sr.Period{Count: 1, Unit: sr.Months}, "2026-02-28"},
		{"2026-01-31", sr.Period{Count: 2, Unit: sr.Months}, "2026-03-31"},
		{"2026-01-31", sr.Period{Count: 3, Unit: sr.Months}, "2026-04-30"},
		{"2026-03-31", sr.Period{Count: 12, Unit: sr.Months}, "2027-03-31"},
		{"2024-02-29", sr.Period{Count: 12, Unit: sr.Months}, "2025-02-28"},
		{"2026-12-15", sr.Period{Count: 1, Unit: sr.Months}, "2027-01-15"},
		{"2026-02-20", sr.Period{Count: 10, Unit: sr.Days}, "2026-03-02"},
		{"2026-12-31", sr.Period{Count: 1, Unit: sr.Days}, "2027-01-01"},
		{"2026-12-31", sr.Period{Count: 0, Unit: sr.Days}, "2026-12-31"}, // invalid: adds nothing
	}
	for _, tt := range tests {
		from, _ := time.ParseInLocation(time.DateOnly, tt.from, cet)
		got := sr.AddPeriod(from.Add(15*time.Hour), tt.p)
		if day(got) != tt.want || got.Hour() != 0 || got.Location() != cet {
			t.Errorf("%s + %+v = %v, want %s", tt.from, tt.p, got, tt.want)
		}
	}
}

// TestClockL114_5 is CRPA L114-5 with the dates: a request received on day 0 (Monday 2 March 2026), pieces
// asked for on day 10 (12 March) with a 15-day deadline (27 March), received on day 20 (22 March). Silence means
// acceptance: the period only starts on receipt of the pieces, whole. Silence means rejection: the period is
// suspended for the 10 days actually used (the deadline granted was 15).
func TestClockL114_5(t *testing.T) {
	receipt := utc(2026, 3, 2, 9, 0)
	asked := utc(2026, 3, 12, 9, 0)
	pieces := utc(2026, 3, 22, 15, 0)
	deadline := utc(2026, 3, 27, 23, 0)
	ask := on(asked, sr.InformationRequested{Caseworker: worker, Items: []string{"Avis d'imposition"}, Deadline: deadline})
	history := join(on(receipt, submitted), ask, on(pieces, received))
	tests := []struct {
		name                 string
		d                    sr.Deadlines
		rule                 sr.Incomplete
		start, due, implicit string
		implicitAt           time.Time
		// as of day 15 (17 March), pieces still awaited
		dueDay15, implicitDay15 string
	}{
		{name: "acceptance: the whole period runs again from the receipt of the pieces", d: c2s.Deadlines,
			rule: sr.Restart, start: "2026-03-22", due: "2026-04-21", implicit: "2026-05-22",
			implicitAt: time.Date(2026, 5, 22, 22, 0, 0, 0, time.UTC), // 23 May 00:00 in Paris (summer time)
			dueDay15:   "2026-04-16", implicitDay15: "2026-05-17"},
		{name: "rejection: the original dates + the 10 days of suspension actually used", d: rejection2Months,
			rule: sr.Suspend, start: "2026-03-02", due: "2026-04-11", implicit: "2026-05-12",
			implicitAt: time.Date(2026, 5, 12, 22, 0, 0, 0, time.UTC),
			dueDay15:   "2026-04-06", implicitDay15: "2026-05-07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sr.Clock(history, tt.d, paris)
			if err != nil {
				t.Fatal(err)
			}
			if c.Incomplete != tt.rule || day(c.StartsOn) != tt.start || day(c.DueOn) != tt.due ||
				day(c.ImplicitDecisionOn) != tt.implicit || c.PausedDays != 10 || c.Paused {
				t.Errorf("clock %s: starts %s, due %s, implicit %s, paused %d days; want %s, %s, %s, %s, 10",
					c.Incomplete, day(c.StartsOn), day(c.DueOn), day(c.ImplicitDecisionOn), c.PausedDays, tt.rule,
					tt.start, tt.due, tt.implicit)
			}
			if paris.String() == "Europe/Paris" && !c.ImplicitDecisionAt().Equal(tt.implicitAt) {
				t.Errorf("implicit decision at %v, want %v", c.ImplicitDecisionAt(), tt.implicitAt)
			}
			if at := c.ImplicitDecisionAt(); !at.After(c.ImplicitDecisionOn) || day(at) != day(c.ImplicitDecisionOn.AddDate(0, 0, 1)) ||
				at.In(paris).Hour() != 0 || !c.DueAt().Equal(sr.EndOfDay(c.DueOn)) {
				t.Errorf("instants %v / %v for the days %s / %s", at, c.DueAt(), day(c.ImplicitDecisionOn), day(c.DueOn))
			}
			// While the pieces are awaited, the dates shown follow the clock as of the read (day 15).
			paused, err := sr.Clock(join(on(receipt, submitted), ask), tt.d, paris)
			if err != nil {
				t.Fatal(err)
			}
			now := paused.AsOf(utc(2026, 3, 17, 12, 0))
			if day(now.DueOn) != tt.dueDay15 || day(now.ImplicitDecisionOn) != tt.implicitDay15 {
				t.Errorf("as of day 15: due %s, implicit %s; want %s, %s", day(now.DueOn), day(now.ImplicitDecisionOn),
					tt.dueDay15, tt.implicitDay15)
			}
			// Pieces that never come restart nothing: a lapse ends the pause at its instant (15 days + 1 in Paris).
			lapsed, err := sr.Clock(join(on(receipt, submitted), ask, on(deadline,
				sr.InformationDeadlineLapsed{Deadline: deadline}, sr.Closed{Reason: sr.CloseLapsed})), tt.d, paris)
			if err != nil {
				t.Fatal(err)
			}
			if day(lapsed.StartsOn) != "2026-03-02" || !lapsed.Closed {
				t.Errorf("lapsed clock starts %s, closed %t", day(lapsed.StartsOn), lapsed.Closed)
			}
		})
	}
	// Under acceptance a second request restarts the periods again, from the second receipt.
	second := join(history, on(utc(2026, 4, 1, 9, 0), requested), on(utc(2026, 4, 3, 9, 0), received))
	c, err := sr.Clock(second, c2s.Deadlines, paris)
	if err != nil {
		t.Fatal(err)
	}
	if day(c.StartsOn) != "2026-04-03" || day(c.ImplicitDecisionOn) != "2026-06-03" || day(c.DueOn) != "2026-05-03" {
		t.Errorf("after a second request: starts %s, implicit %s, due %s", day(c.StartsOn), day(c.ImplicitDecisionOn),
			day(c.DueOn))
	}
}

// TestEndOfDay: the one definition of when a day-counted deadline passes, the next day's 00:00 in the day's zone,
// also on the days the clocks change.
func TestEndOfDay(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata for Europe/Paris")
	}
	for in, want := range map[time.Time]string{
		time.Date(2027, 2, 6, 0, 0, 0, 0, loc):   "2027-02-07T00:00:00+01:00", // the Saturday 6 February 2027
		time.Date(2027, 2, 6, 23, 59, 0, 0, loc): "2027-02-07T00:00:00+01:00",
		time.Date(2026, 3, 28, 0, 0, 0, 0, loc):  "2026-03-29T00:00:00+01:00", // the night summer time begins
		time.Date(2026, 3, 29, 0, 0, 0, 0, loc):  "2026-03-30T00:00:00+02:00",
		time.Date(2026, 10, 25, 0, 0, 0, 0, loc): "2026-10-26T00:00:00+01:00", // a 25-hour day
	} {
		if got := sr.EndOfDay(in).Format(time.RFC3339); got != want {
			t.Errorf("EndOfDay(%v) = %s, want %s", in, got, want)
		}
	}
	if !sr.EndOfDay(time.Time{}).IsZero() {
		t.Error("EndOfDay of the zero time is not zero")
	}
	// The time to seize the CRA: 2 months from the notification, date to date, to the end of that day.
	last := sr.AppealDeadline(time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), loc)
	if day(last) != "2027-02-28" || sr.EndOfDay(last).Format(time.RFC3339) != "2027-03-01T00:00:00+01:00" {
		t.Errorf("appeal deadline %v", last)
	}
}
