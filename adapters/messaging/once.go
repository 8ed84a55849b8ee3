package messaging

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		res, err := tx.ExecContext(ctx, tx.Rebind(
			`INSERT INTO reaction_processed (handler, event_id, processed_at, position) VALUES (?, ?, ?, ?) ON CONFLICT (handler, event_id) DO NOTHING`),
			handler, eventID.String(), time.Now().UTC(), position)
		if err != nil {
			return fmt.Errorf("messaging: record processed event: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("messaging: record processed event: %w", err)
		}
		if n == 0 {
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
//  2. Otherwise effect runs with EffectKey(handler, eventID), outside any transaction.
//  3. Once it succeeds, the key is recorded.
//
// Once the effect is done, recording its key is retried with back-off for up to recordTimeout, even if ctx ends
// meanwhile (the lease lost to a database restart cancels the delivery): a database that restarts between 2 and 3
// does not make the effect run twice. Only a crash of this process (or a database out for longer) between 2 and 3
// means effect runs again on redelivery, with the same key: effect must make that repeat harmless, by writing to a
// place named after the key (an outbox file is replaced, not duplicated) or by handing the key to a receiver that
// deduplicates on it (Message-ID, Idempotency-Key). The window is small but real: nothing outside the database can
// join its transaction. The promise is therefore at least once, with a stable key; not exactly once.
func OnceExternal(ctx context.Context, db *sqldb.DB, handler string, eventID uuid.UUID, effect func(ctx context.Context, key uuid.UUID) error) (ran bool, err error) {
	done, err := Processed(ctx, db, handler, eventID)
	if err != nil || done {
		return false, err
	}
	if err := effect(ctx, EffectKey(handler, eventID)); err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	for pause := recordPause; ; pause = min(2*pause, recordMaxPause) {
		_, err := Once(rctx, db, handler, eventID, func(*sqldb.Tx) error { return nil })
		if err == nil {
			return true, nil
		}
		if !Sleep(rctx, pause) {
			return true, fmt.Errorf("messaging: effect done, key not recorded (it will run again, with the same key): %w", err)
		}
	}
}

// Recording the key of an effect done: retried for recordTimeout, pausing recordPause doubling up to recordMaxPause.
const (
	recordTimeout  = time.Minute
	recordPause    = 100 * time.Millisecond
	recordMaxPause = 2 * time.Second
)

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
