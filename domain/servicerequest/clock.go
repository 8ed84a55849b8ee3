package servicerequest

import (
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/domain/event"
)

// Unit is the unit of a Period. Its values are stored in events: never rename them.
type Unit string

// The units of periods.
const (
	Days   Unit = "days"   // calendar days (not working days)
	Months Unit = "months" // calendar months, clamped to the end of a shorter month
)

// Period is a legal or catalogue duration: Count calendar days or calendar months.
type Period struct {
	Count int  `json:"count"`
	Unit  Unit `json:"unit"`
}

// Validate reports whether p is usable: a known unit and a count from 1 to 10 years.
func (p Period) Validate() error {
	switch {
	case p.Unit == Days && p.Count >= 1 && p.Count <= 3660:
	case p.Unit == Months && p.Count >= 1 && p.Count <= 120:
	default:
		return fmt.Errorf("period %d %q: want 1-3660 days or 1-120 months", p.Count, p.Unit)
	}
	return nil
}

// Outcome is what silence means once the silence period is over. Its values are stored: never rename them.
type Outcome string

// The outcomes of silence (CRPA L231-1: acceptance by default; L231-4 and decrees: rejection for financial
// requests and other exceptions). NoImplicitDecision is a request on which silence decides nothing: a document
// delivered by right (R112-4 2°) or a declaration, which asks for no decision by itself.
const (
	Acceptance         Outcome = "acceptance"
	Rejection          Outcome = "rejection"
	NoImplicitDecision Outcome = "none"
)

// ImplicitDecision reports whether silence becomes a decision under o (acceptance or rejection); false for
// NoImplicitDecision and unknown outcomes.
func (o Outcome) ImplicitDecision() bool { return o == Acceptance || o == Rejection }

// SilenceRule says what the administration's silence means (Outcome) and after how long (Period), counted from
// receipt. It is data of the catalog, per service and version, recorded in every acknowledgement. A rule without
// implicit decision (NoImplicitDecision) has no period: it is the zero Period, omitted from the JSON.
type SilenceRule struct {
	Outcome Outcome `json:"outcome"`
	Period  Period  `json:"period,omitzero"`
}

// Validate reports whether r has a known outcome and a valid period: a period for acceptance and rejection, none
// for NoImplicitDecision.
func (r SilenceRule) Validate() error {
	switch r.Outcome {
	case Acceptance, Rejection:
		return r.Period.Validate()
	case NoImplicitDecision:
		if r.Period != (Period{}) {
			return fmt.Errorf("silence outcome %q: no period expected, got %d %q", r.Outcome, r.Period.Count,
				r.Period.Unit)
		}
		return nil
	}
	return fmt.Errorf("silence outcome %q: want acceptance, rejection or none", r.Outcome)
}

// Deadlines are the two durations of the catalog a request's clock needs: the legal silence rule and the
// fund's own handling target.
type Deadlines struct {
	Silence      SilenceRule
	HandlingTime Period
}

// Validate reports every problem of d.
func (d Deadlines) Validate() error {
	if err := d.Silence.Validate(); err != nil {
		return err
	}
	if err := d.HandlingTime.Validate(); err != nil {
		return fmt.Errorf("handling time: %w", err)
	}
	return nil
}

// LegalClock is the legal clock of one request, a pure projection of its events (see Clock).
//
// Days and instants. ReceivedAt and PausedSince are instants. DueAt and ImplicitDecisionAt are calendar days,
// given as midnight (00:00) of that day in the clock's location: the implicit decision is acquired when that day
// ends, so a decision dated that day is still express. Pauses count whole calendar days (see Clock).
type LegalClock struct {
	// ReceivedAt is the instant of receipt (the OccurredAt of Submitted); zero when the history holds no request.
	ReceivedAt time.Time
	// DueAt is the day of the handling target: receipt day + handling time + paused days.
	DueAt time.Time
	// ImplicitDecisionAt is the day silence becomes a decision: receipt day + silence period + paused days. While
	// Paused it only counts the pauses already over (use Projected for a date as of today). Once Closed it is the
	// day that would have been: no implicit decision arises from a closed case. It is zero when the rule gives no
	// implicit decision (Outcome NoImplicitDecision).
	ImplicitDecisionAt time.Time
	// Outcome is what silence means on ImplicitDecisionAt; NoImplicitDecision when silence decides nothing (see
	// Outcome.ImplicitDecision).
	Outcome Outcome
	// Paused is true while information is awaited (InformationRequested without answer, lapse or closure since).
	Paused bool
	// PausedSince is the instant the current pause began; zero unless Paused.
	PausedSince time.Time
	// PausedDays is the total of the pauses that are over, in calendar days: what moved the two dates.
	PausedDays int
	// Closed is true once the case is closed (decided, withdrawn or lapsed); ClosedAt and CloseReason say when
	// and why.
	Closed      bool
	ClosedAt    time.Time
	CloseReason string
}

