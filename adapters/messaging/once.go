package messaging

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// Once runs fn, the database side effect of handler for the event eventID, in a transaction that also records the
// processed-event key (handler, eventID), with the event's position when ctx is the context of its delivery (see
// Prune). If the key is already recorded (the event was redelivered after a Nack, a crash or a restart that came
// between the effect and the checkpoint, or an operator replays it), fn does not run and ran is false. If fn fails
// the transaction rolls back, key included, so a retry runs fn again.
//
// fn must write through tx only (on SQLite the writer's single connection is the transaction's) and must not call
// remote services: a transaction held open across a network call blocks every other writer. For effects outside
// the database, use OnceExternal.
func Once(ctx context.Context, db *sqldb.DB, handler string, eventID uuid.UUID, fn func(tx *sqldb.Tx) error) (ran bool, err error) {
	position := positionOf(ctx, eventID)
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		inserted, err := insertKey(ctx, tx, handler, eventID, position)
		if err != nil {
			return err
		}
		if !inserted {
			return nil // already processed: on PostgreSQL a concurrent twin waited for our commit, then found the key
		}
		ran = true
		return fn(tx)
	})
	if err != nil {
		return false, err
	}
	return ran, nil
}

// insertKey records the processed-event key (handler, eventID) in tx; inserted is false if it was already there.
func insertKey(ctx context.Context, tx *sqldb.Tx, handler string, eventID uuid.UUID, position sql.NullInt64) (inserted bool, err error) {
	res, err := tx.ExecContext(ctx, tx.Rebind(
		`INSERT INTO reaction_processed (handler, event_id, processed_at, position) VALUES (?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`),
		handler, eventID.String(), time.Now().UTC(), position)
	if err != nil {
		return false, fmt.Errorf("messaging: record processed event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("messaging: record processed event: %w", err)
	}
	return n == 1, nil
}

// positionOf returns the commit position of the event eventID when ctx is the context of its delivery (a
// Subscriber's message, or a poison replay): Prune needs it to tell whether the handler's checkpoint is past the
// event. A key recorded outside a delivery has none (NULL) and is pruned by age alone; see Prune.
func positionOf(ctx context.Context, eventID uuid.UUID) sql.NullInt64 {
	d, ok := ctx.Value(deliveryKey{}).(event.Delivery)
	if !ok || d.Record.EventID != eventID || d.Record.Position == 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(d.Record.Position), Valid: true}
}

// Processed reports whether handler has recorded the event eventID as processed (by Once or OnceExternal).
func Processed(ctx context.Context, db *sqldb.DB, handler string, eventID uuid.UUID) (bool, error) {
	var one int
	err := db.QueryRowxContext(ctx, db.Rebind(`SELECT 1 FROM reaction_processed WHERE handler = ? AND event_id = ?`),
		handler, eventID.String()).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("messaging: read processed event: %w", err)
	}
	return true, nil
}

// effectNamespace scopes EffectKey's name-based UUIDs.
var effectNamespace = uuid.MustParse("5b0f6c52-3f7e-4c38-9d0a-8e0b7a1d2c64")

// EffectKey returns the idempotency key of handler's effect for the event eventID: a name-based (v5) UUID, the same
// on every delivery, in every process. Give it to the outside world so that it can recognise a repeat: the file
// name in an outbox, the Message-ID of a mail, an Idempotency-Key header, the command id of the command a reaction
// issues (see CommandMetadata).
func EffectKey(handler string, eventID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(effectNamespace, []byte(handler+"\x00"+eventID.String()))
}

