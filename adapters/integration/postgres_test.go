package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/tests/testlog"
)

// flaky is the command handler, failing its first `failures` NIR records as an unreachable event store would.
type flaky struct {
	integration.FinanceRecorder
	mu       sync.Mutex
	failures int
}

func (f *flaky) RecordFinanceFactByNIR(ctx context.Context, m command.Meta, n nir.NIR, fact any) (command.FinanceFactResult, error) {
	f.mu.Lock()
	fail := f.failures > 0
	f.failures--
	f.mu.Unlock()
	if fail {
		return command.FinanceFactResult{}, failure.Wrap("test.flaky", failure.Unavailable, errors.New("event store out of reach"))
	}
	return f.FinanceRecorder.RecordFinanceFactByNIR(ctx, m, n, fact)
}

// calls counts the handler's calls by message UUID.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) wrap(h integration.FinanceFunc) integration.FinanceFunc {
	return func(msg *message.Message) (integration.Outcome, error) {
		c.mu.Lock()
		c.n[msg.UUID]++
		c.mu.Unlock()
		return h(msg)
	}
}

func (c *calls) of(uuid string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[uuid]
}

func (c *calls) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// running is a consumer on the PostgreSQL transport, stopped (and checked to stop cleanly) by stop.
type running struct {
	consumer *integration.Consumer
	stop     func()
}

