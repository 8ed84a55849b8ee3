package newstreams_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/newstreams"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
)

type opened struct {
	Queue string `json:"queue"`
}

type noted struct {
	Text string `json:"text"`
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestOneNoticePerNewStream(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		node, err := kurrentnode.Start(kurrentnode.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		client, err := kurrentdb.Connect(ctx, node.ConnectionString())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		reg, err := event.NewRegistry([]event.Definition{event.Define[opened]("TestCaseOpened"), event.Define[noted]("TestCaseNoted")})
		if err != nil {
			t.Fatal(err)
		}
		codec := kurrentdb.NewCodec(reg)
		store := kurrentdb.NewStore(client, codec)
		if err := messaging.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}

		type written struct {
			stream  event.StreamID
			eventID uuid.UUID
			commit  event.Commit
			corr    uuid.UUID
		}
		write := func(stream event.StreamID, v any) written {
			cmd, corr := uuid.New(), uuid.New()
			meta := event.Metadata{CorrelationID: corr, CausationID: cmd, CommandID: cmd,
				Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleMember}, OccurredAt: time.Date(2025, 5, 2, 10, 0, 0, 0, time.UTC)}
			c, err := store.Update(ctx, stream, event.Command{Metadata: meta}, func([]event.Envelope) ([]any, error) { return []any{v}, nil })
			if err != nil {
				t.Fatal(err)
			}
			return written{stream, event.DeriveID(cmd, 0), c, corr}
		}
		s1, s2 := event.NewStreamID("testcase", uuid.New()), event.NewStreamID("othercase", uuid.New())
		first := write(s1, opened{Queue: "general"})
		write(s1, noted{Text: "second event of the same stream: no notice"})
		second := write(s2, opened{Queue: "urgent"})
		last := write(s1, noted{Text: "again"})

		dir := filepath.Join(t.TempDir(), "notices")
		reaction := newstreams.New(db, dir)
		router, err := messaging.NewRouter(messaging.RouterConfig{Feed: kurrentdb.NewSource(client, codec), DB: db})
		if err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler(newstreams.Name, reaction.Handle); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- router.Run(context.Background()) }()
		t.Cleanup(func() {
			if err := router.Close(); err != nil {
				t.Error(err)
			}
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		deadline := time.Now().Add(15 * time.Second)
		for {
			p, _, err := messaging.Checkpoint(ctx, db, newstreams.Name)
			if err != nil {
				t.Fatal(err)
			}
			if p >= last.commit.Position {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("reaction did not reach the last event")
			}
			time.Sleep(5 * time.Millisecond)
		}

		want := []string{}
		for _, w := range []written{first, second} {
			want = append(want, messaging.EffectKey(newstreams.Name, w.eventID).String()+".json")
		}
		slices.Sort(want)
		if got := files(t, dir); !slices.Equal(got, want) {
			t.Fatalf("files %v, want %v", got, want)
		}
		body, err := os.ReadFile(reaction.Path(messaging.EffectKey(newstreams.Name, second.eventID)))
		if err != nil {
			t.Fatal(err)
		}
		var n newstreams.Notice
		if err := json.Unmarshal(body, &n); err != nil {
			t.Fatal(err)
		}
		wantNotice := newstreams.Notice{Stream: s2.String(), Category: "othercase", EventType: "TestCaseOpened",
			EventID: second.eventID.String(), Position: second.commit.Position, CorrelationID: second.corr.String(),
			OccurredAt: "2025-05-02T10:00:00Z", RecordedAt: n.RecordedAt}
		if n != wantNotice || n.RecordedAt == "" {
			t.Errorf("notice = %+v, want %+v", n, wantNotice)
		}
	})
}

// A crash between the file and the processed key: the event comes again, and the same file is rewritten.
func TestRepeatAfterACrashRewritesTheSameFile(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		if err := messaging.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		reaction := newstreams.New(db, dir)
		id := uuid.New()
		msg := message.NewMessage(id.String(), []byte(`{"queue":"general"}`))
		for k, v := range map[string]string{
			messaging.MetaStream: "testcase-" + uuid.NewString(), messaging.MetaRevision: "0", messaging.MetaPosition: "42",
			messaging.MetaEventID: id.String(), messaging.MetaEventType: "TestCaseOpened",
		} {
			msg.Metadata.Set(k, v)
		}
		for range 2 {
			if err := reaction.Handle(msg); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM reaction_processed`); err != nil { // the key was never recorded
			t.Fatal(err)
		}
		if err := reaction.Handle(msg); err != nil {
			t.Fatal(err)
		}
		if got := files(t, dir); !slices.Equal(got, []string{messaging.EffectKey(newstreams.Name, id).String() + ".json"}) {
			t.Errorf("files = %v, want the one notice", got)
		}
		if done, err := messaging.Processed(ctx, db, newstreams.Name, id); err != nil || !done {
			t.Errorf("processed = %v, %v", done, err)
		}
	})
}
