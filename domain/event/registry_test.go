package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

// requestSubmitted is at schema v2; v1 stored a flat deadline_days.
type requestSubmitted struct {
	Service  string   `json:"service"`
	Deadline deadline `json:"deadline"`
}

type deadline struct {
	Days     int  `json:"days"`
	Calendar bool `json:"calendar"`
}

// commentPosted replaces the type name "SampleNoteAdded" (v1: {"text"}).
type commentPosted struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

func submittedV1toV2(data []byte) ([]byte, error) {
	var v1 struct {
		Service      string `json:"service"`
		DeadlineDays int    `json:"deadline_days"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	return json.Marshal(requestSubmitted{Service: v1.Service, Deadline: deadline{Days: v1.DeadlineDays, Calendar: true}})
}

func noteToComment(data []byte) ([]byte, error) {
	var old struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(data, &old); err != nil {
		return nil, err
	}
	return json.Marshal(commentPosted{Body: old.Text, Internal: true})
}

func sampleDefinitions() []event.Definition {
	return []event.Definition{
		event.Define[requestSubmitted]("SampleRequestSubmitted", event.Version(2), event.Upcast(1, submittedV1toV2)),
		event.Define[commentPosted]("SampleCommentPosted", event.Replaces("SampleNoteAdded", 1, noteToComment)),
	}
}

func newRegistry(t *testing.T) *event.Registry {
	t.Helper()
	reg, err := event.NewRegistry(sampleDefinitions())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

var sampleStream = event.NewStreamID("servicerequest", uuid.MustParse("a1b2c3d4-e5f6-4789-8abc-def012345678"))

// TestGolden proves that every stored payload under testdata still decodes to the current Go value. Add a file here
// whenever a definition gets a new version or name; never edit or delete one.
func TestGolden(t *testing.T) {
	type golden struct {
		typ   string
		event any
	}
	want := map[string]golden{
		"SampleRequestSubmitted.v1.json": {"SampleRequestSubmitted", requestSubmitted{Service: "rsa-renewal", Deadline: deadline{Days: 30, Calendar: true}}},
		"SampleRequestSubmitted.v2.json": {"SampleRequestSubmitted", requestSubmitted{Service: "rsa-renewal", Deadline: deadline{Days: 30, Calendar: true}}},
		"SampleNoteAdded.v1.json":        {"SampleCommentPosted", commentPosted{Body: "pièce reçue", Internal: true}},
		"SampleNoteAdded.v0.json":        {"SampleCommentPosted", commentPosted{Body: "written before schema versions were recorded", Internal: true}},
	}
	reg := newRegistry(t)
	eventtest.EachGolden(t, "Sample*.json", want, func(t *testing.T, stored eventtest.Stored, w golden) {
		env, err := reg.Open(event.Record{
			Stream: sampleStream.String(), Revision: 3, Position: 42, EventID: uuid.New(),
			Type: stored.Type, Data: stored.Data, Metadata: stored.Metadata,
		})
		if err != nil {
			t.Fatal(err)
		}
		if env.Type != w.typ || !reflect.DeepEqual(env.Event, w.event) {
			t.Fatalf("decoded %s %#v, want %s %#v", env.Type, env.Event, w.typ, w.event)
		}
		if env.Stream != sampleStream || env.Revision != 3 || env.Position != 42 {
			t.Fatalf("envelope place = %v@%d pos %d", env.Stream, env.Revision, env.Position)
		}
	})
	eventtest.ExpectFiles(t, want)
}

func sampleMetadata() event.Metadata {
	return event.Metadata{
		CorrelationID: uuid.MustParse("3b9d2a3e-2f53-4c53-9d1f-0c1a5b6e7d80"),
		CausationID:   uuid.MustParse("c0a8012e-5b7d-4f0e-9a0c-7e8f9a1b2c3d"),
		CommandID:     uuid.MustParse("c0a8012e-5b7d-4f0e-9a0c-7e8f9a1b2c3d"),
		Actor:         event.Actor{ID: "5d6e7f80-1a2b-4c3d-8e9f-a0b1c2d3e4f5", Role: event.RoleMember},
		OccurredAt:    time.Date(2024, 3, 14, 9, 26, 53, 0, time.UTC),
	}
}

// TestMetadataGolden pins the stored metadata format: changing a JSON name breaks every stored event.
func TestMetadataGolden(t *testing.T) {
	reg := newRegistry(t)
	rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, requestSubmitted{Service: "rsa-renewal"})
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "metadata.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rec.Metadata); got != strings.TrimSpace(string(golden)) {
		t.Fatalf("metadata encoding changed:\n got %s\nwant %s", got, golden)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	reg := newRegistry(t)
	meta := sampleMetadata()
	in := commentPosted{Body: "rendez-vous confirmé", Internal: false}
	rec, err := reg.NewRecord(sampleStream, meta, 1, in)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Type != "SampleCommentPosted" || rec.Stream != sampleStream.String() || rec.EventID != event.DeriveID(meta.CommandID, 1) {
		t.Fatalf("record = %+v", rec)
	}
	if !bytes.Equal(rec.Data, []byte(`{"body":"rendez-vous confirmé","internal":false}`)) {
		t.Fatalf("data = %s", rec.Data)
	}
	env, err := reg.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	meta.SchemaVersion = 1
	if env.Event != in || env.Metadata != meta || env.EventID != rec.EventID || env.Type != rec.Type {
		t.Fatalf("envelope = %+v", env)
	}
}

func TestDeriveID(t *testing.T) {
	cmd := uuid.MustParse("c0a8012e-5b7d-4f0e-9a0c-7e8f9a1b2c3d")
	a, b := event.DeriveID(cmd, 0), event.DeriveID(cmd, 1)
	if a == b || a != event.DeriveID(cmd, 0) || a.Version() != 5 || a == event.DeriveID(uuid.New(), 0) {
		t.Fatalf("DeriveID: %s %s", a, b)
	}
	// Pinned: changing the derivation would make every retried command after a deploy append twice.
	if got := a.String(); got != uuid.NewSHA1(cmd, []byte("0")).String() {
		t.Fatalf("DeriveID(cmd, 0) = %s", got)
	}
}

func TestNewRecordRejects(t *testing.T) {
	reg := newRegistry(t)
	meta := sampleMetadata()
	tests := []struct {
		name   string
		stream event.StreamID
		meta   func(*event.Metadata)
		v      any
		want   error
	}{
		{"unregistered value", sampleStream, nil, struct{ X int }{1}, event.ErrUnregistered},
		{"pointer to a registered value", sampleStream, nil, &commentPosted{}, event.ErrUnregistered},
		{"invalid stream", event.StreamID{Category: "x-y", ID: uuid.New()}, nil, commentPosted{}, event.ErrInvalidStreamID},
		{"no command id", sampleStream, func(m *event.Metadata) { m.CommandID = uuid.Nil }, commentPosted{}, event.ErrInvalidMetadata},
		{"unknown role", sampleStream, func(m *event.Metadata) { m.Actor.Role = "root" }, commentPosted{}, event.ErrInvalidMetadata},
		{"no time", sampleStream, func(m *event.Metadata) { m.OccurredAt = time.Time{} }, commentPosted{}, event.ErrInvalidMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := meta
			if tt.meta != nil {
				tt.meta(&m)
			}
			if _, err := reg.NewRecord(tt.stream, m, 0, tt.v); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	err := event.Metadata{}.Validate()
	for _, part := range []string{"correlation", "causation", "command", "actor id", "role", "occurred_at"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("Validate of empty metadata does not mention %q: %v", part, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	reg := newRegistry(t)
	good, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, commentPosted{Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*event.Record)
		want error
	}{
		{"unknown type", func(r *event.Record) { r.Type = "SomethingElse" }, event.ErrUnknownType},
		{"future version", func(r *event.Record) { r.Metadata = []byte(`{"schema_version":7}`) }, event.ErrUnknownType},
		{"foreign stream", func(r *event.Record) { r.Stream = "orders-42" }, event.ErrInvalidStreamID},
		{"bad metadata", func(r *event.Record) { r.Metadata = []byte(`{`) }, event.ErrInvalidMetadata},
		{"bad payload", func(r *event.Record) { r.Data = []byte(`{"body":1}`) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, err := reg.Open(r)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUpcasterErrorsSurface(t *testing.T) {
	boom := errors.New("boom")
	reg, err := event.NewRegistry([]event.Definition{
		event.Define[commentPosted]("SampleCommentPosted", event.Replaces("SampleNoteAdded", 1, func([]byte) ([]byte, error) { return nil, boom })),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Decode("SampleNoteAdded", 1, []byte(`{}`)); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRegistryRejects(t *testing.T) {
	up := func(b []byte) ([]byte, error) { return b, nil }
	type other struct{}
	tests := []struct {
		name  string
		lists [][]event.Definition
		want  string
	}{
		{"duplicate name across packages", [][]event.Definition{
			{event.Define[commentPosted]("Same")}, {event.Define[other]("Same")}}, "defined twice"},
		{"same Go type twice", [][]event.Definition{{event.Define[other]("A"), event.Define[other]("B")}}, "already defined"},
		{"empty name", [][]event.Definition{{event.Define[other]("")}}, "empty type name"},
		{"system name", [][]event.Definition{{event.Define[other]("$metadata")}}, "belong to the event store"},
		{"space in name", [][]event.Definition{{event.Define[other]("Member Registered")}}, "space"},
		{"pointer type", [][]event.Definition{{event.Define[*other]("P")}}, "define the value type"},
		{"version 0", [][]event.Definition{{event.Define[other]("A", event.Version(0))}}, "below 1"},
		{"missing upcast", [][]event.Definition{{event.Define[other]("A", event.Version(3), event.Upcast(1, up))}}, "no upcast from v2"},
		{"upcast from current", [][]event.Definition{{event.Define[other]("A", event.Upcast(1, up))}}, "current version"},
		{"nil upcaster", [][]event.Definition{{event.Define[other]("A", event.Replaces("Old", 1, nil))}}, "nil upcaster"},
		{"two replacements of one schema", [][]event.Definition{{
			event.Define[other]("A", event.Replaces("Old", 1, up)), event.Define[commentPosted]("B", event.Replaces("Old", 1, up))}}, "two upcasters"},
		{"replacing a live type", [][]event.Definition{{
			event.Define[other]("A"), event.Define[commentPosted]("B", event.Replaces("A", 1, up))}}, "current schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.NewRegistry(tt.lists...)
			if !errors.Is(err, event.ErrInvalidDefinition) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidDefinition mentioning %q", err, tt.want)
			}
		})
	}
	// Every problem is reported at once.
	_, err := event.NewRegistry([]event.Definition{event.Define[other](""), event.Define[commentPosted]("$x")})
	if err == nil || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), "$x") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegistryDefinitions(t *testing.T) {
	reg := newRegistry(t)
	got := map[string]int{}
	for _, d := range reg.Definitions() {
		got[d.Name()] = d.Version()
	}
	if want := map[string]int{"SampleRequestSubmitted": 2, "SampleCommentPosted": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("definitions = %v", got)
	}
}

func ExampleRegistry_Decode() {
	reg, _ := event.NewRegistry(sampleDefinitions())
	v, _ := reg.Decode("SampleRequestSubmitted", 1, []byte(`{"service":"rsa-renewal","deadline_days":30}`))
	fmt.Printf("%+v\n", v)
	// Output: {Service:rsa-renewal Deadline:{Days:30 Calendar:true}}
}