// OnceExternal performs handler's external effect for the event eventID (a mail, a file, a call to another system)
// at least once, and records it as processed so that later deliveries skip it: at least once, then deduplicated.
//
//  1. If the key (handler, eventID) is already recorded, effect does not run and ran is false.
//  2. Otherwise the effect is claimed: a row (handler, eventID, holder, since) in reaction_in_flight says that this
//     process is running it. If another holder's claim is younger than the in-flight window, OnceExternal waits
//     (polling) until that holder records the key (then ran is false), drops its claim (its effect failed), or the
//     claim expires, or ctx ends.
//  3. effect runs with EffectKey(handler, eventID), outside any transaction, on a context that the end of ctx does
//     not cancel (a lease lost to a database restart must not cut a mail in the middle) but that ends a quarter of
//     the window after the claim.
//  4. Once it succeeds, the key is recorded and the claim removed in one transaction, retried with back-off until
//     three quarters of the window after the claim, even if ctx ends meanwhile. If effect fails, the claim is
//     dropped (best effort) and the error returned: a retry runs effect again.
//
// So neither a database restart between 3 and 4 nor the handler moving to another replica meanwhile (the lease lost
// with the connection) makes the effect run twice: the next holder waits for the record. Only a holder that crashed
// between 3 and 4 (or a database out for longer than the window) leaves a claim that expires: the next holder then
// runs effect again, with the same key, after the window. effect must make that repeat harmless, by writing to a
// place named after the key (an outbox file is replaced, not duplicated) or by handing the key to a receiver that
// deduplicates on it (Message-ID, Idempotency-Key): nothing outside the database can join its transaction. The
// promise is therefore at least once with a stable key, a repeat only where a process crashed; not exactly once.
//
// The window is RouterConfig.InFlightWindow for a delivery (DefaultInFlightWindow otherwise); it must exceed the
// clock skew between replicas (the claim's time is the claimer's clock, its expiry read with the reader's).
func OnceExternal(ctx context.Context, db *sqldb.DB, handler string, eventID uuid.UUID, effect func(ctx context.Context, key uuid.UUID) error) (ran bool, err error) {
	window := inFlightWindowOf(ctx)
	c := claim{db: db, holder: holderOf(db), handler: handler, eventID: eventID}
	// One attempt at a time per key in this process: a second waits for the first to end (the router serialises a
	// handler's deliveries already; direct callers may not).
	local := make(chan struct{})
	defer close(local)
	for {
		prev, busy := inFlightHere.LoadOrStore(c.localKey(), local)
		if !busy {
			break
		}
		select {
		case <-prev.(chan struct{}):
		case <-ctx.Done():
			return false, fmt.Errorf("messaging: waiting for an effect in flight: %w", ctx.Err())
		}
	}
	defer inFlightHere.Delete(c.localKey())

	var since time.Time
	for poll := inFlightPoll(window); ; {
		var claimed, done bool
		since, claimed, done, err = c.take(ctx, window)
		if err != nil || done {
			return false, err
		}
		if claimed {
			break
		}
		if !Sleep(ctx, poll) {
			return false, fmt.Errorf("messaging: waiting for another holder's effect in flight: %w", ctx.Err())
		}
	}
	ectx, cancel := context.WithDeadline(context.WithoutCancel(ctx), since.Add(window/4))
	err = effect(ectx, EffectKey(handler, eventID))
	cancel()
	if err != nil {
		c.drop(ctx)
		return false, err
	}
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), since.Add(3*window/4))
	defer cancel()
	position := positionOf(ctx, eventID)
	for pause := recordPause; ; pause = min(2*pause, recordMaxPause) {
		err := c.record(rctx, position)
		if err == nil {
			return true, nil
		}
		if !Sleep(rctx, pause) {
			return true, fmt.Errorf("messaging: effect done, key not recorded (it will run again, with the same key: here at the next try, elsewhere once its claim expires): %w", err)
		}
	}
}

// DefaultInFlightWindow is the default RouterConfig.InFlightWindow: how long an external effect's claim holds off
// the handler's next holder (see OnceExternal).
const DefaultInFlightWindow = 2 * time.Minute

// Recording the key of an effect done: retried pausing recordPause doubling up to recordMaxPause.
const (
	recordPause    = 100 * time.Millisecond
	recordMaxPause = 2 * time.Second
)

type inFlightWindowKey struct{}

// withInFlightWindow makes w the in-flight window of the OnceExternal calls under ctx (the Router's handlers).
func withInFlightWindow(ctx context.Context, w time.Duration) context.Context {
	return context.WithValue(ctx, inFlightWindowKey{}, w)
}

func inFlightWindowOf(ctx context.Context) time.Duration {
	if w, ok := ctx.Value(inFlightWindowKey{}).(time.Duration); ok && w > 0 {
		return w
	}
	return DefaultInFlightWindow
}

// inFlightPoll is how often a holder waiting for another's effect looks again.
func inFlightPoll(window time.Duration) time.Duration { return min(200*time.Millisecond, window/20) }