func startPostgresConsumer(t *testing.T, dsn string, handle integration.FinanceFunc, metrics *integration.Metrics,
	logger *slog.Logger) *running {
	t.Helper()
	transport, err := integration.OpenPostgres(integration.PostgresConfig{URL: dsn, PollInterval: 20 * time.Millisecond,
		Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c, err := integration.NewConsumer(integration.ConsumerConfig{Subscriber: transport.Subscriber(), Handle: handle,
		Logger: logger, Metrics: metrics, RetryDelay: 50 * time.Millisecond, Ping: transport.Ping})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctxOf(t)); !errors.Is(err, integration.ErrNotSubscribed) {
		t.Fatalf("ready before running: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	r := &running{consumer: c, stop: func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("consumer: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("consumer did not stop within 10s")
			}
			if err := transport.Close(); err != nil {
				t.Errorf("close transport: %v", err)
			}
		})
	}}
	t.Cleanup(r.stop)
	eventually(t, "the consumer's subscription", func() bool { return c.Ready(ctxOf(t)) == nil })
	return r
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counter reads dossier_integration_finance_messages_total{outcome, code}.
func counter(t *testing.T, reg *prometheus.Registry, outcome, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "dossier_integration_finance_messages_total" {
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

// The fund's systems publish with watermill-sql's own Publisher and default PostgreSQL schema; Dossier's consumer
// records the facts in the members' histories: a transient failure is retried until the fact goes through, an
// invalid message is acknowledged once and the next one still goes through, a person without an account has the
// fact parked; acknowledgements are durable (a restarted consumer starts after them); nothing personal in the logs.
func TestPostgresTransport(t *testing.T) {
	f, id := newFixture(t)
	tg := sqldbtest.NewTarget(t, sqldb.Postgres)
	db, err := sql.Open("postgres", tg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromStdSQL(db), wmsql.PublisherConfig{
		SchemaAdapter: wmsql.DefaultPostgreSQLSchema{}, AutoInitializeSchema: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(msgs ...*message.Message) {
		t.Helper()
		if err := pub.Publish(integration.FinanceTopic, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	metrics, err := integration.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	seen := &calls{n: map[string]int{}}
	handle := seen.wrap(integration.Finance(&flaky{FinanceRecorder: f.h, failures: 1}))
	consumer := startPostgresConsumer(t, tg.DSN, handle, metrics, logger)

	// A fact by NIR whose first attempt meets an unreachable event store: retried, then recorded.
	first := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, NIR: testNIR}, payment)
	correlation := uuid.New()
	first.Metadata.Set(integration.MetaCorrelationID, correlation.String())
	publish(first)
	h := f.waitFor(t, id, 1)
	if len(h) != 1 || h[0].Event != any(payment) || h[0].Metadata.CorrelationID != correlation ||
		h[0].Metadata.CausationID.String() != first.UUID || h[0].Metadata.Actor != command.FinanceIntegrationActor {
		t.Fatalf("after the first message: %+v", h)
	}
	if n := seen.of(first.UUID); n != 2 {
		t.Errorf("first message handled %d times, want 2 (one transient failure)", n)
	}

	// An invalid message (an unknown kind), then a valid one in the same publication: the first is acknowledged once,
	// the second recorded; then a fact for a person of the reference without an account: parked.
	invalid := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: "refund", NIR: testNIR}, payment)
	next := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactInvoice, NIR: testNIR}, invoice)
	publish(invalid, next)
	if h := f.waitFor(t, id, 2); len(h) != 2 || h[1].Event != any(invoice) {
		t.Fatalf("after the invalid message: %+v", h)
	}
	parked := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactPayment, NIR: insuredNIR}, payment)
	publish(parked)
	eventually(t, "the parked fact", func() bool { return len(f.parked(t, insuredBody)) == 1 })
	time.Sleep(200 * time.Millisecond) // room for a wrong redelivery
	if n := seen.of(invalid.UUID); n != 1 {
		t.Errorf("invalid message handled %d times, want 1", n)
	}
	if n := seen.total(); n != 5 {
		t.Errorf("%d handler calls, want 5", n)
	}
	for _, c := range []struct {
		outcome, code string
		want          float64
	}{
		{"recorded", "", 2}, {"retried", "unavailable", 1}, {"rejected", "consultation.unknown_fact", 1}, {"parked", "", 1},
	} {
		if got := counter(t, reg, c.outcome, c.code); got != c.want {
			t.Errorf("counter{outcome=%q, code=%q} = %v, want %v", c.outcome, c.code, got, c.want)
		}
	}

	// The consumer stops; its group's offset is the last message; a new consumer handles only what comes after.
	consumer.stop()
	var acked, last int64
	if err := db.QueryRow(`SELECT offset_acked FROM "watermill_offsets_dossier.finance-facts" WHERE consumer_group = $1`,
		integration.ConsumerGroup).Scan(&acked); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT max("offset") FROM "watermill_dossier.finance-facts"`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if acked != last || last != 4 {
		t.Fatalf("offset acked %d, last message %d", acked, last)
	}
	startPostgresConsumer(t, tg.DSN, handle, metrics, logger)
	statement := consultation.DailyAllowanceStatementRecorded{StatementID: "IJ-1", PeriodStart: "2026-01-05",
		PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"}
	after := factMessage(t, uuid.NewString(), integration.FinanceMessage{Kind: consultation.FactStatement, MemberID: id.String()}, statement)
	publish(after)
	f.waitFor(t, id, 3)
	time.Sleep(200 * time.Millisecond)
	if n := seen.total(); n != 6 || seen.of(after.UUID) != 1 {
		t.Errorf("after a restart: %d handler calls, want 6 (nothing redelivered)", n)
	}

	for _, secret := range []string{testNIR, insuredNIR, "1850375115042", "Dupont", "PF-2025-12-42", "F-2026-77"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	if !strings.Contains(logs.String(), "consultation.unknown_fact") {
		t.Errorf("the rejection is not logged with its code:\n%s", logs.Tail(2000))
	}
}

// A broker out of reach neither stops the consumer nor fails it: Ready says why, and Run ends with its context.
func TestConsumerWaitsForAnUnreachableBroker(t *testing.T) {
	f, _ := newFixture(t)
	transport, err := integration.OpenPostgres(integration.PostgresConfig{
		URL: "postgres://dossier:s3cret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	if err != nil {
		t.Fatal(err)
	}
	defer transport.Close()
	c, err := integration.NewConsumer(integration.ConsumerConfig{Subscriber: transport.Subscriber(),
		Handle: integration.Finance(f.h), RetryDelay: 20 * time.Millisecond, Ping: transport.Ping})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var readyErr error
	eventually(t, "a subscription error", func() bool {
		readyErr = c.Ready(ctxOf(t))
		return readyErr != nil && !errors.Is(readyErr, context.Canceled) && strings.Contains(readyErr.Error(), "refused")
	})
	if !errors.Is(readyErr, integration.ErrNotSubscribed) || strings.Contains(readyErr.Error(), "s3cret") {
		t.Fatalf("ready: %v", readyErr)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer did not stop with its context")
	}
	if _, err := integration.NewConsumer(integration.ConsumerConfig{}); err == nil {
		t.Error("a consumer without subscriber nor handler")
	}
}
