package acceptance

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	_ "github.com/lib/pq" // the fund's publisher connects with database/sql

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
