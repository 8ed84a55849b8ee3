package kurrentdb

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// updateBlind runs a command whose decision never reads the history (event.Command.Blind): decide runs once on no
// history, and its events are appended at esdb.Any without reading the stream first. The cost no longer grows with
// the stream, and two such commands on one stream never conflict.
//
// A retry (the same command id, so the same event ids: event.DeriveID) is recognised by the event store, not by
// reading the stream (docs/kurrentdb-semantics.md §7.2):
//
//   - the embedded node (adapters/kurrentnode) keeps a durable per-stream index of event ids: a retry appends nothing
//     and answers the original revision and position, whenever it comes, across restarts too;
//   - KurrentDB checks an Any append only against its cache of recently committed event ids (8 MiB, in memory,
//     filled by the writes the leader committed since it started): a retry within that window is answered with the
//     original result; a later one (after a restart or a leader change, or tens of thousands of events later) is
//     appended again, and the stream holds the record twice, with the same event id.
//
// So a retry never loses a record; beyond KurrentDB's window it may duplicate one. That is the trade a log of facts
// such as a member's access log can take ("no record, no data": a record too many is harmless, one missing is not);
// a command whose events must never be doubled stays on the ordinary Update. Since the store does not say whether an
// Any append was recognised, Commit.Appended is the number of events proposed, and the request fingerprint of a
// retry (event.Metadata.CheckReplay) is not compared: blind commands derive their command id from everything their
// events record, so a recognised retry is the same fact.
//
// Events are sealed under cmd.Metadata.Subject, or the stream's own id when it is zero (event.Registry.NewRecord),
// which is what Update gives a stream whose first event named no other subject.
func (s *Store) updateBlind(ctx context.Context, stream event.StreamID, cmd event.Command, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error) {
	const op = "kurrentdb.Update"
	if cmd.ExpectedRevision != nil {
		return event.Commit{}, failure.Opf(op, "a blind command cannot expect a revision")
	}
	events, err := decide(nil)
	if err != nil || len(events) == 0 {
		return event.Commit{}, err
	}
	return s.Append(ctx, stream, esdb.Any{}, cmd.Metadata, events...)
}
