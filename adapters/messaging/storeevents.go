package messaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// StoreEvents is the EventReader over the event store, through the official client: it reads $all at the poison
// event's commit position (one event) and, should the event there not be the one (a server whose positions are not
// byte offsets of single-event commits), scans the event's stream for its id.
type StoreEvents struct {
	client *kurrentdb.Client
	codec  *kurrentdb.Codec
}

// NewStoreEvents returns an EventReader over client that decodes with codec (the one the Feed decodes with).
func NewStoreEvents(client *kurrentdb.Client, codec *kurrentdb.Codec) *StoreEvents {
	return &StoreEvents{client: client, codec: codec}
}

var _ EventReader = (*StoreEvents)(nil)

// ReadEvent implements EventReader. The delivery has Err set when the event cannot be decoded (the replay then
// fails as its delivery did).
func (s *StoreEvents) ReadEvent(ctx context.Context, stream string, position uint64, eventID uuid.UUID) (event.Delivery, error) {
	const op = "messaging.ReadEvent"
	var re *esdb.RecordedEvent
	err := s.client.Call(ctx, op, func(ctx context.Context, es *esdb.Client) (err error) {
		re, err = s.atPosition(ctx, es, position, eventID)
		if err == nil && re == nil {
			re, err = s.inStream(ctx, es, stream, eventID)
		}
		return err
	})
	switch {
	case err != nil:
		return event.Delivery{}, failure.Wrap(op, failure.Unavailable, err)
	case re == nil:
		return event.Delivery{}, fmt.Errorf("%s: %w", op, ErrEventNotFound)
	}
	rec, env, derr := s.codec.Decode(re)
	return event.Delivery{Record: rec, Envelope: env, Err: derr, Live: true}, nil
}

// atPosition reads the event at position in $all; nil if it is not eventID.
func (s *StoreEvents) atPosition(ctx context.Context, es *esdb.Client, position uint64, eventID uuid.UUID) (*esdb.RecordedEvent, error) {
	if position == 0 {
		return nil, nil
	}
	rs, err := es.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards,
		From: esdb.Position{Commit: position, Prepare: position}}, 1)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	got, err := rs.Recv()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if re := got.Event; re != nil && re.EventID == eventID && re.Position.Commit == position {
		return re, nil
	}
	return nil, nil
}

// inStream scans stream for eventID; nil if it is not there (or the stream is gone).
func (s *StoreEvents) inStream(ctx context.Context, es *esdb.Client, stream string, eventID uuid.UUID) (*esdb.RecordedEvent, error) {
	rs, err := es.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Start{}}, math.MaxUint64)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for {
		got, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return nil, nil
		case err != nil:
			var e *esdb.Error
			if errors.As(err, &e) && (e.Code() == esdb.ErrorCodeResourceNotFound || e.Code() == esdb.ErrorCodeStreamDeleted) {
				return nil, nil
			}
			return nil, err
		}
		if re := got.Event; re != nil && re.EventID == eventID {
			return re, nil
		}
	}
}
