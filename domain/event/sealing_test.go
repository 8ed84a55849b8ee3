package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
)

// A sample event with personal fields of every shape.
type caseNoted struct {
	Author  uuid.UUID         `json:"author" personal:"no"`
	Status  string            `json:"status" personal:"no"`
	Text    string            `json:"text" personal:"yes"`
	Contact contact           `json:"contact" personal:"yes"`
	Tags    []string          `json:"tags,omitempty" personal:"yes"`
	Answers map[string]string `json:"answers,omitempty" personal:"yes"`
	Form    json.RawMessage   `json:"form,omitempty" personal:"yes"`
	Key     int               `json:"key" personal:"yes"`
}

type contact struct {
	Name    string   `json:"name"`
	Phones  []string `json:"phones"`
	Address struct {
		City string `json:"city"`
	} `json:"address"`
	Age int `json:"age"`
}

// caseOpened has no personal field.
type caseOpened struct {
	Queue string `json:"queue" personal:"no"`
}

func sealingDefinitions() []event.Definition {
	return []event.Definition{event.Define[caseNoted]("SampleCaseNoted"), event.Define[caseOpened]("SampleCaseOpened")}
}

func sealingRegistry(t testing.TB) (*event.Registry, *eventtest.MemorySealer) {
	t.Helper()
	reg, err := event.NewRegistry(sampleDefinitions(), sealingDefinitions())
	if err != nil {
		t.Fatal(err)
	}
	s := eventtest.NewMemorySealer()
	return reg.WithSealer(s), s
}

func sampleNote() caseNoted {
	n := caseNoted{
		Author: uuid.MustParse("5d6e7f80-1a2b-4c3d-8e9f-a0b1c2d3e4f5"), Status: "open",
		Text:    "Mme Lefèvre signale un changement de situation",
		Tags:    []string{"divorce-2025"},
		Answers: map[string]string{"motif": "séparation récente"},
		Form:    json.RawMessage(`{"iban":"FR7630006000011234567890189"}`),
		Key:     42,
	}
	n.Contact.Name, n.Contact.Phones, n.Contact.Address.City, n.Contact.Age = "Jeanne Lefèvre", []string{"+33612345678"}, "Pontivy", 51
	return n
}

// personalValues are the texts of sampleNote that must never be stored in clear.
var personalValues = []string{"Lefèvre", "changement de situation", "divorce-2025", "séparation", "FR7630006000011234567890189",
	"Jeanne", "+33612345678", "Pontivy"}

func TestSealedRoundTrip(t *testing.T) {
	reg, sealer := sealingRegistry(t)
	in := sampleNote()
	rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range personalValues {
		if bytes.Contains(rec.Data, []byte(v)) || bytes.Contains(rec.Metadata, []byte(v)) {
			t.Errorf("%q stored in clear: %s", v, rec.Data)
		}
	}
	var stored map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &stored); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(slices.Sorted(maps.Keys(stored)), ","); got != "_sealed,author,status" {
		t.Errorf("stored members %s: %s", got, rec.Data)
	}
	if !bytes.HasPrefix(rec.Data, []byte(`{"author":"5d6e7f80-1a2b-4c3d-8e9f-a0b1c2d3e4f5","status":"open","_sealed":"`)) {
		t.Errorf("clear fields keep their order, the sealed member comes last: %s", rec.Data)
	}
	// No subject given: the stream's id, written into the metadata.
	var meta event.Metadata
	if err := json.Unmarshal(rec.Metadata, &meta); err != nil || meta.Subject != sampleStream.ID {
		t.Fatalf("metadata subject %s (%v), want the stream id", meta.Subject, err)
	}
	if !sealer.Has(sampleStream.ID) {
		t.Fatal("no key created for the stream's id")
	}
	env, err := reg.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env.Event, in) || env.Erased || env.Metadata.Subject != sampleStream.ID {
		t.Fatalf("opened %#v (erased %v)\nwant %#v", env.Event, env.Erased, in)
	}
}

func TestSealedUnderTheNamedSubject(t *testing.T) {
	reg, sealer := sealingRegistry(t)
	meta := sampleMetadata()
	member := uuid.New()
	meta.Subject = member
	rec, err := reg.NewRecord(sampleStream, meta, 0, sampleNote())
	if err != nil {
		t.Fatal(err)
	}
	if !sealer.Has(member) || sealer.Has(sampleStream.ID) {
		t.Fatal("sealed under the stream's key, not the subject's")
	}
	sealer.Erase(member)
	env, err := reg.Open(rec)
	if err != nil || !env.Erased {
		t.Fatalf("erasing the subject's key: erased %v, %v", env.Erased, err)
	}
}