// holders names the holder of each database handle: a process normally has one, so this names the process (a
// restarted process is a new holder: its predecessor's claims are a crash's, which expire).
var holders sync.Map // *sqldb.DB → string

func holderOf(db *sqldb.DB) string {
	if h, ok := holders.Load(db); ok {
		return h.(string)
	}
	h, _ := holders.LoadOrStore(db, sqldb.DefaultHolder()+"-"+uuid.NewString()[:8])
	return h.(string)
}

// inFlightHere holds the keys whose effect an OnceExternal of this process is attempting.
var inFlightHere sync.Map // localKey → chan struct{} closed when the attempt ends

type localKey struct {
	db      *sqldb.DB
	handler string
	eventID uuid.UUID
}

// claim is one holder's claim on one external effect (a row of reaction_in_flight).
type claim struct {
	db      *sqldb.DB
	holder  string
	handler string
	eventID uuid.UUID
}

func (c claim) localKey() localKey { return localKey{c.db, c.handler, c.eventID} }

// take claims the effect unless another holder's younger claim exists: a new row, or the row of an earlier attempt
// of this holder (which ended), or an expired row (its holder crashed). In the same transaction it looks for the key
// again: a holder that recorded it just before removed its claim, and the claim taken then is given back (done).
func (c claim) take(ctx context.Context, window time.Duration) (since time.Time, claimed, done bool, err error) {
	now := time.Now().UTC()
	err = c.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(
			`INSERT INTO reaction_in_flight (handler, event_id, holder, since) VALUES (?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`),
			c.handler, c.eventID.String(), c.holder, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			res, err = tx.ExecContext(ctx, tx.Rebind(
				`UPDATE reaction_in_flight SET holder = ?, since = ? WHERE handler = ? AND event_id = ? AND (holder = ? OR since < ?)`),
				c.holder, now, c.handler, c.eventID.String(), c.holder, now.Add(-window))
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		var one int
		err = tx.QueryRowxContext(ctx, tx.Rebind(`SELECT 1 FROM reaction_processed WHERE handler = ? AND event_id = ?`),
			c.handler, c.eventID.String()).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			claimed = n == 1
			return nil
		case err != nil:
			return err
		}
		done = true
		return errAlreadyDone // roll the claim back
	})
	if errors.Is(err, errAlreadyDone) {
		return time.Time{}, false, true, nil
	}
	if err != nil {
		return time.Time{}, false, false, fmt.Errorf("messaging: claim an external effect: %w", err)
	}
	return now, claimed, false, nil
}

var errAlreadyDone = errors.New("messaging: already processed")

// record records the key of the effect done and removes the claim, in one transaction.
func (c claim) record(ctx context.Context, position sql.NullInt64) error {
	return c.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := insertKey(ctx, tx, c.handler, c.eventID, position); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM reaction_in_flight WHERE handler = ? AND event_id = ?`),
			c.handler, c.eventID.String()); err != nil {
			return fmt.Errorf("messaging: remove the claim of an effect done: %w", err)
		}
		return nil
	})
}

// drop gives the claim of a failed effect back, best effort: a claim left behind only delays another holder's
// retry until it expires (this holder retries at once).
func (c claim) drop(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = c.db.ExecContext(dctx, c.db.Rebind(`DELETE FROM reaction_in_flight WHERE handler = ? AND event_id = ? AND holder = ?`),
		c.handler, c.eventID.String(), c.holder)
}

// CommandMetadata returns the metadata of a command that handler issues in reaction to env: the same correlation
// id, caused by env's event, issued by the system component "reactions/<handler>", and with EffectKey(handler,
// env.EventID) as command id, so that a redelivered event appends nothing twice (event ids derive from the command
// id). occurredAt is the business time, from the reaction's clock.
func CommandMetadata(handler string, env event.Envelope, occurredAt time.Time) event.Metadata {
	correlation := env.Metadata.CorrelationID
	if correlation == uuid.Nil { // an event written without our metadata starts its own correlation
		correlation = env.EventID
	}
	return event.Metadata{
		CorrelationID: correlation,
		CausationID:   env.EventID,
		CommandID:     EffectKey(handler, env.EventID),
		Actor:         event.Actor{ID: "reactions/" + handler, Role: event.RoleSystem},
		OccurredAt:    occurredAt,
	}
}
