// Package messaging runs Dossier's reactions: side effects of facts (send the activation code, issue an
// acknowledgement, close a lapsed request, publish to another system) as watermill handlers fed by a catch-up
// subscription to the event store's global log, never by an in-memory bus fed after an append (a crash between the
// append and the publish would lose the reaction).
//
// # Wiring
//
//	if err := messaging.Migrate(ctx, db); err != nil { ... }
//	router, err := messaging.NewRouter(messaging.RouterConfig{Feed: source, DB: db, Logger: logger,
//		Registry: registry, Events: messaging.NewStoreEvents(client, codec)})
//	err = router.AddHandler("mail.activation-code", reaction.Handle, messaging.SkipHistory())
//	go router.Run(ctx) // returns once ctx ends or router.Close is called
//
// source is a *kurrentdb.Source (any Feed will do), db the read-model database (*sqldb.DB). A reaction package adds
// its handlers itself (membermail.Register, casework.Register), with the names it exports.
//
// # Handler names are identities
//
// Each handler has its own Subscriber, hence its own durable checkpoint (reaction_checkpoint), its own
// processed-event keys (reaction_processed), its own poison rows (reaction_poison) and its own lease (only one
// replica runs a handler at a time), all keyed by the handler's name. The name must never change after deploy: a
// renamed handler is a new consumer that starts again from the beginning of the log (or from its head, with
// SkipHistory) and redoes every effect the old name had done. Name handlers after what they do
// ("members.activation-mail"), not after a Go type.
//
// # Delivery
//
// A handler sees every non-system event of the log in commit order, one at a time: the next message comes only
// after the previous one is acknowledged. Ack moves the handler's checkpoint, stored before the next message by
// default; with a positive CheckpointInterval it is stored at most every interval, at once when the feed reaches its
// head, and when the subscription ends. A store only moves it forward, so a replica that lost its lease and still
// stores cannot pull it back. A restart resumes strictly after the stored checkpoint. Delivery is therefore at least
// once: after a crash, the events acknowledged since the last store (one, or at most an interval's worth) come
// again, and so does an event whose effect was done before a failure led to a Nack. Every effect must be
// idempotent, which Once and OnceExternal make it: a repeat finds the effect's key and does nothing.
//
// # Idempotent effects
//
// A database effect runs inside Once, which records the processed-event key (handler, event id) in the same
// transaction: the effect and the key commit together or not at all, and a repeat finds the key and does nothing.
//
// An effect outside the database (mail, a file, another system) cannot join that transaction. OnceExternal claims
// it (reaction_in_flight: a later holder of the handler waits for the claim's record rather than running the effect
// too, so a lease lost to a database restart does not make a mail go twice), runs it, then records the key; the
// window between the two that only a crash leaves open (the claim expires, the effect runs again) is closed by the
// effect itself, which receives a deterministic key (EffectKey) and must make a repeat harmless with it: an outbox
// file named after the key is replaced rather than duplicated, a mail's Message-ID built from it lets the receiving
// side drop the copy, a remote API takes it as its Idempotency-Key. A reaction that issues a command uses
// CommandMetadata, whose command id is the effect key: the event store then recognises a repeat and appends nothing.
//
// # Failures
//
// See Router for the middleware chain: bounded retries, except for Invalid and Rule errors and panics, which go
// straight to the poison table; Unavailable errors are delivered again until the dependency is back; a poison event
// is recorded (List, `dossier reactions poison`) and the handler goes on with the next one. Neither logs nor the
// poison table hold error messages, which may quote personal data: only kinds, codes, operations and locations
// (Describe). So that operators see where a reaction failed, return classified errors: package sentinels made with
// failure.New, and causes wrapped with failure.Wrap("members.SendActivationCode", failure.Unavailable, err).
//
// # Poison replays
//
// Once the cause is fixed, an operator asks for a replay (RequestReplay; `dossier reactions replay ID|--all`): the
// request is a mark on the poison row, with who asked (an operator id, never a name) and when. The replica that holds
// the handler's lease serves it between deliveries (every RouterConfig.ReplayInterval): it reads the event back
// (RouterConfig.Events, normally StoreEvents) and hands it to the same handler through the same Retry and
// Recoverer. The handler's name, hence its processed-event keys and EffectKey, are the same as at the first
// delivery, so Once and OnceExternal do each effect exactly once across the delivery and its replays. A replay that
// succeeds removes the row; one that fails keeps it with its new error and Replays incremented. The checkpoint never
// moves. Both are logged with the requester.
//
// # Retention of processed-event keys
//
// A key is needed while its event can be delivered again (until the checkpoint is past it) or replayed (while it is
// a poison event). The replica running a handler prunes the others once older than RouterConfig.ProcessedRetention
// (30 days by default), every PruneInterval; see Prune. Keys record their event's position for that (Once reads it
// from the delivery's context). The same pass removes orphan claims of external effects: a claim whose key is
// recorded, or one older than the retention and the in-flight window (Claims lists them for `reactions status`).
//
// # Metrics
//
// With RouterConfig.Registry set, see Router for the series: checkpoint, lag, active, caught-up, handled events by
// outcome, poison events, replays and pruned keys, labelled by handler name only.
package messaging