func TestErasedFields(t *testing.T) {
	reg, sealer := sealingRegistry(t)
	rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, sampleNote())
	if err != nil {
		t.Fatal(err)
	}
	sealer.Erase(sampleStream.ID)
	env, err := reg.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := caseNoted{Author: sampleNote().Author, Status: "open", Text: event.ErasedText, Tags: []string{event.ErasedText}}
	want.Contact.Name, want.Contact.Phones, want.Contact.Address.City = event.ErasedText, []string{event.ErasedText}, event.ErasedText
	if !env.Erased || !reflect.DeepEqual(env.Event, want) {
		t.Fatalf("erased %v %#v\nwant %#v", env.Erased, env.Event, want)
	}
	// A new event for an erased subject cannot be sealed.
	if _, err := reg.NewRecord(sampleStream, sampleMetadata(), 1, sampleNote()); !errors.Is(err, event.ErrErased) {
		t.Fatalf("sealing for an erased subject: %v", err)
	}
}

func TestNothingPersonalSetIsStoredAsIs(t *testing.T) {
	reg, sealer := sealingRegistry(t)
	plain := newRegistry(t)
	for _, v := range []any{caseOpened{Queue: "rsa"}, caseNoted{Status: "open"}, commentPosted{Body: "not classified"}} {
		rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(v)
		if !bytes.Equal(rec.Data, want) {
			t.Errorf("%T stored as %s, want %s", v, rec.Data, want)
		}
		env, err := reg.Open(rec)
		if err != nil || !reflect.DeepEqual(env.Event, v) || env.Erased {
			t.Errorf("%T: %#v %v", v, env.Event, err)
		}
		if _, ok := v.(commentPosted); ok {
			if _, err := plain.Open(rec); err != nil {
				t.Errorf("a record without sealed data needs no sealer: %v", err)
			}
		}
	}
	if sealer.Has(sampleStream.ID) {
		t.Error("a key was created though nothing was sealed")
	}
}

func TestSealedValueBoundToItsEvent(t *testing.T) {
	reg, _ := sealingRegistry(t)
	a, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, sampleNote())
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.NewRecord(sampleStream, sampleMetadata(), 1, caseNoted{Text: "autre"})
	if err != nil {
		t.Fatal(err)
	}
	moved := b
	moved.Data = a.Data // a's sealed value in another event (same subject, same type)
	if _, err := reg.Open(moved); err == nil || errors.Is(err, event.ErrErased) {
		t.Fatalf("a sealed value moved to another event opened: %v", err)
	}
	renamed := a
	renamed.Type = "SampleCommentPosted" // same event id, another type
	if _, err := reg.Open(renamed); err == nil {
		t.Fatal("a sealed value read under another type name opened")
	}
	if _, err := reg.Open(a); err != nil {
		t.Fatal(err)
	}
}

func TestSealedWithoutSealer(t *testing.T) {
	reg, _ := sealingRegistry(t)
	rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, sampleNote())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := event.NewRegistry(sampleDefinitions(), sealingDefinitions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Open(rec); !errors.Is(err, event.ErrSealed) {
		t.Fatalf("err = %v, want ErrSealed", err)
	}
}

// Records written before sealing (or by a registry without a sealer) decode as they always did.
func TestClearRecordsStillDecode(t *testing.T) {
	plain, err := event.NewRegistry(sampleDefinitions(), sealingDefinitions())
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := sealingRegistry(t)
	in := sampleNote()
	rec, err := plain.NewRecord(sampleStream, sampleMetadata(), 0, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rec.Data, []byte("Pontivy")) || bytes.Contains(rec.Metadata, []byte("subject")) {
		t.Fatalf("without a sealer, records are as before: %s %s", rec.Data, rec.Metadata)
	}
	env, err := reg.Open(rec)
	if err != nil || !reflect.DeepEqual(env.Event, in) || env.Erased {
		t.Fatalf("%#v %v", env.Event, err)
	}
	// "_sealed" inside a value is not sealed data.
	in.Form = json.RawMessage(`{"_sealed":"x"}`)
	if rec, err = plain.NewRecord(sampleStream, sampleMetadata(), 0, in); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*event.Registry{plain, reg} {
		if env, err := r.Open(rec); err != nil || !reflect.DeepEqual(env.Event, in) {
			t.Fatalf("%#v %v", env.Event, err)
		}
	}
}

