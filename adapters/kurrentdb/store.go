package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Store reads and appends aggregate streams. It is safe for concurrent use.
type Store struct {
	client  *Client
	codec   *Codec
	metrics *appendMetrics // nil until Instrument
}

// NewStore returns a store over client that encodes and decodes events with codec.
func NewStore(client *Client, codec *Codec) *Store { return &Store{client: client, codec: codec} }

// Load returns the decoded history of stream, oldest first; a stream that does not exist yet has an empty history.
// Events whose type starts with "$" belong to the event store and are left out. An event that cannot be decoded
// fails the load: an aggregate cannot be rebuilt without it.
func (s *Store) Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error) {
	history, _, err := s.load(ctx, stream)
	return history, err
}

// load returns the decoded history and where the stream ends (nil for a stream that does not exist), which may be
// after the last decoded event when the store's own events follow it.
func (s *Store) load(ctx context.Context, stream event.StreamID) (history []event.Envelope, head *event.Commit, err error) {
	const op = "kurrentdb.Load"
	if err := stream.Validate(); err != nil {
		return nil, nil, failure.Wrap(op, failure.Invalid, err)
	}
	// The call may be abandoned when ctx ends (Client.call): it fills variables of its own, copied on success only.
	var (
		gotHistory []event.Envelope
		gotHead    *event.Commit
	)
	err = s.client.do(ctx, op, func(es *esdb.Client) error {
		var (
			history []event.Envelope
			head    *event.Commit
		)
		defer func() { gotHistory, gotHead = history, head }()
		rs, err := es.ReadStream(ctx, stream.String(), esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Start{}}, math.MaxUint64)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			re, err := rs.Recv()
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case err != nil && head == nil && isCode(err, esdb.ErrorCodeResourceNotFound):
				return nil // a new stream
			case err != nil:
				return err // anything else is a failure, never the end of the stream
			}
			rec := RecordOf(re.Event)
			head = &event.Commit{Revision: rec.Revision, Position: rec.Position}
			if strings.HasPrefix(rec.Type, "$") {
				continue
			}
			env, err := s.codec.registry.Open(rec)
			if err != nil {
				return &decodeError{err}
			}
			history = append(history, env)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return gotHistory, gotHead, nil
}

// decodeError marks a stored event the registry cannot decode; it is never retried.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decode stored event: " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// Append appends events to stream if its revision is as expected (esdb.NoStream{}, esdb.Revision(n), esdb.Any{},
// esdb.StreamExists{}). The i-th event gets the id event.DeriveID(meta.CommandID, i), so repeating the same append
// with the same expected revision writes nothing twice. A wrong expected revision is a failure.Conflict. Most callers
// want Update.
func (s *Store) Append(ctx context.Context, stream event.StreamID, expected esdb.ExpectedRevision, meta event.Metadata, events ...any) (event.Commit, error) {
	const op = "kurrentdb.Append"
	if err := stream.Validate(); err != nil {
		return event.Commit{}, failure.Wrap(op, failure.Invalid, err)
	}
	if len(events) == 0 {
		return event.Commit{}, nil
	}
	data := make([]esdb.EventData, len(events))
	for i, v := range events {
		d, err := s.codec.Encode(stream, meta, i, v)
		if err != nil {
			return event.Commit{}, failure.Wrap(op, failure.Internal, err)
		}
		data[i] = d
	}
	var res *esdb.WriteResult
	start := time.Now()
	err := s.client.do(ctx, op, func(es *esdb.Client) (err error) {
		res, err = es.AppendToStream(ctx, stream.String(), esdb.AppendToStreamOptions{ExpectedRevision: expected}, data...)
		return err
	})
	s.metrics.observe(stream.Category, len(events), time.Since(start), err)
	if err != nil {
		return event.Commit{}, err
	}
	return event.Commit{Revision: res.NextExpectedVersion, Position: res.CommitPosition, Appended: len(events)}, nil
}

