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

// Incomplete is how a request for missing information or pieces (CRPA L114-5) acts on a request's periods. Its
// values are derived from the silence rule (see Outcome.Incomplete), never stored.
type Incomplete string

// The two rules of L114-5.
const (
	// Restart: where silence means acceptance, the period only starts when the requested pieces are received. The
	// whole period (and the fund's handling target with it) runs again from the day of that receipt.
	Restart Incomplete = "restart"
	// Suspend: where silence means rejection (and for a request on which silence decides nothing), the period is
	// suspended for the time actually used to produce the pieces: from the request to their receipt (earlier than
	// the deadline granted when they come early), or to the lapse of that deadline.
	Suspend Incomplete = "suspend"
)

// Incomplete returns the L114-5 rule of a request whose silence means o: Restart for acceptance, Suspend
// otherwise.
func (o Outcome) Incomplete() Incomplete {
	if o == Acceptance {
		return Restart
	}
	return Suspend
}

// EndOfDay returns the instant the calendar day of t (in t's location) ends: 00:00 of the next day there. It is the
// one definition of when a deadline counted in days passes: an implicit decision is acquired at the end of the last
// day of silence, EndOfDay(ImplicitDecisionOn); the handling target is missed at EndOfDay(DueOn). The API's
// implicit_decision_at and handling_due_at, the mails ("à la fin de la journée du …") and the projections all use
// it. The zero time stays zero.
func EndOfDay(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return dayOf(t, t.Location()).addDays(1).in(t.Location())
}

// LegalClock is the legal clock of one request, a pure projection of its events (see Clock).
//
// Days and instants. ReceivedAt and PausedSince are instants. DueOn and ImplicitDecisionOn are calendar days,
// given as midnight (00:00) of that day in the clock's location: the last day of the period. The implicit decision
// is acquired when that day ends, so a decision dated that day is still express: the instants are DueAt() and
// ImplicitDecisionAt() (see EndOfDay). Pauses count whole calendar days (see Clock).
type LegalClock struct {
	// ReceivedAt is the instant of receipt (the OccurredAt of Submitted); zero when the history holds no request.
	ReceivedAt time.Time
	// Deadlines are the periods the clock runs (the catalog's, as the acknowledgement recorded them).
	Deadlines Deadlines
	// Incomplete is how a request for pieces acts on the periods (L114-5): Restart under acceptance, else Suspend.
	Incomplete Incomplete
	// StartsOn is the day the periods run from: the receipt day, or under Restart the day the last pieces asked for
	// were received. Midnight in the clock's location.
	StartsOn time.Time
	// DueOn is the last day of the handling target: StartsOn + handling time (+ paused days under Suspend).
	DueOn time.Time
	// ImplicitDecisionOn is the last day of silence: StartsOn + silence period (+ paused days under Suspend); the
	// implicit decision is acquired when it ends. While Paused it is as the pauses over leave it (use AsOf for the
	// dates as of today). Once Closed it is the day that would have been: no implicit decision arises from a closed
	// case. It is zero when the rule gives no implicit decision (Outcome NoImplicitDecision).
	ImplicitDecisionOn time.Time
	// Outcome is what silence means once ImplicitDecisionOn has ended; NoImplicitDecision when silence decides
	// nothing (see Outcome.ImplicitDecision).
	Outcome Outcome
	// Paused is true while information is awaited (InformationRequested without answer, lapse or closure since).
	Paused bool
	// PausedSince is the instant the current pause began; zero unless Paused.
	PausedSince time.Time
	// PausedDays is the total of the pauses that are over, in calendar days. Under Suspend it is what moved the two
	// dates; under Restart the dates run from StartsOn instead and it only counts.
	PausedDays int
	// Closed is true once the case is closed (decided, withdrawn or lapsed); ClosedAt and CloseReason say when
	// and why.
	Closed      bool
	ClosedAt    time.Time
	CloseReason string
}

// DueAt is the instant the handling target is missed: the end of DueOn (EndOfDay).
func (c LegalClock) DueAt() time.Time { return EndOfDay(c.DueOn) }

// ImplicitDecisionAt is the instant silence becomes a decision: the end of ImplicitDecisionOn (EndOfDay); zero
// when the rule gives none.
func (c LegalClock) ImplicitDecisionAt() time.Time { return EndOfDay(c.ImplicitDecisionOn) }

