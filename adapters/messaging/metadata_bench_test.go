package messaging

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// BenchmarkNewMessage is the message every handler gets for every event (21 handlers: 21 per event), whether it
// cares about the event or not: 3.5 % of the server's CPU under the HTTP mix (session 8's profile).
func BenchmarkNewMessage(b *testing.B) {
	now := time.Now()
	d := event.Delivery{
		Record: event.Record{Stream: "servicerequest-" + uuid.NewString(), Revision: 3, Position: 123456789, EventID: uuid.New(),
			Type: "ServiceRequestSubmitted", Data: []byte(`{"a":1}`), Metadata: []byte(`{"correlation_id":"x"}`), RecordedAt: now},
		Envelope: event.Envelope{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: uuid.NewString(), Role: "member"}, OccurredAt: now, SchemaVersion: 1}},
		Live: true,
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = newMessage(d, 1)
	}
}
