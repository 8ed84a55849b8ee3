package member

import (
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/event"
)

// TestFoldsHandleEveryDefinedEvent folds one sample of every event type the package defines: each must be known to
// the fold of its stream (State.Apply for the member stream, Reset.apply for the password reset), so a new event
// type cannot be silently ignored by the aggregate and the accounts projection.
func TestFoldsHandleEveryDefinedEvent(t *testing.T) {
	reg, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	// Streams without a fold: their only event is the fact itself.
	unfolded := map[string]string{TypeClaimed: "the nirclaim stream's only event"}
	for _, def := range Definitions() {
		v, err := reg.Decode(def.Name(), def.Version(), []byte("{}"))
		if err != nil {
			t.Fatalf("%s: %v", def.Name(), err)
		}
		_, member := (State{}).Apply(v, time.Time{})
		reset := (&Reset{}).apply(v, time.Time{})
		_, skip := unfolded[def.Name()]
		if !member && !reset && !skip {
			t.Errorf("no fold handles %s", def.Name())
		}
		if member && reset {
			t.Errorf("%s is folded by both the member and the reset", def.Name())
		}
	}
	if _, ok := (State{}).Apply(struct{}{}, time.Time{}); ok {
		t.Error("State.Apply reports an unknown event as handled")
	}
}

func newRegistry() (*event.Registry, error) { return event.NewRegistry(Definitions()) }
