package messaging_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

func TestOnceRunsADatabaseEffectOncePerHandlerAndEvent(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		migrate(t, db)
		id := uuid.New()
		insert := func(handler string) func(tx *sqldb.Tx) error {
			return func(tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO test_effect (handler, event_id, position) VALUES (?, ?, 7)`), handler, id.String())
				return err
			}
		}

		// A failing effect rolls back with its key: the next try runs it.
		boom := errors.New("boom")
		ran, err := messaging.Once(ctx, db, "test.once", id, func(tx *sqldb.Tx) error {
			if err := insert("test.once")(tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ran {
			t.Fatalf("failing Once = %v, %v; want boom, not ran", ran, err)
		}
		if done, err := messaging.Processed(ctx, db, "test.once", id); err != nil || done {
			t.Fatalf("key recorded after a failed effect: %v, %v", done, err)
		}
		if n := effects(t, db, "test.once", id); n != 0 {
			t.Fatalf("failed effect left %d rows", n)
		}

		for i, want := range []bool{true, false, false} {
			ran, err := messaging.Once(ctx, db, "test.once", id, insert("test.once"))
			if err != nil || ran != want {
				t.Fatalf("call %d: ran %v, %v; want %v", i, ran, err, want)
			}
		}
		if n := effects(t, db, "test.once", id); n != 1 {
			t.Errorf("%d effects, want 1", n)
		}
		// Another handler has its own key for the same event.
		if ran, err := messaging.Once(ctx, db, "test.other", id, insert("test.other")); err != nil || !ran {
			t.Errorf("other handler: ran %v, %v; want true", ran, err)
		}
	})
}

func TestOnceExternalIsAtLeastOnceThenDeduplicated(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		migrate(t, db)
		id := uuid.New()
		var keys []uuid.UUID
		fail := true
		effect := func(_ context.Context, key uuid.UUID) error {
			keys = append(keys, key)
			if fail {
				return errors.New("smtp refused")
			}
			return nil
		}
		if ran, err := messaging.OnceExternal(ctx, db, "test.mail", id, effect); err == nil || ran {
			t.Fatalf("failing effect: ran %v, %v", ran, err)
		}
		fail = false
		if ran, err := messaging.OnceExternal(ctx, db, "test.mail", id, effect); err != nil || !ran {
			t.Fatalf("second call: ran %v, %v; want true", ran, err)
		}
		if ran, err := messaging.OnceExternal(ctx, db, "test.mail", id, effect); err != nil || ran {
			t.Fatalf("third call: ran %v, %v; want skipped", ran, err)
		}
		want := messaging.EffectKey("test.mail", id)
		if len(keys) != 2 || keys[0] != want || keys[1] != want {
			t.Errorf("effect keys %v, want twice %v (the same key on every try)", keys, want)
		}
	})
}

func TestEffectKeyAndCommandMetadata(t *testing.T) {
	id := uuid.New()
	if first, again := messaging.EffectKey("a", id), messaging.EffectKey("a", id); first != again {
		t.Error("EffectKey is not deterministic")
	}
	if messaging.EffectKey("a", id) == messaging.EffectKey("b", id) || messaging.EffectKey("a", id) == messaging.EffectKey("a", uuid.New()) {
		t.Error("EffectKey collides across handlers or events")
	}
	env := event.Envelope{EventID: id, Metadata: event.Metadata{CorrelationID: uuid.New()}}
	meta := messaging.CommandMetadata("members.activation-mail", env, testClock)
	if err := meta.Validate(); err != nil {
		t.Errorf("CommandMetadata is not valid: %v", err)
	}
	if meta.CorrelationID != env.Metadata.CorrelationID || meta.CausationID != id ||
		meta.CommandID != messaging.EffectKey("members.activation-mail", id) ||
		meta.Actor != (event.Actor{ID: "reactions/members.activation-mail", Role: event.RoleSystem}) {
		t.Errorf("CommandMetadata = %+v", meta)
	}
}

// TestOnceExternalRecordsAcrossADatabaseRestart: the database restarts between the external effect (a mail sent)
// and the recording of its key, and the delivery's context ends with the lost lease. Before, the key was not
// recorded and the redelivery sent the mail again; now the recording waits for the database (issue 12: re-sends
// only where a crash forces them).
func TestOnceExternalRecordsAcrossADatabaseRestart(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		db := tg.Open(t)
		migrate(t, db)
		id := uuid.New()
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		effects := 0
		restored := make(chan struct{})
		ran, err := messaging.OnceExternal(ctx, db, "test.external", id, func(context.Context, uuid.UUID) error {
			effects++
			restore := tg.Outage(t) // PostgreSQL refuses connections (SQLite has no server to restart)
			cancel()                // the lease is lost with the connection: the delivery is cancelled
			time.AfterFunc(time.Second, func() { restore(); close(restored) })
			return nil
		})
		<-restored
		if err != nil || !ran {
			t.Fatalf("OnceExternal across a restart = %v, %v; want ran, recorded", ran, err)
		}
		if done, err := messaging.Processed(ctxT(t), db, "test.external", id); err != nil || !done {
			t.Fatalf("key recorded: %v, %v", done, err)
		}
		// The redelivery after the restart skips the effect.
		if ran, err := messaging.OnceExternal(ctxT(t), db, "test.external", id, func(context.Context, uuid.UUID) error {
			effects++
			return nil
		}); err != nil || ran || effects != 1 {
			t.Fatalf("redelivery: ran %v, %v, %d effects; want 1 effect", ran, err, effects)
		}
	})
}
