package kurrentdb

import (
	"context"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// UpdateFrom runs cmd like Update, but its first decision is made on history, the stream's events as the caller
// loaded them a moment ago (Load; nil or empty for a stream believed new), instead of reading the stream again: one
// round trip (the append) instead of two. The expected revision is that of history's last event (no stream when
// history is empty), so a stream that moved since, or that ends with events of the store's own, is a
// failure.Conflict; the command is then decided again over a fresh load exactly as Update does, within
// cmd.RetryOnConflict. A command whose events are already in history is a replay (event.Metadata.CheckReplay), as
// in Update. cmd.ExpectedRevision is not supported (use Update).
func (s *Store) UpdateFrom(ctx context.Context, stream event.StreamID, cmd event.Command, history []event.Envelope,
	decide func(history []event.Envelope) ([]any, error)) (event.Commit, error) {
	const op = "kurrentdb.UpdateFrom"
	if err := cmd.Metadata.Validate(); err != nil {
		return event.Commit{}, failure.Wrap(op, failure.Internal, err)
	}
	if cmd.ExpectedRevision != nil {
		return event.Commit{}, failure.Opf(op, "an expected revision is decided on with Update")
	}
	if c, first, ok := replayed(history, cmd.Metadata.CommandID); ok {
		if err := cmd.Metadata.CheckReplay(first); err != nil {
			return event.Commit{}, failure.Op(op, err)
		}
		return c, nil
	}
	var expected esdb.ExpectedRevision = esdb.NoStream{}
	if n := len(history); n > 0 {
		expected = esdb.Revision(history[n-1].Revision)
	}
	events, err := decide(history)
	if err != nil {
		return event.Commit{}, err
	}
	if len(events) == 0 {
		if n := len(history); n > 0 {
			return event.Commit{Revision: history[n-1].Revision, Position: history[n-1].Position}, nil
		}
		return event.Commit{}, nil
	}
	meta := cmd.Metadata
	if meta.Subject == uuid.Nil && len(history) > 0 {
		meta.Subject = history[0].Metadata.Subject
	}
	c, err := s.Append(ctx, stream, expected, meta, events...)
	if err == nil || failure.KindOf(err) != failure.Conflict || cmd.RetryOnConflict < 1 {
		return c, err
	}
	s.client.logger.Debug("kurrentdb: conflict on a known history, deciding again", "stream", stream.String(), "command_id", cmd.Metadata.CommandID)
	cmd.RetryOnConflict--
	return s.Update(ctx, stream, cmd, decide)
}
