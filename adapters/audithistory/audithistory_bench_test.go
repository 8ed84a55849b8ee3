package audithistory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/audithistory"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections/auditstreams"
)

// BenchmarkMemberHistoryPage reads a page of 1,000 events of one member's stream (each with a sealed personal field,
// opened through the key store on SQLite) through the official client from an in-memory node, decodes it and encodes
// it as JSON, as the HTTP route does (without the access-log write). Beside it, the baseline: the same stream loaded
// by the aggregates' kurrentdb.Store.Load (read and decoded, no JSON).
func BenchmarkMemberHistoryPage(b *testing.B) {
	db := sqldbtest.NewTarget(b, sqldb.SQLite).Open(b)
	if err := keystore.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	keys, err := keystore.New(db, keystore.Config{KEK: bytes.Repeat([]byte{7}, keystore.KeySize)})
	if err != nil {
		b.Fatal(err)
	}
	env := kurrentdbtest.Start(b, member.Definitions())
	reg, err := event.NewRegistry(member.Definitions())
	if err != nil {
		b.Fatal(err)
	}
	reg = reg.WithSealer(keys)
	codec := kurrentdb.NewCodec(reg)
	store := kurrentdb.NewStore(env.Client, codec)
	id := uuid.New()
	stream := event.NewStreamID(member.Category, id)
	ctx := context.Background()
	var last uint64
	for i := range 1000 {
		cmd := uuid.New()
		meta := event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor: event.Actor{ID: id.String(), Role: event.RoleMember}, OccurredAt: time.Now()}
		c, err := store.Append(ctx, stream, anyRevision(), meta, member.PhoneChanged{MobilePhone: []string{"+33612345678", "+33698765432"}[i%2]})
		if err != nil {
			b.Fatal(err)
		}
		last = c.Position
	}
	reader := audithistory.New(env.Client, reg, nil)
	scope := audithistory.Scope{Member: id, Streams: []auditstreams.Stream{{Stream: stream.String(), LastPosition: last}}}
	b.Run("history page of 1000", func(b *testing.B) {
		for b.Loop() {
			items, _, err := reader.Page(ctx, scope, audithistory.Filter{}, 1000)
			if err != nil || len(items) != 1000 {
				b.Fatalf("%d items, %v", len(items), err)
			}
			if err := json.NewEncoder(io.Discard).Encode(items); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline Store.Load of the same stream", func(b *testing.B) {
		for b.Loop() {
			h, err := store.Load(ctx, stream)
			if err != nil || len(h) != 1000 {
				b.Fatalf("%d events, %v", len(h), err)
			}
		}
	})
}

func anyRevision() esdb.ExpectedRevision { return esdb.Any{} }
