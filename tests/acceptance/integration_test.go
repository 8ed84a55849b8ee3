package acceptance

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	_ "github.com/lib/pq" // the fund's publisher connects with database/sql

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// financePublisher is what the fund's systems run: watermill-sql's Publisher with its default PostgreSQL schema, on
// the integration database.
func financePublisher(t *testing.T, dsn string) func(nir string, payment map[string]any) {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromStdSQL(db), wmsql.PublisherConfig{
		SchemaAdapter: wmsql.DefaultPostgreSQLSchema{}, AutoInitializeSchema: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(nir string, payment map[string]any) {
		t.Helper()
		payload, err := json.Marshal(map[string]any{"kind": "payment", "nir": nir, "fact": payment})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish("dossier.finance-facts", message.NewMessage(uuid.NewString(), payload)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitPayments polls GET /v1/payments as token until the answer holds want.
func (e *memberEnv) waitPayments(t *testing.T, token, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.must(t, 200, e.call(t, "GET", "/v1/payments", token, nil), "payments")
		if strings.Contains(string(r.raw), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s not visible after 20s: %s", want, r.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFinanceFactsFromTheIntegrationBroker: `dossier serve --integration-url` consumes the payments the fund's
// systems publish on PostgreSQL: Alice, who has an account, sees hers; Bob, insured but without an account yet, sees
// his once he has registered. /readyz reports the consumer, /metrics counts the messages, and neither the metrics
// nor the logs hold a NIR.
func TestFinanceFactsFromTheIntegrationBroker(t *testing.T) {
	broker := sqldbtest.NewTarget(t, sqldb.Postgres)
	e := startMemberEnv(t, "--integration-url", broker.DSN, "--integration-poll-interval", "100ms")
	if !strings.Contains(e.srv.logs.String(), "integration=\"PostgreSQL postgres://") {
		t.Errorf("the start-up log does not name the integration broker:\n%s", e.srv.logs.Tail(2000))
	}
	var ready struct {
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	_, body := e.srv.get(t, "/readyz")
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ready.Checks {
		found = found || (c.Name == "integration" && c.OK)
	}
	if !found {
		t.Fatalf("/readyz has no passing integration check: %s", body)
	}

	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	publish := financePublisher(t, broker.DSN)
	publish(aliceNIR+aliceKey, map[string]any{"payment_id": "PF-INT-1", "kind": "family_benefits",
		"amount_cents": 14172, "paid_on": "2025-12-05", "label": "Allocations familiales"})
	e.waitPayments(t, alice, "PF-INT-1")

	// Bob has no account yet: his payment is kept, and shown once he has opened one.
	publish(bobNIR+bobKey, map[string]any{"payment_id": "PF-INT-2", "kind": "housing_aid",
		"amount_cents": 25_000, "paid_on": "2025-12-06", "label": "Aide au logement"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, metrics := e.srv.get(t, "/metrics")
		if strings.Contains(string(metrics), `dossier_integration_finance_messages_total{code="",outcome="parked"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Bob's payment not parked after 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	e.waitPayments(t, bob, "PF-INT-2")
	if r := e.must(t, 200, e.call(t, "GET", "/v1/payments", alice, nil), "alice's payments"); strings.Contains(string(r.raw), "PF-INT-2") {
		t.Fatalf("alice sees bob's payment: %s", r.raw)
	}

	_, metrics := e.srv.get(t, "/metrics")
	if !strings.Contains(string(metrics), `dossier_integration_finance_messages_total{code="",outcome="recorded"} 1`) {
		t.Errorf("/metrics does not count the recorded message")
	}
	for _, secret := range []string{aliceNIR, bobNIR} {
		if strings.Contains(string(metrics), secret) || strings.Contains(e.srv.logs.String(), secret) {
			t.Errorf("a NIR in /metrics or the logs")
		}
	}
	e.srv.stop(t)
}

// TestDocumentsFromTheIntegrationBroker: `dossier serve --integration-url` consumes the documents the fund's systems
// publish on topic dossier.documents: Alice finds hers in her inbox over HTTP and downloads it as published; the
// same message again publishes nothing more; an invalid one (a file that is not a PDF, JPEG or PNG) is counted and
// acknowledged, and the documents after it still arrive. /readyz reports the consumer; no NIR in metrics or logs.
func TestDocumentsFromTheIntegrationBroker(t *testing.T) {
	broker := sqldbtest.NewTarget(t, sqldb.Postgres)
	e := startMemberEnv(t, "--integration-url", broker.DSN, "--integration-poll-interval", "100ms")
	_, ready := e.srv.get(t, "/readyz")
	if !strings.Contains(string(ready), `"integration-documents"`) {
		t.Errorf("/readyz has no integration-documents check: %s", ready)
	}
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	db, err := sql.Open("postgres", broker.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromStdSQL(db), wmsql.PublisherConfig{
		SchemaAdapter: wmsql.DefaultPostgreSQLSchema{}, AutoInitializeSchema: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(body map[string]any) {
		t.Helper()
		payload, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish("dossier.documents", message.NewMessage(uuid.NewString(), payload)); err != nil {
			t.Fatal(err)
		}
	}
	pdf := filechecktest.PDF("Attestation de droits 2026")
	doc := map[string]any{"external_id": "GED-2026-1", "nir": aliceNIR + aliceKey, "title": "Attestation de droits",
		"file_name": "attestation.pdf", "file": base64.StdEncoding.EncodeToString(pdf)}
	publish(doc)
	publish(doc) // the same message again
	publish(map[string]any{"external_id": "GED-2026-2", "nir": aliceNIR + aliceKey, "title": "Pas un PDF",
		"file": base64.StdEncoding.EncodeToString([]byte("just text"))})
	doc2 := map[string]any{"external_id": "GED-2026-3", "nir": aliceNIR + aliceKey, "title": "Relevé annuel",
		"file": base64.StdEncoding.EncodeToString(filechecktest.PNG(8, 8))}
	publish(doc2)

	want := []string{`dossier_integration_documents_messages_total{code="",outcome="recorded"} 2`,
		`dossier_integration_documents_messages_total{code="",outcome="unchanged"} 1`,
		`dossier_integration_documents_messages_total{code="document.file_type",outcome="rejected"} 1`}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, metrics := e.srv.get(t, "/metrics")
		all := true
		for _, w := range want {
			all = all && strings.Contains(string(metrics), w)
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("documents not consumed after 30s: %s", grepLines(string(metrics), "dossier_integration_documents"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var list response
	deadline = time.Now().Add(20 * time.Second)
	for {
		list = e.must(t, 200, e.call(t, "GET", "/v1/documents", alice, nil), "alice's inbox")
		if docs, _ := list.body["documents"].([]any); len(docs) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	docs, _ := list.body["documents"].([]any)
	if len(docs) != 2 || !strings.Contains(string(list.raw), "Attestation de droits") ||
		!strings.Contains(string(list.raw), "Relevé annuel") || strings.Contains(string(list.raw), "Pas un PDF") {
		t.Fatalf("alice's inbox: %s", list.raw)
	}
	var id string
	for _, d := range docs {
		if m := d.(map[string]any); m["title"] == "Attestation de droits" {
			id, _ = m["id"].(string)
			if id == "" {
				id, _ = m["document_id"].(string)
			}
		}
	}
	content := e.must(t, 200, e.call(t, "GET", "/v1/documents/"+id+"/content", alice, nil), "download")
	if !bytes.Equal(content.raw, pdf) || content.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("content: %q (%d bytes)", content.header.Get("Content-Type"), len(content.raw))
	}
	_, metrics := e.srv.get(t, "/metrics")
	if strings.Contains(string(metrics), aliceNIR) || strings.Contains(e.srv.logs.String(), aliceNIR) {
		t.Errorf("a NIR in /metrics or the logs")
	}
	e.srv.stop(t)
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
