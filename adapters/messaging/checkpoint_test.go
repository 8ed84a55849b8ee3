package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// A process killed after an Ack and before the checkpoint's next store: the event comes again at the next start,
// and its effect (done through Once) is not repeated.
func TestKillBetweenAckAndStoreRedeliversWithoutRepeatingTheEffect(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		l := startLog(t)
		const name = "test.killed"
		db1 := tg.Open(t)
		migrate(t, db1)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})

		cfg := fastConfig(l, db1)
		cfg.CheckpointInterval = time.Hour // only the head of the feed stores the checkpoint
		router1, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec1 := newRecorder(name, db1)
		if err := router1.AddHandler(name, messaging.Handle(rec1.handle), messaging.CrashOnStop()); err != nil {
			t.Fatal(err)
		}
		ctx, kill := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router1.Run(ctx) }()
		waitCheckpoint(t, db1, name, a.commit.Position) // stored when the feed reached its head

		b := l.appendOne(t, stream, caseNoted{Text: noteOK})
		waitFor(t, "the live event to be handled", func() bool { return effects(t, db1, name, b.eventID) == 1 })
		time.Sleep(100 * time.Millisecond) // its Ack is taken, its store waits for the interval
		if got := checkpoint(t, db1, name); got != a.commit.Position {
			t.Fatalf("checkpoint = %d right after the live event's Ack, want %d (stored every interval, not per event)",
				got, a.commit.Position)
		}
		kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("router did not stop after its context ended")
		}
		_ = router1.Close()
		if got := checkpoint(t, db1, name); got != a.commit.Position {
			t.Fatalf("checkpoint after the kill = %d, want %d", got, a.commit.Position)
		}
		if err := db1.Close(); err != nil {
			t.Fatal(err)
		}

		db2 := tg.Open(t)
		router2, err := messaging.NewRouter(fastConfig(l, db2))
		if err != nil {
			t.Fatal(err)
		}
		rec2 := newRecorder(name, db2)
		if err := router2.AddHandler(name, messaging.Handle(rec2.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router2)
		waitCheckpoint(t, db2, name, b.commit.Position)
		if n := rec2.callsOf(b.eventID); n != 1 {
			t.Errorf("after the restart the killed event was delivered %d times, want 1 (at least once)", n)
		}
		if n := rec2.callsOf(a.eventID); n != 0 {
			t.Errorf("the stored event was delivered again %d times", n)
		}
		if n := effects(t, db2, name, b.eventID); n != 1 {
			t.Errorf("the killed event has %d effects, want exactly 1 (Once finds its key)", n)
		}
	})
}

// A replica that lost its lease may still store the position it acknowledged: it never moves the checkpoint back,
// and the next subscriber resumes after the furthest one.
func TestCheckpointNeverMovesBackwards(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})
		b := l.appendOne(t, stream, caseNoted{Text: noteOK})
		const name = "test.forward"

		sub1, err := messaging.NewSubscriber(messaging.SubscriberConfig{Handler: name, Feed: l.source, DB: db,
			Logger: testLogger(), CheckpointInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		msgs1, err := sub1.Subscribe(ctxT(t), messaging.AllTopic)
		if err != nil {
			t.Fatal(err)
		}
		receive(t, msgs1).Ack()
		receive(t, msgs1).Ack()
		waitCheckpoint(t, db, name, b.commit.Position)
		if err := sub1.Close(); err != nil {
			t.Fatal(err)
		}

		// The first replica, late, stores what it had acknowledged before.
		if err := messaging.StoreCheckpoint(ctxT(t), db, name, a.commit.Position); err != nil {
			t.Fatal(err)
		}
		if got := checkpoint(t, db, name); got != b.commit.Position {
			t.Fatalf("checkpoint after a late store of %d = %d, want it kept at %d", a.commit.Position, got, b.commit.Position)
		}

		c := l.appendOne(t, stream, caseNoted{Text: noteOK})
		sub2, err := messaging.NewSubscriber(messaging.SubscriberConfig{Handler: name, Feed: l.source, DB: db,
			Logger: testLogger(), CheckpointInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer sub2.Close()
		msgs2, err := sub2.Subscribe(ctxT(t), messaging.AllTopic)
		if err != nil {
			t.Fatal(err)
		}
		m := receive(t, msgs2)
		if m.UUID != c.eventID.String() {
			t.Fatalf("second subscriber got %s first, want %s (strictly after the furthest checkpoint)", m.UUID, c.eventID)
		}
		m.Ack()
		waitCheckpoint(t, db, name, c.commit.Position)
	})
}

// A feed that goes quiet (the next message is in flight, nothing else comes) still gets the last Ack stored within
// the interval.
func TestQuietFeedStoresTheCheckpointWithinTheInterval(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})
		l.appendOne(t, stream, caseNoted{Text: noteOK})
		const name = "test.quiet"
		const interval = 200 * time.Millisecond
		sub, err := messaging.NewSubscriber(messaging.SubscriberConfig{Handler: name, Feed: l.source, DB: db,
			Logger: testLogger(), CheckpointInterval: interval})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		msgs, err := sub.Subscribe(ctxT(t), messaging.AllTopic)
		if err != nil {
			t.Fatal(err)
		}
		receive(t, msgs).Ack()
		second := receive(t, msgs) // held: the feed reaches neither its head nor another event
		acked := time.Now()
		waitCheckpoint(t, db, name, a.commit.Position)
		// Generous bound (a loaded machine): what matters is that it comes without another delivery.
		if waited := time.Since(acked); waited > 10*interval {
			t.Errorf("checkpoint stored %v after the Ack, want within about %v", waited, interval)
		}
		second.Ack()
	})
}
