package audithistory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
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
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/auditstreams"
)

type fixture struct {
	keys   *keystore.Store
	env    *kurrentdbtest.Env
	store  *kurrentdb.Store
	reader *audithistory.Reader
	member uuid.UUID
	scope  audithistory.Scope
}

// newFixture: a member's account stream and a password-reset stream interleaved with another member's account, all
// sealed under their subjects' keys; and one event of a type this registry does not know.
func newFixture(t *testing.T) *fixture {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	if err := keystore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	keys, err := keystore.New(db, keystore.Config{KEK: bytes.Repeat([]byte{7}, keystore.KeySize), CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, member.Definitions())
	reg, err := event.NewRegistry(member.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	reg = reg.WithSealer(keys)
	store := kurrentdb.NewStore(env.Client, kurrentdb.NewCodec(reg))
	f := &fixture{keys: keys, env: env, store: store, reader: audithistory.New(env.Client, reg, nil), member: uuid.New()}
	account := event.NewStreamID(member.Category, f.member)
	reset := event.NewStreamID(member.PasswordResetCategory, uuid.New())
	other := event.NewStreamID(member.Category, uuid.New())
	ctx := context.Background()
	appendAs := func(s event.StreamID, subject uuid.UUID, role event.Role, v any) uint64 {
		cmd := uuid.New()
		m := event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd, Subject: subject,
			Actor: event.Actor{ID: f.member.String(), Role: role}, OccurredAt: time.Now()}
		c, err := store.Append(ctx, s, esdb.Any{}, m, v)
		if err != nil {
			t.Fatal(err)
		}
		return c.Position
	}
	var last = map[string]uint64{}
	last[account.String()] = appendAs(account, uuid.Nil, event.RoleMember, member.PhoneChanged{MobilePhone: "+33612345678"})
	last[other.String()] = appendAs(other, uuid.Nil, event.RoleMember, member.PhoneChanged{MobilePhone: "+33600000000"})
	last[reset.String()] = appendAs(reset, uuid.Nil, event.RoleSystem, member.ResetRequested{MemberID: f.member})
	last[account.String()] = appendAs(account, uuid.Nil, event.RoleMember, member.PhoneChanged{MobilePhone: "+33698765432"})
	// An event of a type this binary does not know, written raw with the official client.
	_, err = env.Client.ESDB().AppendToStream(ctx, account.String(), esdb.AppendToStreamOptions{},
		esdb.EventData{EventID: uuid.New(), EventType: "SomethingFromTheFuture", ContentType: esdb.ContentTypeJson,
			Data: []byte(`{"x":1}`), Metadata: []byte(`{"actor":{"id":"x","role":"system"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := env.Client.Head(ctx)
	last[account.String()] = head
	f.scope = audithistory.Scope{Member: f.member, Streams: []auditstreams.Stream{
		{Stream: reset.String(), LastPosition: last[reset.String()]},
		{Stream: account.String(), LastPosition: last[account.String()]},
	}}
	return f
}

func TestPageMergesFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, next, err := f.reader.Page(ctx, f.scope, audithistory.Filter{}, 100)
	if err != nil || next != 0 {
		t.Fatalf("page: next %d, %v", next, err)
	}
	var types []string
	for i, it := range all {
		types = append(types, it.Type)
		if i > 0 && it.Stored.Commit <= all[i-1].Stored.Commit {
			t.Errorf("not in commit order at %d", i)
		}
		if it.Position == "" || it.Stored.Stream != it.Stream || it.Stored.ID != it.EventID || len(it.Stored.Data) == 0 {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	want := []string{member.TypePhoneChanged, member.TypeResetRequested, member.TypePhoneChanged, "SomethingFromTheFuture"}
	if !slices.Equal(types, want) {
		t.Fatalf("types %v, want %v (the other member's event left out)", types, want)
	}
	if !strings.Contains(string(all[0].Data), "+33612345678") || bytes.Contains(all[0].Stored.Data, []byte("+33612345678")) {
		t.Errorf("data %s (stored %s): want opened in data, sealed in stored", all[0].Data, all[0].Stored.Data)
	}
	if all[0].Actor.Role != "member" || all[1].Actor.Role != "system" || all[0].Subject != f.member || all[0].SchemaVersion != 1 {
		t.Errorf("metadata: %+v / %+v", all[0], all[1])
	}
	if u := all[3]; u.Undecodable == "" || string(u.Data) != "null" || u.Actor.ID != "x" {
		t.Errorf("an undecodable event: %+v", u)
	}

	// Pages of one, by cursor, give the same events.
	var paged []string
	filter := audithistory.Filter{}
	for {
		p, next, err := f.reader.Page(ctx, f.scope, filter, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p {
			paged = append(paged, it.Position)
		}
		if next == 0 {
			break
		}
		after, err := audithistory.ParseCursor(audithistory.Cursor(next))
		if err != nil || after != next {
			t.Fatalf("cursor round trip %d → %d, %v", next, after, err)
		}
		filter.After = after
	}
	if len(paged) != len(all) || paged[0] != all[0].Position || paged[3] != all[3].Position {
		t.Errorf("pages %v, whole %d", paged, len(all))
	}
	if _, err := audithistory.ParseCursor("!!"); !errors.Is(err, projections.ErrInvalidCursor) {
		t.Errorf("bad cursor: %v", err)
	}

	// Filters: types, and a period in the past.
	typed, _, _ := f.reader.Page(ctx, f.scope, audithistory.Filter{Types: []string{member.TypeResetRequested}}, 100)
	if len(typed) != 1 || typed[0].Type != member.TypeResetRequested {
		t.Errorf("type filter: %+v", typed)
	}
	past, _, _ := f.reader.Page(ctx, f.scope, audithistory.Filter{To: time.Now().Add(-time.Hour)}, 100)
	since, _, _ := f.reader.Page(ctx, f.scope, audithistory.Filter{From: time.Now().Add(-time.Hour)}, 100)
	if len(past) != 0 || len(since) != 4 {
		t.Errorf("period filters: %d before an hour ago, %d since", len(past), len(since))
	}
}

func TestErasedDataReadsErased(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.keys.Erase(ctx, f.member); err != nil {
		t.Fatal(err)
	}
	all, _, err := f.reader.Page(ctx, f.scope, audithistory.Filter{}, 100)
	if err != nil {
		t.Fatalf("an erased member's history fails: %v", err)
	}
	if !all[0].Erased || !strings.Contains(string(all[0].Data), event.ErasedText) || strings.Contains(string(all[0].Data), "+336") {
		t.Errorf("erased event: erased %v, data %s", all[0].Erased, all[0].Data)
	}
	var d map[string]any
	if err := json.Unmarshal(all[0].Data, &d); err != nil {
		t.Errorf("data is not JSON: %v", err)
	}
	if len(all[0].Stored.Data) == 0 {
		t.Error("the stored bytes are gone with the key")
	}
}

func TestPeriodReadsTheWholeLog(t *testing.T) {
	f := newFixture(t)
	var n int
	var last uint64
	err := f.reader.Period(context.Background(), audithistory.Filter{From: time.Now().Add(-time.Hour)}, func(it audithistory.Item) error {
		n++
		if it.Stored.Commit <= last {
			t.Errorf("not in commit order")
		}
		last = it.Stored.Commit
		return nil
	}, nil)
	if err != nil || n != 5 {
		t.Errorf("period: %d events, %v; want the 5 of the log", n, err)
	}
}
