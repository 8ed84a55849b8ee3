package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A read-model database built from a longer log than the one serve is pointed at (a fresh event store beside an
// old database) is refused at start with a sentence that says what to do, instead of a server whose reactions
// wait forever for positions the log does not hold.
func TestServeRefusesReadModelsAheadOfTheEventStore(t *testing.T) {
	dir := t.TempDir()
	cfg := embeddedConfig(t, dir, "events")
	a, err := newApp(testCtx(t), &cfg, testLogger())
	if err != nil {
		t.Fatalf("a fresh pair: %v", err)
	}
	head, err := a.stores.Events.Head(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	// A reaction of this database saw the log up to a position beyond its end.
	db := a.stores.DB
	if _, err := db.ExecContext(testCtx(t), db.Rebind("INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)"),
		"mail.activation-code", int64(head)+1000, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	a.stores.Close()

	for _, events := range []string{"events", "other-events"} {
		cfg := embeddedConfig(t, dir, events)
		a, err := newApp(testCtx(t), &cfg, testLogger())
		if err == nil {
			a.stores.Close()
			t.Fatalf("%s: serve started on read models ahead of the log", events)
		}
		var unpaired *errUnpaired
		if !errors.As(err, &unpaired) || unpaired.Consumer != "reaction mail.activation-code" ||
			unpaired.Position != head+1000 || !strings.Contains(err.Error(), "belongs together") {
			t.Errorf("%s: error %v, want errUnpaired naming the reaction and what to do", events, err)
		}
	}
}

// unreachableHeadFake stands for an event store that does not answer at start.
type unreachableHeadFake struct{}

func (unreachableHeadFake) Head(context.Context) (uint64, error) {
	return 0, errors.New("connection refused")
}

func TestPairingIsNotCheckedWhileTheEventStoreIsDown(t *testing.T) {
	cfg := embeddedConfig(t, t.TempDir(), "events")
	a, err := newApp(testCtx(t), &cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.stores.Close()
	db := a.stores.DB
	if _, err := db.ExecContext(testCtx(t), db.Rebind("INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)"),
		"mail.activation-code", int64(1<<40), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if err := checkPairing(testCtx(t), db, unreachableHeadFake{}, testLogger()); err != nil {
		t.Errorf("the event store is down at start: %v, want a warning and a start (a replica rides out outages)", err)
	}
}
