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

// TestEmailAsOf: a mail goes to the email as it stood when its event was committed; later changes do not count,
// position 0 reads the whole history.
func TestEmailAsOf(t *testing.T) {
	history := []event.Envelope{
		{Position: 10, Event: Registered{Email: "first@example.test"}},
		{Position: 20, Event: EmailChanged{Email: "second@example.test"}},
		{Position: 30, Event: EmailChanged{Email: "third@example.test"}},
	}
	for _, c := range []struct {
		pos  uint64
		want string
	}{
		{10, "first@example.test"},
		{15, "first@example.test"},
		{20, "second@example.test"},
		{29, "second@example.test"},
		{30, "third@example.test"},
		{0, "third@example.test"},
		{99, "third@example.test"},
	} {
		if got := EmailAsOf(history, c.pos); got != c.want {
			t.Errorf("EmailAsOf(%d) = %q, want %q", c.pos, got, c.want)
		}
	}
	if got := EmailAsOf(nil, 10); got != "" {
		t.Errorf("no history: %q", got)
	}
}