// Upcasters see the whole payload, the personal fields opened.
func TestUpcastAfterOpening(t *testing.T) {
	type noteV1 struct {
		Text string `json:"text" personal:"yes"`
	}
	type noteV2 struct {
		Body  string `json:"body" personal:"yes"`
		Words int    `json:"words" personal:"no"`
	}
	sealer := eventtest.NewMemorySealer()
	v1, err := event.NewRegistry([]event.Definition{event.Define[noteV1]("SampleNote")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := v1.WithSealer(sealer).NewRecord(sampleStream, sampleMetadata(), 0, noteV1{Text: "trois mots ici"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := event.NewRegistry([]event.Definition{event.Define[noteV2]("SampleNote", event.Version(2),
		event.Upcast(1, func(data []byte) ([]byte, error) {
			var old noteV1
			if err := json.Unmarshal(data, &old); err != nil {
				return nil, err
			}
			return json.Marshal(noteV2{Body: old.Text, Words: len(strings.Fields(old.Text))})
		}))})
	if err != nil {
		t.Fatal(err)
	}
	env, err := v2.WithSealer(sealer).Open(rec)
	if err != nil || env.Event != (noteV2{Body: "trois mots ici", Words: 3}) {
		t.Fatalf("%#v %v", env.Event, err)
	}
	sealer.Erase(sampleStream.ID)
	env, err = v2.WithSealer(sealer).Open(rec)
	if err != nil || !env.Erased || env.Event != (noteV2{Body: event.ErasedText}) {
		t.Fatalf("erased and upcast: %#v %v", env.Event, err)
	}
}

func TestDefinitionsRejectBadClassification(t *testing.T) {
	type badTag struct {
		X string `personal:"maybe"`
	}
	type reserved struct {
		X string `json:"_sealed" personal:"no"`
	}
	type Inner struct{ Y string }
	type embedding struct {
		Inner `personal:"no"`
		X     string `personal:"yes"`
	}
	for _, d := range []event.Definition{event.Define[badTag]("A"), event.Define[reserved]("B"), event.Define[embedding]("C")} {
		if _, err := event.NewRegistry([]event.Definition{d}); !errors.Is(err, event.ErrInvalidDefinition) {
			t.Errorf("%s: err = %v", d.Name(), err)
		}
	}
}

func TestCheckClassification(t *testing.T) {
	type unclassified struct {
		Text  string            `json:"text"`
		List  []string          `json:"list"`
		Map   map[string]int    `json:"map"`
		Raw   json.RawMessage   `json:"raw"`
		Any   any               `json:"any"`
		Inner struct{ N int }   `json:"inner"`
		Ptr   *string           `json:"ptr"`
		Fine  int               `json:"fine"`
		ID    uuid.UUID         `json:"id"`
		Skip  string            `json:"-"`
		Ok    map[string]string `json:"ok" personal:"no"`
	}
	err := event.CheckClassification([]event.Definition{event.Define[unclassified]("U")}, sealingDefinitions())
	for _, f := range []string{".Text:", ".List:", ".Map:", ".Raw:", ".Any:", ".Inner:", ".Ptr:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("%s not reported: %v", f, err)
		}
	}
	for _, f := range []string{".Fine:", ".ID:", ".Skip:", ".Ok:", "SampleCase"} {
		if err != nil && strings.Contains(err.Error(), f) {
			t.Errorf("%s reported: %v", f, err)
		}
	}
	if d := sealingDefinitions()[0]; !reflect.DeepEqual(d.Personal(), []string{"text", "contact", "tags", "answers", "form", "key"}) {
		t.Errorf("Personal() = %v", d.Personal())
	}
}

// Open never panics on a stored payload, sealed or not, whatever its bytes.
func FuzzOpenPayload(f *testing.F) {
	reg, _ := sealingRegistry(f)
	for _, v := range []any{sampleNote(), caseNoted{Text: "x"}, caseOpened{Queue: "q"}} {
		rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec.Data)
	}
	f.Add([]byte(`  "_sealed":"AAAA"}`))
	f.Add([]byte(`{"_sealed":"AAAA", "text":"x"}`))
	f.Add([]byte(`{"form":{"_sealed":"AAAA"}}`))
	rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, sampleNote())
	if err != nil {
		f.Fatal(err)
	}
	plain, err := event.NewRegistry(sampleDefinitions(), sealingDefinitions())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := rec
		r.Data = data
		reg.Open(r)   //nolint:errcheck // only panics matter
		plain.Open(r) //nolint:errcheck
	})
}
