// Package projections is the read side's runtime: it keeps read models (projections) in step with the global log
// of the event store, in SQL (SQLite or PostgreSQL, through adapters/sqldb).
//
// It depends on the domain kernel and on SQL only: the event store reaches it through the Source port
// (adapters/kurrentdb.Source satisfies it), so a projection never sees the event-store client.
//
// # Applying events
//
// For each projection the Runner subscribes to the log strictly after the projection's checkpoint and applies the
// events in commit order, in batches: one transaction holds the projection's rows for the batch and the new
// checkpoint, so they commit together or not at all, and a crash replays exactly the batches that were lost. While
// catching up a batch gathers up to Options.MaxBatch events (1000) or Options.MaxDelay (200 ms); once live it takes
// what has already arrived and commits at once, so a lone event is visible within a commit and a burst shares one.
// The event-store reader and the batch writer run side by side: the next batch is read while one commits.
//
// Every projection sees every event of the log except the event store's own ("$" types), also those it has no
// interest in; its checkpoint therefore passes every position a command can return.
//
// Rows keep the position (or revision) of the last event applied to them, and upserts are guarded by it (Guard,
// GuardedUpsert over sqldb.Upsert), so an event applied twice changes nothing.
//
// On PostgreSQL the batch transactions commit with synchronous_commit off: a crash may lose the last commits, rows
// and checkpoint together, and they are applied again (the same trade as SQLite's synchronous=NORMAL).
//
// # Stopping loudly
//
// An event the codec cannot decode (Delivery.Err, wrapped in ErrUndecodable) or an error from a projection's Apply
// (ErrApply) stops that projection for good: the batch before it is committed, the error is logged, kept for
// Status, Ready and WaitFor (ErrStopped), and written to the checkpoint row for `dossier projections status`; Run
// returns it. Nothing is skipped: a restart stops at the same event until the code is fixed. Transient failures (the
// database or the event store out of reach) only interrupt the projection, which resumes from its checkpoint after a
// back-off.
//
// # Versions
//
// A projection version has tables of its own, named with the prefix "<name>_v<version>" (see Prefix and
// PrefixToken), and its own migration history (sqldb owner "<name>_v<version>"). Readers never name those tables:
// they query views named after the projection ("streamactivity" for "streamactivity_v3", View), which point at the
// live version. Schemas per version were not chosen because SQLite has none.
//
// When a new version is deployed, the runner creates its tables beside the live version's and builds them from the
// start of the log (state building) while readers keep the live version. Once it has caught up it switches in, in
// one transaction: the views are recreated over its tables, it becomes live and the previous version retired. A
// retired version's tables are kept for one more release, so a replica still running the old code during a rolling
// deploy keeps working and a rollback needs no rebuild; they are dropped at the next switch. A caught-up version
// older than the live one switches back in only when no replica runs the live one (a rollback); `dossier projections
// rebuild` switches whatever version it rebuilt. WaitFor waits on the live version: while a new version builds in a
// single-replica deployment nobody advances the live one, and reads that ask for a recent position time out (the
// HTTP layer answers a retryable 503) until the switch.
//
// # Replicas
//
// Each projection version runs in one process at a time, the holder of its lease ("projection.<name>_v<version>",
// sqldb.DB.AcquireLease: a PostgreSQL advisory lock held by a session, a file lock on SQLite). The other replicas
// stand by, try the lease every Options.LeaseRetry (1s) and take over within about that once the holder dies (its
// session ends, the lock is free). A holder that lost its lease without noticing cannot commit: the checkpoint
// update is a compare-and-set on the previous position (ErrFenced), so its batch rolls back.
//
// # Read your writes
//
// WaitFor(ctx, position) returns once every projection's live version has reached the position a command returned.
// On the holder it wakes on each commit; on a standby replica one follower goroutine reads the checkpoint table
// every Options.FollowInterval (20ms) while someone waits, and WaitFor wakes on its reads. It is the
// adapters/httpapi Consistency port.
//
// # Metrics
//
// Registered on Options.Registry, labelled by projection and version: dossier_projection_position,
// dossier_projection_live_position, dossier_projection_lag_seconds (age of the oldest event received and not yet
// committed; 0 when idle), dossier_projection_active, dossier_projection_caught_up, dossier_projection_stopped,
// dossier_projection_events_applied_total and the histogram dossier_projection_batch_seconds.
package projections
