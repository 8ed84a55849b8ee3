package kurrentdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// Through the real store: a request's personal data is sealed under its member's key, every event of the stream
// (the later ones without a subject of their own) included; the bytes the event store keeps hold none of it in
// clear; erasing the member's key turns it into ErasedText on the next read.
func TestSealedThroughTheStore(t *testing.T) {
	env := kurrentdbtest.Start(t, sr.Definitions())
	reg, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	sealer := eventtest.NewMemorySealer()
	store := kurrentdb.NewStore(env.Client, kurrentdb.NewCodec(reg.WithSealer(sealer)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	memberID, caseworker := uuid.New(), uuid.New()
	stream := sr.StreamID(uuid.New())
	meta := func(subject uuid.UUID) event.Metadata {
		id := uuid.New()
		return event.Metadata{CorrelationID: id, CausationID: id, CommandID: id,
			Actor:      event.Actor{ID: caseworker.String(), Role: event.RoleCaseworker},
			OccurredAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Subject: subject}
	}
	submitted := sr.Submitted{MemberID: memberID, ServiceCode: "rsa-renewal", CatalogVersion: "2026.1",
		Form: json.RawMessage(`{"motif":"séparation d'avec Paul Durand","iban":"FR7630006000011234567890189"}`), CommandID: uuid.New()}
	note := sr.NoteAdded{Author: caseworker, Text: "Rappeler Mme Lefèvre au 06 12 34 56 78"}
	update := func(m event.Metadata, events ...any) {
		t.Helper()
		if _, err := store.Update(ctx, stream, event.Command{Metadata: m}, func([]event.Envelope) ([]any, error) {
			return events, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(meta(memberID), submitted, sr.Queued{Queue: "rsa"})
	update(meta(uuid.Nil), note) // no subject: the stream's first event's

	raw := env.AllRecords(t)
	if len(raw) != 3 {
		t.Fatalf("%d records", len(raw))
	}
	for _, re := range raw {
		for _, v := range []string{"séparation", "Paul Durand", "FR7630006000011234567890189", "Lefèvre", "06 12 34 56 78"} {
			if bytes.Contains(re.Data, []byte(v)) || bytes.Contains(re.UserMetadata, []byte(v)) {
				t.Errorf("%s@%d: %q in clear: %s", re.StreamID, re.EventNumber, v, re.Data)
			}
		}
		var m event.Metadata
		if err := json.Unmarshal(re.UserMetadata, &m); err != nil || m.Subject != memberID {
			t.Errorf("%s@%d: subject %s (%v), want the member %s", re.StreamID, re.EventNumber, m.Subject, err, memberID)
		}
	}
	if !bytes.Contains(raw[0].Data, []byte(`"_sealed"`)) || !bytes.Contains(raw[2].Data, []byte(`"_sealed"`)) ||
		bytes.Contains(raw[1].Data, []byte(`"_sealed"`)) {
		t.Errorf("sealed members: %s / %s / %s", raw[0].Data, raw[1].Data, raw[2].Data)
	}
	if sealer.Has(stream.ID) {
		t.Error("a key was made for the request stream's own id")
	}

	history, err := store.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 3 || !jsonEqual(history[0].Event, submitted) || history[2].Event != note || history[2].Erased {
		t.Fatalf("history %+v", history)
	}
	if _, err := env.Store.Load(ctx, stream); !errors.Is(err, event.ErrSealed) {
		t.Fatalf("a store without sealer: %v, want ErrSealed", err)
	}

	sealer.Erase(memberID)
	history, err = store.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := history[0].Event.(sr.Submitted)
	if !history[0].Erased || got.Form != nil || got.ServiceCode != "rsa-renewal" || got.MemberID != memberID ||
		history[1].Erased || history[2].Event != (sr.NoteAdded{Author: caseworker, Text: event.ErasedText}) || !history[2].Erased {
		t.Fatalf("after erasure %+v", history)
	}
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