// Clock projects a request's history onto its legal clock, with the deadlines d of the catalog version it was
// submitted under (Acknowledged records them; ServiceRequest.Deadlines returns them) and the calendar of loc
// (Europe/Paris in production). It is pure: no time but the events', no state but the history.
//
// The rules, in order:
//   - the receipt day is the calendar day, in loc, of the Submitted event's instant: a request sent on
//     31 January at 23:30 UTC is received on 1 February in Paris. The time of day plays no other part.
//   - the silence period runs from the receipt day: ImplicitDecisionAt = receipt day + period. Days add calendar
//     days; months add calendar months and clamp to the last day of a shorter month (31 January + 1 month =
//     28 February, or 29 in a leap year; 31 January + 2 months = 31 March). A rule without implicit decision
//     (NoImplicitDecision) gives no such day: ImplicitDecisionAt stays zero, and only DueAt runs.
//   - the clock stops from InformationRequested to InformationReceived (CRPA L114-5; a suspension, not a
//     restart). A pause lasts the number of calendar days, in loc, between the day it began and the day it
//     ended: requested on the 10th and answered on the 20th is 10 days; answered the same day is 0. The pauses
//     add up, and their total is added, in days, after the period: a pause moves both dates by its length.
//   - a second InformationRequested during a pause changes nothing (the aggregate refuses it anyway);
//     InformationDeadlineLapsed or Closed end a running pause at their own instant, and Closed stops the clock.
//
// Events of unknown types are ignored. A history without Submitted gives the zero LegalClock.
func Clock(history []event.Envelope, d Deadlines, loc *time.Location) (LegalClock, error) {
	if loc == nil {
		return LegalClock{}, fmt.Errorf("servicerequest.Clock: no location")
	}
	if err := d.Validate(); err != nil {
		return LegalClock{}, fmt.Errorf("servicerequest.Clock: %w", err)
	}
	var c LegalClock
	received := false
	for _, env := range history {
		at := env.Metadata.OccurredAt
		switch env.Event.(type) {
		case Submitted:
			if !received {
				received, c.ReceivedAt = true, at
			}
		case InformationRequested:
			if received && !c.Closed && !c.Paused {
				c.Paused, c.PausedSince = true, at
			}
		case InformationReceived, InformationDeadlineLapsed:
			c.resume(at, loc)
		case Closed:
			c.resume(at, loc)
			if !c.Closed {
				c.Closed, c.ClosedAt = true, at
				c.CloseReason = env.Event.(Closed).Reason
			}
		}
	}
	if !received {
		return LegalClock{}, nil
	}
	c.Outcome = d.Silence.Outcome
	c.DueAt, c.ImplicitDecisionAt = dates(c.ReceivedAt, c.PausedDays, d, loc)
	return c, nil
}

// resume ends a running pause at the instant at.
func (c *LegalClock) resume(at time.Time, loc *time.Location) {
	if !c.Paused {
		return
	}
	c.PausedDays += daysBetween(dayOf(c.PausedSince, loc), dayOf(at, loc))
	c.Paused, c.PausedSince = false, time.Time{}
}

// Projected returns the handling target and the implicit-decision day as they stand on the day of now: if the
// clock is paused, the running pause counts until that day (and keeps counting after). Without a pause it returns
// DueAt and ImplicitDecisionAt. A zero date (no implicit decision, or the zero LegalClock) stays zero.
func (c LegalClock) Projected(now time.Time) (due, implicit time.Time) {
	if !c.Paused {
		return c.DueAt, c.ImplicitDecisionAt
	}
	move := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		loc := t.Location()
		n := max(0, daysBetween(dayOf(c.PausedSince, loc), dayOf(now, loc)))
		return dayOf(t, loc).addDays(n).in(loc)
	}
	return move(c.DueAt), move(c.ImplicitDecisionAt)
}

// dates returns the handling target and the implicit-decision day of a request received at receivedAt, after
// paused days of suspension; implicit is zero when the rule gives no implicit decision.
func dates(receivedAt time.Time, paused int, d Deadlines, loc *time.Location) (due, implicit time.Time) {
	day := dayOf(receivedAt, loc)
	due = day.add(d.HandlingTime).addDays(paused).in(loc)
	if d.Silence.Outcome.ImplicitDecision() {
		implicit = day.add(d.Silence.Period).addDays(paused).in(loc)
	}
	return due, implicit
}

// AddPeriod returns the calendar day p after the calendar day of t in t's location, at midnight there: days add
// calendar days, months add calendar months clamped to the end of a shorter month (2026-01-31 + 1 month =
// 2026-02-28). An invalid p (see Period.Validate) adds nothing.
func AddPeriod(t time.Time, p Period) time.Time {
	if p.Validate() != nil {
		return dayOf(t, t.Location()).in(t.Location())
	}
	return dayOf(t, t.Location()).add(p).in(t.Location())
}

// civil is a calendar day, free of any time zone.
type civil struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time, loc *time.Location) civil {
	y, m, d := t.In(loc).Date()
	return civil{y, m, d}
}

// in returns midnight of the day in loc (midnight exists every day in Europe/Paris: clocks change at 02:00/03:00).
func (c civil) in(loc *time.Location) time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, loc) }

func (c civil) utc() time.Time { return c.in(time.UTC) }

func (c civil) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, int(c.m), c.d) }

func (c civil) addDays(n int) civil {
	y, m, d := time.Date(c.y, c.m, c.d+n, 0, 0, 0, 0, time.UTC).Date()
	return civil{y, m, d}
}

func (c civil) addMonths(n int) civil {
	months := int(c.m) - 1 + n
	y, m := c.y+months/12, time.Month(months%12+1)
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return civil{y, m, min(c.d, last)}
}

func (c civil) add(p Period) civil {
	if p.Unit == Months {
		return c.addMonths(p.Count)
	}
	return c.addDays(p.Count)
}

// daysBetween counts calendar days from a to b (negative if b is before a); UTC midnights make every day 24 h.
func daysBetween(a, b civil) int { return int(b.utc().Sub(a.utc()) / (24 * time.Hour)) }
