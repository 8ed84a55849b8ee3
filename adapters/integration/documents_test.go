package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// pngFile is a small valid PNG (filecheck decodes images fully).
func pngFile(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type docFixture struct {
	*fixture
	blobs  *blobstore.Store
	handle integration.FinanceFunc
	member uuid.UUID
}

// newDocFixture is the real node with a member who has an account (testNIR), the inbox commands over an in-memory
// blob store, and the Documents handler resolving members on the event store.
func newDocFixture(t *testing.T, maxBytes int64) *docFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, inbox.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	f := &docFixture{fixture: &fixture{env: env, keys: keys}, member: uuid.New()}
	n, _ := nir.Parse(testNIR)
	f.write(t, event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body())), member.Claimed{MemberID: f.member})
	f.write(t, event.NewStreamID(member.Category, f.member), member.Registered{RegistrationID: uuid.New(), NIR: n.Body(), Key: 16,
		LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr", MobilePhone: "+33612345678"})
	f.blobs, err = blobstore.Open(ctxOf(t), "mem://", eventtest.NewMemorySealer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.blobs.Close() })
	cmds, err := command.NewInbox(command.Runtime{Store: env.Store}, f.blobs)
	if err != nil {
		t.Fatal(err)
	}
	f.handle = integration.Documents(integration.DocumentsConfig{Publisher: cmds,
		Members: integration.StoreMembers(env.Store, keys), MaxBytes: maxBytes})
	return f
}

func docMessage(t *testing.T, body map[string]any) *message.Message {
	t.Helper()
	payload, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.SetContext(ctxOf(t))
	return msg
}

