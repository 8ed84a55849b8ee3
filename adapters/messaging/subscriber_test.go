package messaging_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/failure"
)

func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message after 10s")
	}
	return nil
}

func TestSubscriberWaitsForAckRedeliversOnNackAndCheckpointsOnAck(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})
		b := l.appendOne(t, stream, caseNoted{Text: noteOK})

		const name = "test.subscriber"
		sub, err := messaging.NewSubscriber(messaging.SubscriberConfig{
			Handler: name, Feed: l.source, DB: db, Logger: testLogger(), Backoff: 5 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Subscribe(ctxT(t), "members"); !errors.Is(err, messaging.ErrUnknownTopic) {
			t.Errorf("Subscribe(members) = %v, want ErrUnknownTopic", err)
		}
		msgs, err := sub.Subscribe(ctxT(t), messaging.AllTopic)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Subscribe(ctxT(t), messaging.AllTopic); !errors.Is(err, messaging.ErrAlreadySubscribed) {
			t.Errorf("second Subscribe = %v, want ErrAlreadySubscribed", err)
		}

		first := receive(t, msgs)
		if first.UUID != a.eventID.String() || first.Metadata.Get(messaging.MetaDelivery) != "1" {
			t.Fatalf("first message %s (delivery %s), want event %s delivery 1", first.UUID, first.Metadata.Get(messaging.MetaDelivery), a.eventID)
		}
		select {
		case m := <-msgs:
			t.Fatalf("message %s sent before the first was settled", m.UUID)
		case <-time.After(100 * time.Millisecond):
		}
		if _, found, err := messaging.Checkpoint(ctxT(t), db, name); err != nil || found {
			t.Fatalf("checkpoint before any Ack: found %v, %v", found, err)
		}

		first.Nack()
		again := receive(t, msgs)
		if again.UUID != a.eventID.String() || again.Metadata.Get(messaging.MetaDelivery) != "2" {
			t.Fatalf("after Nack got %s (delivery %s), want event %s again, delivery 2", again.UUID, again.Metadata.Get(messaging.MetaDelivery), a.eventID)
		}
		if first.Context().Err() == nil {
			t.Error("the context of a Nacked message is still alive")
		}
		again.Ack()

		second := receive(t, msgs)
		if second.UUID != b.eventID.String() {
			t.Fatalf("after Ack got %s, want the next event %s", second.UUID, b.eventID)
		}
		// The Ack is stored within CheckpointInterval, not before the next message.
		waitCheckpoint(t, db, name, a.commit.Position)
		if got := checkpoint(t, db, name); got != a.commit.Position {
			t.Errorf("checkpoint while the next message is in flight = %d, want %d", got, a.commit.Position)
		}
		rec, err := messaging.RecordOf(second)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Stream != stream.String() || rec.Revision != 1 || rec.Position != b.commit.Position || rec.EventID != b.eventID ||
			rec.Type != "TestCaseNoted" || string(rec.Data) != `{"text":"ok"}` || len(rec.Metadata) == 0 || rec.RecordedAt.IsZero() {
			t.Errorf("RecordOf = %+v", rec)
		}
		second.Ack()
		waitCheckpoint(t, db, name, b.commit.Position)

		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case _, ok := <-msgs:
			if ok {
				t.Error("a message came after Close")
			}
		case <-time.After(5 * time.Second):
			t.Error("channel not closed by Close")
		}
		if _, err := sub.Subscribe(ctxT(t), messaging.AllTopic); !errors.Is(err, messaging.ErrClosed) {
			t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
		}
	})
}

func TestUndecodableEventGoesStraightToPoison(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		future := l.appendWith(t, l.newer, stream, caseArchived{Reason: "done"})
		next := l.appendOne(t, newStream(), caseNoted{Text: noteOK}) // the stream above no longer loads with the old registry

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.undecodable", db)
		var (
			mu          sync.Mutex
			decodeError string
		)
		if err := router.AddHandler(rec.name, func(msg *message.Message) error {
			if msg.UUID == future.eventID.String() {
				mu.Lock()
				decodeError = msg.Metadata.Get(messaging.MetaDecodeError)
				mu.Unlock()
			}
			return messaging.Handle(rec.handle)(msg)
		}); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, next.commit.Position)

		list, err := messaging.List(ctxT(t), db, messaging.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].EventID != future.eventID.String() || list[0].EventType != "TestCaseArchived" ||
			list[0].Kind != "invalid" || list[0].Code != "reactions.undecodable_event" || list[0].Attempts != 1 {
			t.Errorf("poison = %+v, want the undecodable event, Invalid, not retried", list)
		}
		mu.Lock()
		defer mu.Unlock()
		if decodeError == "" {
			t.Error("metadata decode_error not set on the undecodable event's message")
		}
		if n := effects(t, db, rec.name, next.eventID); n != 1 {
			t.Errorf("next event: %d effects, want 1", n)
		}
	})
}

func TestEnvelopeOfAMessageNotDelivered(t *testing.T) {
	_, err := messaging.Envelope(message.NewMessage("x", nil))
	if !errors.Is(err, messaging.ErrNotDelivered) {
		t.Errorf("Envelope = %v, want ErrNotDelivered", err)
	}
	if _, err := messaging.RecordOf(message.NewMessage("x", nil)); failure.KindOf(err) != failure.Invalid {
		t.Errorf("RecordOf(empty) = %v, want an Invalid error", err)
	}
}
