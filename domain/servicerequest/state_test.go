package servicerequest_test

import (
	"testing"

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// TestFoldHandlesEveryDefinedEvent folds one sample of every event type the package defines: State.Apply, the one
// fold of the service request events, must know each of them. A new event type without its case in Apply fails
// here, before a projection or the aggregate silently ignores it.
func TestFoldHandlesEveryDefinedEvent(t *testing.T) {
	reg, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range sr.Definitions() {
		v, err := reg.Decode(def.Name(), def.Version(), []byte("{}"))
		if err != nil {
			t.Fatalf("%s: %v", def.Name(), err)
		}
		if _, ok := (sr.State{}).Apply(v); !ok {
			t.Errorf("State.Apply does not handle %s", def.Name())
		}
	}
	if _, ok := (sr.State{}).Apply(struct{}{}); ok {
		t.Error("State.Apply reports an unknown event as handled")
	}
}

// TestStatusFollowsTheFold: the status of each step of a case, from the fold alone.
func TestStatusFollowsTheFold(t *testing.T) {
	steps := []struct {
		e    any
		want sr.Status
	}{
		{sr.Submitted{MemberID: memberID}, sr.StatusNone},
		{sr.Acknowledged{Reference: reference}, sr.StatusNone},
		{sr.Queued{Queue: "sante"}, sr.StatusQueued},
		{sr.Claimed{Caseworker: worker}, sr.StatusClaimed},
		{sr.Released{Caseworker: worker}, sr.StatusQueued},
		{sr.Reassigned{Supervisor: supervisor, To: worker2}, sr.StatusClaimed},
		{sr.InformationRequested{Caseworker: worker2, Items: []string{"RIB"}}, sr.StatusAwaitingInformation},
		{sr.InformationReceived{What: "RIB"}, sr.StatusClaimed},
		{sr.NoteAdded{Author: worker2, Text: "ok"}, sr.StatusClaimed},
		{sr.Decided{Caseworker: worker2, Decision: sr.Approved}, sr.StatusClaimed},
		{sr.Closed{Reason: sr.CloseDecided}, sr.StatusClosed},
	}
	var s sr.State
	for i, step := range steps {
		s, _ = s.Apply(step.e)
		if got := s.Status(); got != step.want {
			t.Fatalf("step %d (%T): status %q, want %q", i, step.e, got, step.want)
		}
	}
	if s.Assignee != worker2 || !s.TakenUp || s.Notes != 1 || !s.Decided || s.CloseReason != sr.CloseDecided {
		t.Fatalf("state %+v", s)
	}
}
