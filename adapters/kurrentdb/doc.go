// Package kurrentdb is Dossier's client-side adapter to the event store, over the official client
// (github.com/EventStore/EventStore-Client-Go/v4/esdb). It talks the same way to a KurrentDB cluster and to the
// embedded node (adapters/kurrentnode).
//
// Wiring, in main:
//
//	registry, err := event.NewRegistry(member.Definitions(), servicerequest.Definitions() /* , ... */)
//	client, err := kurrentdb.Connect(ctx, url, kurrentdb.WithLogger(logger))
//	defer client.Close()
//	codec := kurrentdb.NewCodec(registry)
//	store := kurrentdb.NewStore(client, codec)   // command handlers
//	source := kurrentdb.NewSource(client, codec) // projections and reactions
//
// # Writing: Store
//
// Store.Update is the one way commands write:
//
//	commit, err := store.Update(ctx, event.NewStreamID("member", id), event.Command{Metadata: meta},
//		func(history []event.Envelope) ([]any, error) {
//			m := member.Rehydrate(history)
//			return m.ChangeAddress(addr, meta.OccurredAt) // pure: no remote calls in here
//		})
//
// It reads the stream forwards (a missing stream is an empty history), runs the decision, and appends the new events
// with the revision it decided on. Event ids derive from the command id, so a retried command appends nothing new
// and returns the original Commit. A lost race is a failure.Conflict, retried by deciding again when the command
// says that is safe (event.Command.RetryOnConflict), never when a person decided on a given revision
// (event.Command.ExpectedRevision). commit.Position is the read-your-writes token.
//
// # Reading the log: Source
//
// Source.Run is an ordered catch-up subscription to $all, the feed of the projection runner and of the watermill
// subscriber:
//
//	err := source.Run(ctx, checkpoint, func(ctx context.Context, d event.Delivery) error {
//		switch {
//		case d.CaughtUp:
//			return flush(ctx) // at the head of the log: commit the open batch, use small batches from now on
//		case d.Err != nil:
//			return d.Err      // an event this code cannot read: stop loudly (or park it visibly)
//		}
//		return apply(ctx, d.Envelope, d.Record.Position) // keep Position as the checkpoint, in the same transaction
//	})
//
// Deliveries come one at a time in commit order, strictly after the checkpoint given (0: from the start), without
// the event store's own events (types starting with "$": filtered by the server and again here). When the
// subscription drops, Run subscribes again after the last record handle accepted, with a bounded back-off, so the
// feed has no gap and no duplicate. Run ends when ctx ends or when handle returns an error. Once live, the Runs of
// one Source share one subscription, the tail (tail.go): each record is received and decoded once for all of them,
// and handle must not modify the Record or Event it receives.
//
// # Errors
//
// Errors are classified with domain/failure: Conflict (wrong expected revision), NotFound (deleted stream),
// Unavailable (the store is out of reach: transient failures have already been retried a few times), Internal
// (everything else: undecodable events, invalid metadata, bugs). The *esdb.Error, when there is one, stays in the
// chain for errors.As.
//
// # Positions
//
// Checkpoints and read-your-writes tokens are commit positions (uint64). Resuming uses the commit position as the
// prepare position too, which holds for every event appended through gRPC on KurrentDB and on the embedded node.
package kurrentdb
