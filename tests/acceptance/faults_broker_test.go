package acceptance

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
)

// TestFinanceFactsRideOutABrokerRestart: the integration broker (the fund's PostgreSQL, watermill-sql) restarts
// with 5 s down while the fund publishes a payment every 100 ms (retrying, with the same payment, what the broker
// refused) and members submit requests. The server stays up and answers; once the broker is back the consumer
// goes on: every payment the broker took is shown to the member exactly once, and the submissions pass the verdict.
func TestFinanceFactsRideOutABrokerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Stop() })
	c := startEmbedded(t, "--integration-url", broker.DSN(), "--integration-poll-interval", "100ms")
	token := faultMember(t, c.replicas[0])

	db, err := sql.Open("postgres", broker.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromStdSQL(db), wmsql.PublisherConfig{
		SchemaAdapter: wmsql.DefaultPostgreSQLSchema{}, AutoInitializeSchema: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex
		published []string
		refused   int
	)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			id := fmt.Sprintf("PF-BRK-%04d", i)
			payload, _ := json.Marshal(map[string]any{"kind": "payment", "nir": aliceNIR + aliceKey, "fact": map[string]any{
				"payment_id": id, "kind": "family_benefits", "amount_cents": 14172, "paid_on": "2025-12-05",
				"label": "Allocations familiales"}})
			err := pub.Publish("dossier.finance-facts", message.NewMessage(uuid.NewString(), payload))
			mu.Lock()
			if err != nil {
				refused++ // the fund's publisher tries the same payment again
			} else {
				published = append(published, id)
				i++
			}
			mu.Unlock()
		}
	}()
	l := startLoad(t, c, token, 10)
	time.Sleep(faultLoad())
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second) // the setup may have used ctx up on a busy machine
	defer rcancel()
	if err := broker.Restart(rctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	time.Sleep(faultLoad())
	close(stop)
	<-stopped
	l.stop()
	c.alive(t)
	mu.Lock()
	want := append([]string(nil), published...)
	mu.Unlock()

	// Every payment the broker took is shown once.
	var seen map[string]int
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen = c.payments(t, token)
		missing := 0
		for _, id := range want {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d published payments not shown 60s after the broker came back", missing, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	shown := time.Since(back)
	dups := 0
	for _, id := range want {
		dups += seen[id] - 1
	}
	t.Logf("broker restart: %d payments published (%d publications refused while it was down, tried again), %d shown, %d shown twice; all shown %s after it came back",
		len(want), refused, len(want), dups, shown.Round(time.Millisecond))
	if dups > 0 {
		t.Errorf("%d payments shown more than once", dups)
	}
	// The outage in the server's log: one line when polling fails, one when it works again, not an ERROR per poll.
	logs := c.replicas[0].srv.logs.String()
	gone, again := strings.Count(logs, "integration broker: polling fails"), strings.Count(logs, "integration broker: polling works again")
	perPoll := strings.Count(logs, "Error querying for message")
	t.Logf("server log over the broker restart: %d line(s) 'polling fails', %d 'works again', %d per-poll errors", gone, again, perPoll)
	if gone < 1 || again != gone || perPoll > 0 {
		t.Errorf("the broker outage logged %d time(s) gone, %d back and %d per-poll errors; want it gone and back once each, no per-poll error", gone, again, perPoll)
	}
	c.verdict(t, l, token, false)
}

// payments counts each payment id in every page of GET /v1/payments.
func (c *cluster) payments(t *testing.T, token string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for path, pages := "/v1/payments?limit=200", 0; path != ""; pages++ {
		if pages > 100 {
			t.Fatal("GET /v1/payments never ends its pages")
		}
		r := c.replicas[0].call(t, "GET", path, token, nil)
		if r.status != 200 {
			t.Fatalf("payments: %d %s", r.status, r.raw)
		}
		items, _ := r.body["payments"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if id, _ := m["id"].(string); strings.HasPrefix(id, "PF-BRK-") {
				seen[id]++
			}
		}
		path = ""
		if next, _ := r.body["next"].(string); next != "" {
			path = "/v1/payments?limit=200&cursor=" + url.QueryEscape(next)
		}
	}
	return seen
}
