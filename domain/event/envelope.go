package event

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Record is an event as the store keeps it, byte for byte. Revision, Position and RecordedAt are assigned by the
// store and are zero in a record that has not been appended yet.
type Record struct {
	Stream   string // stream name as stored
	Revision uint64 // position of the event in its stream, from 0
	Position uint64 // commit position in the global log ($all); never 0 once stored
	// Prepare is the prepare position in $all as the store reported it (equal to Position on the embedded node and
	// for KurrentDB's appends); 0 when the source did not say. The audit tree hashes it (adapters/auditlog.Leaf).
	Prepare  uint64
	EventID  uuid.UUID // unique per stream; derived from the command id (DeriveID)
	Type     string    // type name as stored (possibly an older, replaced name)
	Data     []byte    // JSON payload as stored (before upcasting)
	Metadata []byte    // JSON Metadata
	// RecordedAt is when the store wrote the event (its clock, not the business clock).
	RecordedAt time.Time
}

// Envelope is a decoded, upcast event with its place in the store and its metadata: what aggregates rehydrate from
// and what projections and reactions consume.
type Envelope struct {
	Stream     StreamID
	Revision   uint64
	Position   uint64
	EventID    uuid.UUID
	Type       string // current type name of Event (after upcasting)
	Event      any    // the event value, of the Go type its Definition names
	Metadata   Metadata
	RecordedAt time.Time
	// Erased is true when the event's personal fields could not be opened because its subject's key was destroyed:
	// their texts read ErasedText, their other values are zero.
	Erased bool
}

// Delivery is one step of an ordered feed of the global log: either a record or, when CaughtUp is set and nothing
// else is, the news that every event committed before the feed started has been delivered.
type Delivery struct {
	// Record is the stored event, raw. Its Position is the checkpoint to keep once the delivery is handled.
	Record Record
	// Envelope is the decoded event; it is zero when Err is set.
	Envelope Envelope
	// Err says why Record could not be decoded (it wraps ErrUnknownType, ErrInvalidStreamID, a JSON or an upcaster
	// error). A consumer must not skip it silently: stop, or record it where operators will see it.
	Err error
	// Live is true for records delivered after the feed caught up (switch to small batches).
	Live bool
	// CaughtUp marks a delivery without a record: the feed has reached the head of the log. It can come again after
	// the feed reconnects.
	CaughtUp bool
}

// Command is what the store needs to know about the command behind an append.
type Command struct {
	// Metadata is shared by every event the command appends. Metadata.CommandID is the idempotency key: a command
	// retried with the same id appends nothing new. The codec sets SchemaVersion.
	Metadata Metadata
	// ExpectedRevision, when set, is the stream revision a person decided on (an HTTP If-Match): the command fails
	// with a conflict if the stream has moved since, and is never re-decided.
	ExpectedRevision *uint64
	// RetryOnConflict is how many times the command may be re-decided over a newer history after losing a race.
	// Leave it 0 when re-deciding could contradict what a person saw.
	RetryOnConflict int
	// Blind says the decision never reads the history: a log that only grows, one event per fact, where a record
	// twice is acceptable and a record missing is not (a member's access log). The store then appends without
	// reading the stream, at any revision (so concurrent commands never conflict), and a retry is recognised by
	// the event ids alone, as far as the event store keeps them (see kurrentdb.Store.Update); decide gets no
	// history, and events are sealed under Metadata.Subject, or the stream's own id when it is zero. Not with
	// ExpectedRevision.
	Blind bool
}

// Commit says where an append landed. Position is the read-your-writes token: a read model that has reached it
// reflects the command.
type Commit struct {
	Revision uint64 // stream revision of the command's last event (or the stream's last, if nothing was appended)
	Position uint64 // global commit position of that event; 0 when unknown or the stream is empty
	Appended int    // number of events this call appended: 0 for a no-op or a replayed command
}

// DeriveID returns the id of the index-th event appended by command: a name-based (v5) UUID, so that a retried
// command proposes the same ids and the store recognises them.
func DeriveID(command uuid.UUID, index int) uuid.UUID {
	return uuid.NewSHA1(command, []byte(strconv.Itoa(index)))
}

// NewRecord encodes the index-th event v of a command into a record ready to append: type name, JSON payload, and
// metadata with the current schema version. The metadata must be complete (see Metadata.Validate).
//
// With a Sealer (WithSealer), the metadata always name the data subject (Metadata.Subject, or the stream's id when
// it is zero), and when at least one of the event's personal fields is set they are moved out of the JSON object
// into its last member "_sealed": the base64 of what the Sealer sealed under the subject's key, with the event id
// and type name as associated data.
func (r *Registry) NewRecord(stream StreamID, meta Metadata, index int, v any) (Record, error) {
	if err := stream.Validate(); err != nil {
		return Record{}, err
	}
	if err := meta.Validate(); err != nil {
		return Record{}, err
	}
	id := DeriveID(meta.CommandID, index)
	var (
		name    string
		version int
		data    []byte
	)
	if r.sealer != nil {
		if meta.Subject == uuid.Nil {
			meta.Subject = stream.ID
		}
		if d, ok := r.byType[reflect.TypeOf(v)]; ok && d.personal != nil {
			sealed, err := r.sealFields(d.personal, v, d.name, id, meta.Subject)
			if err != nil {
				return Record{}, fmt.Errorf("encode %s: %w", d.name, err)
			}
			name, version, data = d.name, d.version, sealed
		}
	}
	if data == nil { // no sealer, or no personal field set
		var err error
		if name, version, data, err = r.Encode(v); err != nil {
			return Record{}, err
		}
	}
	meta.SchemaVersion = version
	md, err := json.Marshal(meta)
	if err != nil {
		return Record{}, fmt.Errorf("encode metadata: %w", err)
	}
	return Record{Stream: stream.String(), EventID: id, Type: name, Data: data, Metadata: md}, nil
}

// Open decodes a stored record: stream id, metadata, and the event upcast to its current schema. Sealed personal
// fields are opened first (upcasters see the whole payload, as written); when the subject's key was destroyed they
// decode as erased (texts read ErasedText, other values are zero) and Envelope.Erased is set. A record with sealed
// fields and a Registry without a Sealer is an error wrapping ErrSealed.
func (r *Registry) Open(rec Record) (Envelope, error) {
	stream, err := ParseStreamID(rec.Stream)
	if err != nil {
		return Envelope{}, err
	}
	var meta Metadata
	if len(rec.Metadata) > 0 {
		if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
			return Envelope{}, fmt.Errorf("%w: %s@%d: %w", ErrInvalidMetadata, rec.Stream, rec.Revision, err)
		}
	}
	data, erased, err := r.unseal(rec, stream, meta)
	if err != nil {
		return Envelope{}, fmt.Errorf("%s@%d: %s: %w", rec.Stream, rec.Revision, rec.Type, err)
	}
	v, name, err := r.decode(rec.Type, meta.SchemaVersion, data)
	if err != nil {
		return Envelope{}, fmt.Errorf("%s@%d: %w", rec.Stream, rec.Revision, err)
	}
	if erased {
		v = eraseFields(r.byName[name], v)
	}
	return Envelope{
		Stream: stream, Revision: rec.Revision, Position: rec.Position, EventID: rec.EventID,
		Type: name, Event: v, Metadata: meta, RecordedAt: rec.RecordedAt, Erased: erased,
	}, nil
}
