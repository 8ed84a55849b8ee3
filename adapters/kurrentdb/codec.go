package kurrentdb

import (
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/domain/event"
)

// Codec translates between the event kernel and the official client: an event value plus its metadata becomes an
// EventData (stable type name, JSON payload, JSON metadata, content type JSON, derived event id), and a
// RecordedEvent becomes a Record and a decoded, upcast Envelope.
type Codec struct {
	registry *event.Registry
}

// NewCodec returns a codec over the registry built from every aggregate's Definitions.
func NewCodec(registry *event.Registry) *Codec { return &Codec{registry: registry} }

// Registry returns the codec's registry.
func (c *Codec) Registry() *event.Registry { return c.registry }

// Encode returns the index-th event v of a command, ready to append to stream.
func (c *Codec) Encode(stream event.StreamID, meta event.Metadata, index int, v any) (esdb.EventData, error) {
	rec, err := c.registry.NewRecord(stream, meta, index, v)
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{
		EventID: rec.EventID, EventType: rec.Type, ContentType: esdb.ContentTypeJson,
		Data: rec.Data, Metadata: rec.Metadata,
	}, nil
}

// Decode returns the raw record of a recorded event and, unless err says why not, its decoded envelope.
func (c *Codec) Decode(re *esdb.RecordedEvent) (event.Record, event.Envelope, error) {
	rec := RecordOf(re)
	env, err := c.registry.Open(rec)
	return rec, env, err
}

// RecordOf converts a recorded event to the kernel's raw Record, with its commit position as Position (0 when the
// server did not say: servers before 22.6 send no position in stream reads).
func RecordOf(re *esdb.RecordedEvent) event.Record {
	pos, prep := re.Position.Commit, re.Position.Prepare
	if pos == math.MaxUint64 {
		pos, prep = 0, 0
	}
	return event.Record{
		Stream: re.StreamID, Revision: re.EventNumber, Position: pos, Prepare: prep, EventID: re.EventID,
		Type: re.EventType, Data: re.Data, Metadata: re.UserMetadata, RecordedAt: re.CreatedDate,
	}
}
