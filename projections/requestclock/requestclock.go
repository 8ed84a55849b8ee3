// Package requestclock keeps, in a read-model row, what a service request's legal clock needs (the deadlines of
// its acknowledgement and the instants of the events servicerequest.Clock reads), so that projections recompute the
// dates with servicerequest.Clock itself rather than a second copy of its calendar rules.
package requestclock

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // the acknowledgement's time zone (Europe/Paris) must resolve on a host without a zoneinfo database

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// State is what a row keeps of its request's history to recompute the legal clock: the deadlines the
// acknowledgement recorded and the instants of the events servicerequest.Clock reads (receipt, pauses, closure).
// The dates are then servicerequest.Clock's own, never a second implementation of its calendar rules.
type State struct {
	TimeZone string         `json:"time_zone,omitempty"`
	Silence  sr.SilenceRule `json:"silence"`
	Handling sr.Period      `json:"handling_time"`
	Events   []Event        `json:"events"`
}

// Event is one event the clock reads, reduced to its type, instant and (for Closed) reason.
type Event struct {
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Add records e if the clock reads it, and its deadlines if it is the acknowledgement.
func (s *State) Add(e event.Envelope) {
	at := e.Metadata.OccurredAt.UTC()
	switch ev := e.Event.(type) {
	case sr.Acknowledged:
		s.TimeZone, s.Silence, s.Handling = ev.TimeZone, ev.Silence, ev.HandlingTime
	case sr.Submitted, sr.InformationRequested, sr.InformationReceived, sr.InformationDeadlineLapsed:
		s.Events = append(s.Events, Event{Type: e.Type, At: at})
	case sr.Closed:
		s.Events = append(s.Events, Event{Type: e.Type, At: at, Reason: ev.Reason})
	}
}

// Acknowledged reports whether the deadlines are known (the acknowledgement was applied).
func (s *State) Acknowledged() bool { return s.TimeZone != "" }

// Clock runs servicerequest.Clock over the recorded events.
func (s *State) Clock() (sr.LegalClock, *time.Location, error) {
	loc, err := Location(s.TimeZone)
	if err != nil {
		return sr.LegalClock{}, nil, err
	}
	history := make([]event.Envelope, 0, len(s.Events))
	for _, ce := range s.Events {
		var v any
		switch ce.Type {
		case sr.TypeSubmitted:
			v = sr.Submitted{}
		case sr.TypeInformationRequested:
			v = sr.InformationRequested{}
		case sr.TypeInformationReceived:
			v = sr.InformationReceived{}
		case sr.TypeInformationDeadlineLapsed:
			v = sr.InformationDeadlineLapsed{}
		case sr.TypeClosed:
			v = sr.Closed{Reason: ce.Reason}
		default:
			continue
		}
		history = append(history, event.Envelope{Type: ce.Type, Event: v, Metadata: event.Metadata{OccurredAt: ce.At}})
	}
	c, err := sr.Clock(history, sr.Deadlines{Silence: s.Silence, HandlingTime: s.Handling}, loc)
	return c, loc, err
}

// AsOf runs servicerequest.Clock over the recorded events and returns the clock as it stands on the day of now
// (LegalClock.AsOf): while information is awaited, the dates follow the clock as if the pieces came that day.
// This is what a read shows; rows keep the dates the pauses already over give (for ordering).
func (s *State) AsOf(now time.Time) (sr.LegalClock, error) {
	c, _, err := s.Clock()
	if err != nil {
		return sr.LegalClock{}, err
	}
	return c.AsOf(now), nil
}

// Marshal encodes the state for a TEXT column.
func (s *State) Marshal() (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// Unmarshal decodes a state written by Marshal ("" is the empty state).
func Unmarshal(text string) (State, error) {
	var s State
	if text == "" {
		return s, nil
	}
	err := json.Unmarshal([]byte(text), &s)
	return s, err
}

var locations sync.Map // name → *time.Location

// Location loads a time zone once.
func Location(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	locations.Store(name, loc)
	return loc, nil
}

// Day formats a calendar day (midnight in its location) as YYYY-MM-DD, and the zero time (no such day: the
// implicit-decision day of a rule without implicit decision) as "".
func Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// ParseDay returns midnight of a YYYY-MM-DD day in loc.
func ParseDay(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation(time.DateOnly, s, loc)
}
