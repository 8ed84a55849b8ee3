// Package whatif replays the service requests submitted in a past period under another catalogue version (handling
// times, silence rules, queues) and says which cases would have gone otherwise: their handling target day, their
// implicit-decision day, their queue, or whether they missed their target (as of their closure, or as of now while
// open). It is `dossier audit what-if` (issue 16, item 5).
//
// There is no second implementation of the rules: a case's state is the one fold (servicerequest.State), its dates
// are the one legal clock (servicerequest.Clock over the case's own events, with LegalClock.AsOf for a running
// pause), and what a catalogue version would have recorded for a service is what a submission records
// (command.RequestService). Only the deadlines and the queue given to the clock change. Nothing is written: the
// package reads histories and returns a report.
package whatif

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // the acknowledgement's time zone must resolve on a host without a zoneinfo database

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// What differs, as named in Difference.Changed and counted in Total.
const (
	ChangedDueOn            = "due_on"
	ChangedImplicitDecision = "implicit_decision_on"
	ChangedQueue            = "queue"
	ChangedBreach           = "breach"
)

// Period is the receipt instants replayed: from From (included) to To (excluded).
type Period struct {
	From, To time.Time
}

// Check refuses a period that ends before it starts or starts after now.
func (p Period) Check(now time.Time) error {
	var errs []error
	if p.From.IsZero() || p.To.IsZero() {
		errs = append(errs, errors.New("the period needs a start and an end"))
	}
	if !p.To.After(p.From) {
		errs = append(errs, fmt.Errorf("the period starts (%s) after it ends (%s)", p.From.Format(time.RFC3339),
			p.To.Format(time.RFC3339)))
	}
	if p.From.After(now) {
		errs = append(errs, fmt.Errorf("the period starts in the future (%s; now %s)", p.From.Format(time.RFC3339),
			now.Format(time.RFC3339)))
	}
	if p.To.After(now.Add(24 * time.Hour)) {
		errs = append(errs, fmt.Errorf("the period ends in the future (%s; now %s)", p.To.Format(time.RFC3339),
			now.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Histories gathers, from a feed of the global log in commit order, the histories of the requests received in the
// period: a request stream is kept from its Submitted on when that instant falls in the period (Submitted opens
// every request stream), and ignored otherwise.
type Histories struct {
	period Period
	byID   map[uuid.UUID]*[]event.Envelope
	order  []uuid.UUID
	other  map[uuid.UUID]bool
	// Undecodable counts request events the codec could not open (they are left out; the report says how many).
	Undecodable int
}

// NewHistories returns an empty gatherer for the period.
func NewHistories(p Period) *Histories {
	return &Histories{period: p, byID: map[uuid.UUID]*[]event.Envelope{}, other: map[uuid.UUID]bool{}}
}

// Add takes one decoded event of the log (events of other streams are ignored).
func (h *Histories) Add(env event.Envelope) {
	if env.Stream.Category != sr.Category {
		return
	}
	id := env.Stream.ID
	if hist, ok := h.byID[id]; ok {
		*hist = append(*hist, env)
		return
	}
	if h.other[id] {
		return
	}
	if _, ok := env.Event.(sr.Submitted); !ok {
		h.other[id] = true // a stream whose opening we did not see in the period
		return
	}
	at := env.Metadata.OccurredAt
	if at.Before(h.period.From) || !at.Before(h.period.To) {
		h.other[id] = true
		return
	}
	hist := []event.Envelope{env}
	h.byID[id] = &hist
	h.order = append(h.order, id)
}

// Cases returns the gathered histories, in the order their requests were received.
func (h *Histories) Cases() []Case {
	out := make([]Case, 0, len(h.order))
	for _, id := range h.order {
		out = append(out, Case{ID: id, History: *h.byID[id]})
	}
	return out
}

// Case is one request's history as the store holds it.
type Case struct {
	ID      uuid.UUID
	History []event.Envelope
}

// Outcome is how a case goes under one catalogue version: its queue and the two days of its legal clock (calendar
// days, YYYY-MM-DD in the acknowledgement's time zone; the implicit-decision day is empty when silence decides
// nothing), and whether the handling target was missed.
type Outcome struct {
	CatalogVersion     string `json:"catalog_version"`
	Queue              string `json:"queue"`
	HandlingDays       int    `json:"handling_days"`
	Silence            string `json:"silence"` // "acceptance after 2 months", "none"
	DueOn              string `json:"due_on"`
	ImplicitDecisionOn string `json:"implicit_decision_on,omitempty"`
	Breached           bool   `json:"breached"`
}

// Difference is a case that would have gone otherwise. It names the case by its id and public reference, never its
// member nor its content.
type Difference struct {
	RequestID  uuid.UUID  `json:"request_id"`
	Reference  string     `json:"reference"`
	Service    string     `json:"service"`
	ReceivedAt time.Time  `json:"received_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Was        Outcome    `json:"was"`
	WouldBe    Outcome    `json:"would_be"`
	Changed    []string   `json:"changed"`
}

// Skipped is a case the what-if cannot replay: its service is not a request service of the what-if catalogue, or
// its acknowledgement is missing.
type Skipped struct {
	RequestID uuid.UUID `json:"request_id"`
	Service   string    `json:"service"`
	Reason    string    `json:"reason"`
}

// Total counts, for one service or one queue (the queue the case was in), the cases replayed and those that differ,
// in all and by what differs.
type Total struct {
	Key      string `json:"key"`
	Cases    int    `json:"cases"`
	Differ   int    `json:"differ"`
	DueOn    int    `json:"due_on"`
	Implicit int    `json:"implicit_decision_on"`
	Queue    int    `json:"queue"`
	Breach   int    `json:"breach"`
}

// Report is a what-if replay.
type Report struct {
	Catalog     string       `json:"catalog_version"`
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	AsOf        time.Time    `json:"as_of"`
	Cases       int          `json:"cases"`
	Differ      int          `json:"differ"`
	All         Total        `json:"totals"`
	ByService   []Total      `json:"by_service"`
	ByQueue     []Total      `json:"by_queue"`
	Differences []Difference `json:"differences"`
	Skipped     []Skipped    `json:"skipped,omitempty"`
	Undecodable int          `json:"undecodable_events,omitempty"`
}

// Replay runs every case under its recorded deadlines and queue, then under those alt would have recorded, as of
// now, and reports the cases that differ.
func Replay(alt *catalog.Catalog, p Period, now time.Time, cases []Case) (*Report, error) {
	rep := &Report{Catalog: alt.Version(), From: p.From, To: p.To, AsOf: now, All: Total{Key: "all"},
		Differences: []Difference{}}
	byService, byQueue := map[string]*Total{}, map[string]*Total{}
	count := func(m map[string]*Total, key string, changed []string) {
		t := m[key]
		if t == nil {
			t = &Total{Key: key}
			m[key] = t
		}
		t.add(changed)
	}
	for _, c := range cases {
		st := sr.Fold(c.History)
		if !st.Submitted || st.TimeZone == "" {
			rep.Skipped = append(rep.Skipped, Skipped{RequestID: c.ID, Service: st.ServiceCode, Reason: "no acknowledgement of receipt"})
			continue
		}
		svc, err := command.RequestService(alt, st.ServiceCode)
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skipped{RequestID: c.ID, Service: st.ServiceCode,
				Reason: "not a request service of catalogue " + alt.Version() + ": " + err.Error()})
			continue
		}
		loc, err := time.LoadLocation(st.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("whatif: request %s: %w", c.ID, err)
		}
		was, wasClock, err := outcome(c.History, st.CatalogVersion, st.Queue, st.Deadlines, loc, now)
		if err != nil {
			return nil, fmt.Errorf("whatif: request %s as recorded: %w", c.ID, err)
		}
		would, _, err := outcome(c.History, alt.Version(), svc.Queue, svc.Deadlines, loc, now)
		if err != nil {
			return nil, fmt.Errorf("whatif: request %s under %s: %w", c.ID, alt.Version(), err)
		}
		changed := compare(was, would)
		rep.Cases++
		count(byService, st.ServiceCode, changed)
		count(byQueue, st.Queue, changed)
		rep.All.add(changed)
		if len(changed) == 0 {
			continue
		}
		d := Difference{RequestID: c.ID, Reference: st.Reference, Service: st.ServiceCode, ReceivedAt: wasClock.ReceivedAt.UTC(),
			Was: was, WouldBe: would, Changed: changed}
		if wasClock.Closed {
			at := wasClock.ClosedAt.UTC()
			d.ClosedAt = &at
		}
		rep.Differences = append(rep.Differences, d)
	}
	rep.Differ = rep.All.Differ
	rep.ByService, rep.ByQueue = sorted(byService), sorted(byQueue)
	sort.SliceStable(rep.Differences, func(i, j int) bool {
		a, b := rep.Differences[i], rep.Differences[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.ReceivedAt.Before(b.ReceivedAt)
	})
	return rep, nil
}

// outcome is the case under deadlines d and queue: servicerequest.Clock over its own events, and whether its target
// was missed — at its closure for a closed case (closed after the end of its target day), as of now for an open one
// (now past the end of the target day as the clock stands today, LegalClock.AsOf: a running pause moves it).
func outcome(history []event.Envelope, version, queue string, d sr.Deadlines, loc *time.Location, now time.Time) (
	Outcome, sr.LegalClock, error) {
	c, err := sr.Clock(history, d, loc)
	if err != nil {
		return Outcome{}, c, err
	}
	o := Outcome{CatalogVersion: version, Queue: queue, HandlingDays: d.HandlingTime.Count, Silence: silence(d.Silence),
		DueOn: day(c.DueOn), ImplicitDecisionOn: day(c.ImplicitDecisionOn)}
	if c.Closed {
		o.Breached = !c.ClosedAt.Before(c.DueAt())
	} else {
		o.Breached = !now.Before(c.AsOf(now).DueAt())
	}
	return o, c, nil
}

func compare(was, would Outcome) []string {
	var changed []string
	if was.DueOn != would.DueOn {
		changed = append(changed, ChangedDueOn)
	}
	if was.ImplicitDecisionOn != would.ImplicitDecisionOn {
		changed = append(changed, ChangedImplicitDecision)
	}
	if was.Queue != would.Queue {
		changed = append(changed, ChangedQueue)
	}
	if was.Breached != would.Breached {
		changed = append(changed, ChangedBreach)
	}
	return changed
}

func (t *Total) add(changed []string) {
	t.Cases++
	if len(changed) > 0 {
		t.Differ++
	}
	for _, c := range changed {
		switch c {
		case ChangedDueOn:
			t.DueOn++
		case ChangedImplicitDecision:
			t.Implicit++
		case ChangedQueue:
			t.Queue++
		case ChangedBreach:
			t.Breach++
		}
	}
}

func sorted(m map[string]*Total) []Total {
	out := make([]Total, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}

func silence(r sr.SilenceRule) string {
	if !r.Outcome.ImplicitDecision() {
		return string(r.Outcome)
	}
	return fmt.Sprintf("%s after %d %s", r.Outcome, r.Period.Count, r.Period.Unit)
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// Blind is the event.Sealer of a what-if replay: it opens no personal data (every sealed field reads as erased) and
// seals none. The replay needs the cases' services, instants and decisions, never what the members wrote, so it runs
// without the key store and decrypts nothing.
type Blind struct{}

// Seal refuses: a what-if writes nothing.
func (Blind) Seal(uuid.UUID, []byte, []byte) ([]byte, error) {
	return nil, errors.New("whatif: a what-if replay seals nothing")
}

// Open reads every subject as erased.
func (Blind) Open(uuid.UUID, []byte, []byte) ([]byte, error) { return nil, event.ErrErased }