// published is the documents of the member's inbox.
func (f *docFixture) published(t *testing.T) []inbox.Published {
	t.Helper()
	history, err := f.env.Store.Load(ctxOf(t), inbox.StreamID(f.member))
	if err != nil {
		t.Fatal(err)
	}
	var out []inbox.Published
	for _, env := range history {
		if p, ok := env.Event.(inbox.Published); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestDocumentsPublishOnceByExternalID(t *testing.T) {
	f := newDocFixture(t, 0)
	file := pngFile(t)
	b64 := base64.StdEncoding.EncodeToString(file)
	msg := map[string]any{"external_id": "GED-1", "member_id": f.member.String(), "title": "Attestation de droits",
		"file_name": "attestation.png", "file": b64}
	if o, err := f.handle(docMessage(t, msg)); err != nil || o != integration.OutcomeRecorded {
		t.Fatalf("first: %v %v", o, err)
	}
	// The same document again, in a new message, and named by NIR: nothing more.
	if o, err := f.handle(docMessage(t, msg)); err != nil || o != integration.OutcomeUnchanged {
		t.Fatalf("again: %v %v", o, err)
	}
	byNIR := map[string]any{"external_id": "GED-1", "nir": testNIR, "title": "Attestation de droits", "file": b64}
	if o, err := f.handle(docMessage(t, byNIR)); err != nil || o != integration.OutcomeUnchanged {
		t.Fatalf("again by NIR: %v %v", o, err)
	}
	byNIR["external_id"] = "GED-2"
	if o, err := f.handle(docMessage(t, byNIR)); err != nil || o != integration.OutcomeRecorded {
		t.Fatalf("second document by NIR: %v %v", o, err)
	}
	docs := f.published(t)
	if len(docs) != 2 {
		t.Fatalf("inbox: %d documents, want 2: %+v", len(docs), docs)
	}
	d := docs[0]
	if d.Kind != inbox.KindExternal || d.Title != "Attestation de droits" || d.FileName != "attestation.png" ||
		d.ContentType != "image/png" || d.Size != int64(len(file)) ||
		d.DocumentID != command.InboxDocumentID(inbox.KindExternal, inbox.ExternalSource(f.member, "GED-1")) {
		t.Fatalf("published: %+v", d)
	}
	if docs[1].FileName != "document.png" {
		t.Fatalf("default file name: %q", docs[1].FileName)
	}
	got, err := f.blobs.Get(ctxOf(t), f.member, d.BlobKey)
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("blob: %v (%d bytes)", err, len(got))
	}
}

func TestDocumentsInvalidMessagesWriteNothing(t *testing.T) {
	f := newDocFixture(t, 4096)
	b64 := base64.StdEncoding.EncodeToString(pngFile(t))
	ok := func() map[string]any {
		return map[string]any{"external_id": "X-1", "member_id": f.member.String(), "title": "Titre", "file": b64}
	}
	with := func(k string, v any) map[string]any { m := ok(); m[k] = v; return m }
	without := func(k string) map[string]any { m := ok(); delete(m, k); return m }
	cases := []struct {
		name string
		body any
		code string
	}{
		{"not JSON", "nope", "integration.document_malformed"},
		{"unknown field", with("kind", "x"), "integration.document_malformed"},
		{"no external id", without("external_id"), "integration.document_external_id"},
		{"long external id", with("external_id", strings.Repeat("x", 201)), "integration.document_external_id"},
		{"no member", without("member_id"), "integration.member_reference"},
		{"member and nir", with("nir", testNIR), "integration.member_reference"},
		{"unknown member", with("member_id", uuid.NewString()), "integration.member_unknown"},
		{"nir without account", map[string]any{"external_id": "X", "nir": insuredNIR, "title": "T", "file": b64}, "integration.member_unknown"},
		{"bad base64", with("file", "***"), "integration.document_file_encoding"},
		{"not an image nor a PDF", with("file", base64.StdEncoding.EncodeToString([]byte("hello, plain text"))), "document.file_type"},
		{"too large", with("file", base64.StdEncoding.EncodeToString(make([]byte, 5000))), "document.file_too_large"},
		{"no title", without("title"), "inbox.title_invalid"},
	}
	for _, c := range cases {
		var msg *message.Message
		if s, isText := c.body.(string); isText {
			msg = message.NewMessage(watermill.NewUUID(), []byte(s))
			msg.SetContext(ctxOf(t))
		} else {
			msg = docMessage(t, c.body.(map[string]any))
		}
		o, err := f.handle(msg)
		if o != integration.OutcomeRejected || failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != c.code {
			t.Errorf("%s: %v %v (code %q), want rejected %s", c.name, o, err, failure.CodeOf(err), c.code)
		}
		if err != nil && strings.Contains(err.Error(), f.member.String()) {
			t.Errorf("%s: the error quotes the message: %v", c.name, err)
		}
	}
	if docs := f.published(t); len(docs) != 0 {
		t.Fatalf("invalid messages published %d documents", len(docs))
	}
}

// TestDocumentsConsumer runs the shared Consumer on DocumentsTopic: a document, the same again, an invalid one, all
// acknowledged and counted by outcome and code.
func TestDocumentsConsumer(t *testing.T) {
	f := newDocFixture(t, 0)
	pubsub := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16, Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { pubsub.Close() })
	reg := prometheus.NewRegistry()
	metrics, err := integration.NewDocumentMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := integration.NewConsumer(integration.ConsumerConfig{Subscriber: pubsub, Topic: integration.DocumentsTopic,
		Handle: f.handle, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctxOf(t))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	good, _ := json.Marshal(map[string]any{"external_id": "GED-9", "member_id": f.member.String(), "title": "Relevé",
		"file": base64.StdEncoding.EncodeToString(pngFile(t))})
	for _, p := range [][]byte{good, good, []byte(`{"external_id":`)} {
		if err := pubsub.Publish(integration.DocumentsTopic, message.NewMessage(watermill.NewUUID(), p)); err != nil {
			t.Fatal(err)
		}
	}
	// A finance message on the finance topic is not this consumer's.
	if err := pubsub.Publish(integration.FinanceTopic, message.NewMessage(watermill.NewUUID(), good)); err != nil {
		t.Fatal(err)
	}
	deadline := ctxOf(t)
	for count(t, reg, "recorded", "")+count(t, reg, "unchanged", "")+count(t, reg, "rejected", "integration.document_malformed") < 3 {
		select {
		case <-deadline.Done():
			t.Fatal("messages not consumed")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		outcome, code string
		n             float64
	}{{"recorded", "", 1}, {"unchanged", "", 1}, {"rejected", "integration.document_malformed", 1}} {
		if got := count(t, reg, want.outcome, want.code); got != want.n {
			t.Errorf("%s %s: %v, want %v", want.outcome, want.code, got, want.n)
		}
	}
	if docs := f.published(t); len(docs) != 1 {
		t.Fatalf("inbox: %d documents, want 1", len(docs))
	}
}

// count is the value of dossier_integration_documents_messages_total{outcome, code} in reg (0 when absent).
func count(t *testing.T, reg *prometheus.Registry, outcome, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "dossier_integration_documents_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["outcome"] == outcome && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
