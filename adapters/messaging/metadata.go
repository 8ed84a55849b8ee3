package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Message metadata keys. Every message a Subscriber delivers carries them (those about the event's own metadata are
// empty when it could not be read). The values are identifiers, positions and times: never personal data.
const (
	MetaEventType     = "event_type"     // type name as stored (before upcasting)
	MetaStream        = "stream"         // stream name, "<category>-<uuid>"
	MetaRevision      = "revision"       // revision of the event in its stream, decimal
	MetaPosition      = "position"       // commit position in $all, decimal: the checkpoint once acknowledged
	MetaEventID       = "event_id"       // event id (also the message UUID)
	MetaRecordedAt    = "recorded_at"    // when the store wrote the event, RFC 3339 with nanoseconds, UTC
	MetaCausationID   = "causation_id"   // what caused the event (a command id, or the event a reaction handled)
	MetaCommandID     = "command_id"     // the command that appended the event
	MetaActorID       = "actor_id"       // account UUID, or a system component's name
	MetaActorRole     = "actor_role"     // member, caseworker, ..., system
	MetaOccurredAt    = "occurred_at"    // business time of the fact, RFC 3339 with nanoseconds, UTC
	MetaSchemaVersion = "schema_version" // schema version the payload was written with
	MetaEventMeta     = "event_metadata" // the event's metadata JSON as stored (for RecordOf)
	MetaLive          = "live"           // "true" once the feed has caught up with the head of the log
	MetaDelivery      = "delivery"       // 1 for the first delivery of the event to this handler, 2 after a Nack, ...
	MetaReplay        = "replay"         // "true" when an operator replays a poison event (RequestReplay)
	// MetaDecodeError is set, with Describe's text, when the event could not be decoded: Envelope then fails.
	MetaDecodeError = "decode_error"
)

// metaKeys is how many metadata keys a message may carry at most.
const metaKeys = 18

// MetaCorrelationID is the correlation id of the event, under watermill's own key, so that watermill's CorrelationID
// middleware and anything else reading middleware.MessageCorrelationID see it.
const MetaCorrelationID = middleware.CorrelationIDMetadataKey

// ErrUndecodable is returned by Envelope for an event this code cannot decode (an unknown type, a payload no upcaster
// brings to the current schema). It is classified Invalid: retrying cannot help, so the event goes straight to the
// poison table where operators see it.
var ErrUndecodable = failure.New(failure.Invalid, "reactions.undecodable_event", "event cannot be decoded")

// ErrNotDelivered is returned by Envelope for a message that a Subscriber did not deliver (a copy, or a message
// built by hand): only the Subscriber's messages carry the decoded event.
var ErrNotDelivered = errors.New("messaging: message was not delivered by a messaging.Subscriber")

type deliveryKey struct{}

// withDelivery keeps the decoded delivery in the message context: the Subscriber runs in the same process as the
// handler, so handlers get the upcast Go value without a registry of their own.
func withDelivery(ctx context.Context, d event.Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

func deliveryOf(msg *message.Message) (event.Delivery, bool) {
	d, ok := msg.Context().Value(deliveryKey{}).(event.Delivery)
	return d, ok
}

// Envelope returns the decoded, upcast event of a message delivered by a Subscriber. It fails with ErrUndecodable
// (kind Invalid) when the event could not be decoded, and with ErrNotDelivered for any other message.
func Envelope(msg *message.Message) (event.Envelope, error) {
	d, ok := deliveryOf(msg)
	if !ok {
		return event.Envelope{}, ErrNotDelivered
	}
	if d.Err != nil {
		return event.Envelope{}, fmt.Errorf("%s@%d: %w: %w", d.Record.Stream, d.Record.Revision, ErrUndecodable, d.Err)
	}
	return d.Envelope, nil
}

// RecordOf rebuilds the stored record of a message from its payload and metadata, for handlers that decode events
// themselves (with event.Registry.Open) or only need the raw fields.
func RecordOf(msg *message.Message) (event.Record, error) {
	var errs []error
	parseUint := func(key string) uint64 {
		v, err := strconv.ParseUint(msg.Metadata.Get(key), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("metadata %s: %w", key, err))
		}
		return v
	}
	rec := event.Record{
		Stream:   msg.Metadata.Get(MetaStream),
		Revision: parseUint(MetaRevision),
		Position: parseUint(MetaPosition),
		Type:     msg.Metadata.Get(MetaEventType),
		Data:     msg.Payload,
		Metadata: []byte(msg.Metadata.Get(MetaEventMeta)),
	}
	id, err := uuid.Parse(msg.Metadata.Get(MetaEventID))
	if err != nil {
		errs = append(errs, fmt.Errorf("metadata %s: %w", MetaEventID, err))
	}
	rec.EventID = id
	if at := msg.Metadata.Get(MetaRecordedAt); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("metadata %s: %w", MetaRecordedAt, err))
		}
		rec.RecordedAt = t
	}
	if err := errors.Join(errs...); err != nil {
		return event.Record{}, failure.Wrap("messaging.RecordOf", failure.Invalid, err)
	}
	return rec, nil
}

// newMessage builds the delivery-th message of a record: the raw payload, and metadata describing the event.
func newMessage(d event.Delivery, delivery int) *message.Message {
	rec := d.Record
	msg := message.NewMessage(rec.EventID.String(), message.Payload(rec.Data))
	// Sized for every key at once: growing the map was most of the cost of the message every handler gets for
	// every event (BenchmarkNewMessage).
	msg.Metadata = make(message.Metadata, metaKeys)
	set := msg.Metadata.Set
	set(MetaEventType, rec.Type)
	set(MetaStream, rec.Stream)
	set(MetaRevision, strconv.FormatUint(rec.Revision, 10))
	set(MetaPosition, strconv.FormatUint(rec.Position, 10))
	set(MetaEventID, rec.EventID.String())
	if !rec.RecordedAt.IsZero() {
		set(MetaRecordedAt, rec.RecordedAt.UTC().Format(time.RFC3339Nano))
	}
	set(MetaEventMeta, string(rec.Metadata))
	set(MetaLive, strconv.FormatBool(d.Live))
	set(MetaDelivery, strconv.Itoa(delivery))

	meta := d.Envelope.Metadata
	if d.Err != nil {
		set(MetaDecodeError, Describe(d.Err))
		// Best effort: the metadata may still be readable when the payload is not.
		meta = event.Metadata{}
		_ = json.Unmarshal(rec.Metadata, &meta)
	}
	if meta.CorrelationID != uuid.Nil {
		set(MetaCorrelationID, meta.CorrelationID.String())
	}
	if meta.CausationID != uuid.Nil {
		set(MetaCausationID, meta.CausationID.String())
	}
	if meta.CommandID != uuid.Nil {
		set(MetaCommandID, meta.CommandID.String())
	}
	if meta.Actor.ID != "" {
		set(MetaActorID, meta.Actor.ID)
	}
	if meta.Actor.Role != "" {
		set(MetaActorRole, string(meta.Actor.Role))
	}
	if !meta.OccurredAt.IsZero() {
		set(MetaOccurredAt, meta.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	if meta.SchemaVersion != 0 {
		set(MetaSchemaVersion, strconv.Itoa(meta.SchemaVersion))
	}
	return msg
}