// Update runs one command against stream: it loads the history, lets decide turn it into new events, and appends
// them with the expected revision of the history it decided on (no stream, or the last revision). It returns where
// the events landed; Commit.Position is the read-your-writes token.
//
// decide must be pure: it may run several times and must never call a remote service, send mail or read the clock
// (put times and ids in the command beforehand). A side effect belongs in a reaction to the appended event.
//
// A command whose events are already in the stream (same cmd.Metadata.CommandID: a retry after a lost response)
// appends nothing and returns the original Commit, without calling decide; if it carries another request than the
// recorded one (event.Metadata.CheckReplay), it fails with event.ErrRequestReused instead. If another command appended in between,
// the append fails with failure.Conflict, unless cmd.RetryOnConflict allows deciding again over the new history.
// With cmd.ExpectedRevision set, a stream that is not at that revision is a Conflict before decide runs.
// A zero cmd.Metadata.Subject takes the Subject of the stream's first event when the stream exists, so that every
// event of a stream is sealed under the key of the subject its creator named (a request's notes under its member's).
// Errors from decide are returned as they are; decode failures and an unreachable store are wrapped and classified.
// A cmd.Blind command is appended without reading the stream (see updateBlind).
func (s *Store) Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error) {
	const op = "kurrentdb.Update"
	if err := cmd.Metadata.Validate(); err != nil {
		return event.Commit{}, failure.Wrap(op, failure.Internal, err)
	}
	if cmd.Blind {
		return s.updateBlind(ctx, stream, cmd, decide) // no read: append_blind.go
	}
	for attempt := 0; ; attempt++ {
		history, head, err := s.load(ctx, stream)
		if err != nil {
			return event.Commit{}, err
		}
		if c, first, ok := replayed(history, cmd.Metadata.CommandID); ok {
			if err := cmd.Metadata.CheckReplay(first); err != nil {
				return event.Commit{}, failure.Op(op, err)
			}
			s.client.logger.Debug("kurrentdb: command already applied", "stream", stream.String(), "command_id", cmd.Metadata.CommandID, "revision", c.Revision)
			return c, nil
		}
		var expected esdb.ExpectedRevision = esdb.NoStream{}
		if head != nil {
			expected = esdb.Revision(head.Revision)
		}
		if want := cmd.ExpectedRevision; want != nil && (head == nil || head.Revision != *want) {
			return event.Commit{}, &failure.Error{Op: op, Kind: failure.Conflict,
				Err: fmt.Errorf("%s: decided on revision %d, stream is at %s", stream, *want, describe(head))}
		}
		events, err := decide(history)
		if err != nil {
			return event.Commit{}, err
		}
		if len(events) == 0 {
			if head == nil {
				return event.Commit{}, nil
			}
			return *head, nil
		}
		meta := cmd.Metadata
		if meta.Subject == uuid.Nil && len(history) > 0 {
			meta.Subject = history[0].Metadata.Subject
		}
		c, err := s.Append(ctx, stream, expected, meta, events...)
		if err == nil {
			return c, nil
		}
		if failure.KindOf(err) != failure.Conflict || cmd.ExpectedRevision != nil || attempt >= cmd.RetryOnConflict {
			return event.Commit{}, err
		}
		s.client.logger.Debug("kurrentdb: conflict, deciding again", "stream", stream.String(), "command_id", cmd.Metadata.CommandID, "attempt", attempt+1)
	}
}

// replayed finds the events of command in history (a contiguous run starting with the id DeriveID(command, 0)) and
// returns where the last of them landed, and the metadata they were recorded with.
func replayed(history []event.Envelope, command uuid.UUID) (event.Commit, event.Metadata, bool) {
	first := event.DeriveID(command, 0)
	for i, env := range history {
		if env.EventID != first {
			continue
		}
		j := i + 1
		for j < len(history) && history[j].EventID == event.DeriveID(command, j-i) {
			j++
		}
		last := history[j-1]
		return event.Commit{Revision: last.Revision, Position: last.Position}, env.Metadata, true
	}
	return event.Commit{}, event.Metadata{}, false
}

func describe(head *event.Commit) string {
	if head == nil {
		return "no stream"
	}
	return fmt.Sprintf("revision %d", head.Revision)
}