// Clock projects a request's history onto its legal clock, with the deadlines d of the catalog version it was
// submitted under (Acknowledged records them; ServiceRequest.Deadlines returns them) and the calendar of loc
// (Europe/Paris in production). It is pure: no time but the events', no state but the history.
//
// The rules, in order:
//   - the receipt day is the calendar day, in loc, of the Submitted event's instant: a request sent on
//     31 January at 23:30 UTC is received on 1 February in Paris. The time of day plays no other part.
//   - the silence period runs from the receipt day: ImplicitDecisionOn = receipt day + period, the last day of
//     silence (the decision is acquired when it ends: ImplicitDecisionAt). Days add calendar days; months add
//     calendar months and clamp to the last day of a shorter month (31 January + 1 month = 28 February, or 29 in a
//     leap year; 31 January + 2 months = 31 March). A rule without implicit decision (NoImplicitDecision) gives no
//     such day: ImplicitDecisionOn stays zero, and only DueOn runs.
//   - information requested (InformationRequested until InformationReceived, CRPA L114-5) acts by the rule of the
//     silence (Outcome.Incomplete):
//     Suspend (rejection, and no implicit decision): the clock stops for the time actually used. A pause lasts the
//     number of calendar days, in loc, between the day it began and the day it ended: requested on the 10th and
//     answered on the 20th is 10 days; answered the same day is 0. The pauses add up, and their total is added, in
//     days, after the period: a pause moves both dates by its length.
//     Restart (acceptance): the periods only start when the pieces are received: both dates run again, whole, from
//     the day of the last InformationReceived (StartsOn). Requested on the 10th and answered on the 20th: the
//     20th + the whole period.
//   - a second InformationRequested during a pause changes nothing (the aggregate refuses it anyway);
//     InformationDeadlineLapsed or Closed end a running pause at their own instant (pieces that never came restart
//     nothing), and Closed stops the clock.
//
// Events of unknown types are ignored. A history without Submitted gives the zero LegalClock.
func Clock(history []event.Envelope, d Deadlines, loc *time.Location) (LegalClock, error) {
	if loc == nil {
		return LegalClock{}, fmt.Errorf("servicerequest.Clock: no location")
	}
	if err := d.Validate(); err != nil {
		return LegalClock{}, fmt.Errorf("servicerequest.Clock: %w", err)
	}
	c := LegalClock{Deadlines: d, Incomplete: d.Silence.Outcome.Incomplete()}
	received := false
	var start civil
	for _, env := range history {
		at := env.Metadata.OccurredAt
		switch env.Event.(type) {
		case Submitted:
			if !received {
				received, c.ReceivedAt = true, at
				start = dayOf(at, loc)
			}
		case InformationRequested:
			if received && !c.Closed && !c.Paused {
				c.Paused, c.PausedSince = true, at
			}
		case InformationReceived:
			if c.Paused && c.Incomplete == Restart {
				start = dayOf(at, loc)
			}
			c.resume(at, loc)
		case InformationDeadlineLapsed:
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
	c.StartsOn = start.in(loc)
	c.DueOn, c.ImplicitDecisionOn = dates(start, c.suspended(), d, loc)
	return c, nil
}

// suspended is the number of days the pauses over add to the periods: PausedDays under Suspend, none under
// Restart (the periods run from StartsOn instead).
func (c LegalClock) suspended() int {
	if c.Incomplete == Restart {
		return 0
	}
	return c.PausedDays
}

// resume ends a running pause at the instant at.
func (c *LegalClock) resume(at time.Time, loc *time.Location) {
	if !c.Paused {
		return
	}
	c.PausedDays += daysBetween(dayOf(c.PausedSince, loc), dayOf(at, loc))
	c.Paused, c.PausedSince = false, time.Time{}
}

// AsOf returns the clock as it stands on the day of now: while paused, as if the pieces asked for arrived that day
// (under Suspend the running pause counts until then and keeps counting after; under Restart the periods run
// again from that day). Without a pause it returns c. The zero LegalClock stays zero.
func (c LegalClock) AsOf(now time.Time) LegalClock {
	if !c.Paused || c.ReceivedAt.IsZero() || c.DueOn.IsZero() {
		return c
	}
	loc := c.DueOn.Location()
	today := dayOf(now, loc)
	since := dayOf(c.PausedSince, loc)
	if daysBetween(since, today) < 0 {
		today = since
	}
	if c.Incomplete == Restart {
		c.StartsOn = today.in(loc)
		c.DueOn, c.ImplicitDecisionOn = dates(today, 0, c.Deadlines, loc)
		return c
	}
	n := daysBetween(since, today)
	c.DueOn = dayOf(c.DueOn, loc).addDays(n).in(loc)
	if !c.ImplicitDecisionOn.IsZero() {
		c.ImplicitDecisionOn = dayOf(c.ImplicitDecisionOn, loc).addDays(n).in(loc)
	}
	return c
}

// Projected returns the last day of the handling target and of silence as they stand on the day of now (see AsOf).
// A zero date (no implicit decision, or the zero LegalClock) stays zero.
func (c LegalClock) Projected(now time.Time) (due, implicit time.Time) {
	p := c.AsOf(now)
	return p.DueOn, p.ImplicitDecisionOn
}

// dates returns the last day of the handling target and of silence for periods running from the day start, after
// paused days of suspension; implicit is zero when the rule gives no implicit decision.
func dates(start civil, paused int, d Deadlines, loc *time.Location) (due, implicit time.Time) {
	due = start.add(d.HandlingTime).addDays(paused).in(loc)
	if d.Silence.Outcome.ImplicitDecision() {
		implicit = start.add(d.Silence.Period).addDays(paused).in(loc)
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

// AppealPeriod is the time to seize the commission de recours amiable (CRA) against a decision of the fund: 2 months
// from its notification (code de la sécurité sociale R142-1), counted like the other periods.
var AppealPeriod = Period{Count: 2, Unit: Months}

// AppealDeadline returns the last day (midnight in loc) to seize the CRA against a decision notified at notified;
// the time runs out at its end (EndOfDay). What "notified" means is the caller's: today the decision's own instant,
// since a decision is shown in the member's space the moment it is taken.
func AppealDeadline(notified time.Time, loc *time.Location) time.Time {
	return AddPeriod(notified.In(loc), AppealPeriod)
}
