package messaging_test

import (
	"context"
	"errors"
	"sync/atomic"
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

// TestOnceExternalWaitsForThePreviousHoldersRecord is the gap of issue 12 without a crash: the replica whose lease
// a database restart cancelled was still recording a sent mail when the handler's next holder found no key and sent
// it again. Two holders (two handles, as two replicas): the first is cancelled between its effect and its record,
// and the second is called right then; the effect must run once, the second holder waiting for the first's record.
func TestOnceExternalWaitsForThePreviousHoldersRecord(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		first, second := tg.Open(t), tg.Open(t)
		migrate(t, first)
		id := uuid.New()
		var effects atomic.Int32
		type result struct {
			ran bool
			err error
		}
		next := make(chan result, 1)
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		ran, err := messaging.OnceExternal(ctx, first, "test.handover", id, func(context.Context, uuid.UUID) error {
			effects.Add(1) // the mail is sent
			cancel()       // the lease is lost: the handler moves to the other replica, which gets the event again
			go func() {
				ran, err := messaging.OnceExternal(ctxT(t), second, "test.handover", id, func(context.Context, uuid.UUID) error {
					effects.Add(1)
					return nil
				})
				next <- result{ran, err}
			}()
			select { // the first holder records only after the second had ample time to act
			case r := <-next:
				next <- r
			case <-time.After(time.Second):
			}
			return nil
		})
		if err != nil || !ran {
			t.Fatalf("first holder: ran %v, %v; want ran and recorded", ran, err)
		}
		r := <-next
		if r.err != nil || r.ran {
			t.Errorf("second holder: ran %v, %v; want it to wait for the first's record and skip", r.ran, r.err)
		}
		if n := effects.Load(); n != 1 {
			t.Errorf("effect ran %d times across the hand-over, want once", n)
		}
		if n := inFlight(t, first); n != 0 {
			t.Errorf("%d claims left in flight after the record", n)
		}
	})
}

// TestOnceExternalRunsACrashedHoldersEffectAfterTheWindow: a claim whose holder died between the effect and its
// record holds the next holder off until it is older than the in-flight window; then the effect runs again, with
// the same key (the at-least-once a crash forces). A failed effect gives its claim back at once.
func TestOnceExternalRunsACrashedHoldersEffectAfterTheWindow(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		migrate(t, db)
		id := uuid.New()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctxT(t), db.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO reaction_in_flight (handler, event_id, holder, since) VALUES (?, ?, ?, ?)`,
			"test.crash", id.String(), "crashed-replica", time.Now().UTC())
		var keys []uuid.UUID
		effect := func(_ context.Context, key uuid.UUID) error { keys = append(keys, key); return nil }

		ctx, cancel := context.WithTimeout(ctxT(t), 500*time.Millisecond)
		defer cancel()
		if ran, err := messaging.OnceExternal(ctx, db, "test.crash", id, effect); ran || !errors.Is(err, context.DeadlineExceeded) || len(keys) != 0 {
			t.Fatalf("with a young claim of another holder: ran %v, %v, %d effects; want a wait until ctx ends", ran, err, len(keys))
		}
		exec(`UPDATE reaction_in_flight SET since = ? WHERE handler = ?`,
			time.Now().UTC().Add(-messaging.DefaultInFlightWindow-time.Second), "test.crash")
		if ran, err := messaging.OnceExternal(ctxT(t), db, "test.crash", id, effect); err != nil || !ran {
			t.Fatalf("with an expired claim: ran %v, %v; want the effect run again", ran, err)
		}
		if want := messaging.EffectKey("test.crash", id); len(keys) != 1 || keys[0] != want {
			t.Errorf("effect keys %v, want once %v", keys, want)
		}
		if done, err := messaging.Processed(ctxT(t), db, "test.crash", id); err != nil || !done {
			t.Errorf("key recorded: %v, %v", done, err)
		}

		// A failed effect drops its claim: another holder (here a second handle) retries at once.
		other := uuid.New()
		if _, err := messaging.OnceExternal(ctxT(t), db, "test.crash", other, func(context.Context, uuid.UUID) error {
			return errors.New("smtp refused")
		}); err == nil {
			t.Fatal("failing effect: no error")
		}
		if n := inFlight(t, db); n != 0 {
			t.Errorf("%d claims left after a failed effect, want 0", n)
		}
	})
}

func inFlight(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowxContext(ctxT(t), `SELECT COUNT(*) FROM reaction_in_flight`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
