package acceptance

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// savedEstimateEvents reads the whole global log from the server's embedded node and returns the saved-estimate
// events in it (by type or by stream category, so that neither can slip through).
func (e *memberEnv) savedEstimateEvents(t *testing.T) []*esdb.RecordedEvent {
	t.Helper()
	client := e.nodeClient(t)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read $all: %v", err)
		}
		if r := ev.Event; r.EventType == "NSAEstimateSaved" || strings.HasPrefix(r.StreamID, "nsaestimates-") {
			out = append(out, r)
		}
	}
}

// estimateOf is the part of an estimate the member reads: everything but where and when it was saved.
func estimateOf(t *testing.T, raw any) map[string]any {
	t.Helper()
	m, ok := raw.(map[string]any)
	if !ok {
		t.Fatalf("not an estimate: %v", raw)
	}
	out := map[string]any{}
	for _, k := range []string{"label", "disclaimer", "rates_year", "status", "income_cents", "lines", "total_cents"} {
		v, ok := m[k]
		if !ok {
			t.Fatalf("estimate without %s: %v", k, m)
		}
		out[k] = v
	}
	return out
}

// TestSavedEstimates: the NSA contributions estimate stores nothing unless a connected member saves it; a save
// retried with its Idempotency-Key is kept once; the member finds it again, with the amounts they were shown, and
// nobody else sees it. On both read-model databases: the list comes from a projection.
func TestSavedEstimates(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		var args []string
		if tg.Dialect == sqldb.Postgres {
			args = []string{"--postgres-url", tg.DSN}
		}
		savedEstimatesStory(t, startMemberEnv(t, args...))
	})
}

func savedEstimatesStory(t *testing.T, e *memberEnv) {
	const path = "/v1/simulations/nsa-contributions"
	input := map[string]any{"income_cents": 3_000_000, "status": "chef_exploitation"}
	withSave := map[string]any{"income_cents": 3_000_000, "status": "chef_exploitation", "save": true}

	// anyone may estimate; nothing is stored, also for a connected member who does not ask to save
	anonymous := e.must(t, 200, e.call(t, "POST", path, "", input), "anonymous estimate")
	if anonymous.str("label") != "Estimation indicative" || anonymous.body["saved_id"] != nil ||
		anonymous.header.Get("X-Dossier-Position") != "" {
		t.Fatalf("anonymous estimate: %s", anonymous.raw)
	}
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	e.must(t, 200, e.call(t, "POST", path, alice, input), "alice's estimate without save")
	if r := e.call(t, "POST", path, "", withSave); r.status != 401 || r.str("code") != "simulation.login_required" || r.str("message") == "" {
		t.Fatalf("save without a session: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", path, alice, map[string]any{"income_cents": -5, "status": "chef_exploitation", "save": true}); r.status != 422 ||
		!strings.Contains(string(r.raw), `"field":"income_cents"`) {
		t.Fatalf("save of an invalid estimate: %d %s", r.status, r.raw)
	}
	if evs := e.savedEstimateEvents(t); len(evs) != 0 {
		t.Fatalf("estimates without save stored %d event(s), on %s", len(evs), evs[0].StreamID)
	}

	// alice saves, and retries with the same key: one saved estimate
	key := "5d2c7a3e-9b41-4f6e-8a0d-1c3b5e7f9a21"
	first := e.must(t, 201, e.call(t, "POST", path, alice, withSave, "Idempotency-Key", key), "save")
	retry := e.must(t, 201, e.call(t, "POST", path, alice, withSave, "Idempotency-Key", key), "save again, same key")
	savedID := first.str("saved_id")
	if savedID == "" || retry.str("saved_id") != savedID || first.str("position") == "" ||
		retry.str("position") != first.str("position") || first.header.Get("X-Dossier-Position") != first.str("position") {
		t.Fatalf("a retried save acted twice: %s / %s", first.raw, retry.raw)
	}
	if !reflect.DeepEqual(estimateOf(t, first.body), estimateOf(t, anonymous.body)) {
		t.Fatalf("the saved estimate differs from the estimate:\n%s\n%s", first.raw, anonymous.raw)
	}
	session := e.must(t, 200, e.call(t, "GET", "/v1/session", alice, nil), "alice's session")
	evs := e.savedEstimateEvents(t)
	if len(evs) != 1 || evs[0].StreamID != "nsaestimates-"+session.str("member_id") {
		t.Fatalf("want one saved estimate on alice's stream, got %d", len(evs))
	}

	// alice lists it (reading her own write), with the amounts she was answered
	pos := first.header.Get("X-Dossier-Position")
	list := e.must(t, 200, e.call(t, "GET", path, alice, nil, "X-Dossier-Min-Position", pos), "alice's saved estimates")
	estimates, _ := list.body["estimates"].([]any)
	if len(estimates) != 1 {
		t.Fatalf("alice's saved estimates: %s", list.raw)
	}
	got := estimates[0].(map[string]any)
	if got["id"] != savedID || got["saved_at"] != first.str("saved_at") {
		t.Errorf("listed %v, saved %s at %s", got, savedID, first.str("saved_at"))
	}
	if !reflect.DeepEqual(estimateOf(t, got), estimateOf(t, first.body)) {
		t.Errorf("listed amounts differ from the answer:\n%s\n%s", list.raw, first.raw)
	}

	// bob sees none (at the same position, so it is not lag), and the list needs a session
	bobs := e.must(t, 200, e.call(t, "GET", path, bob, nil, "X-Dossier-Min-Position", pos), "bob's saved estimates")
	if strings.Contains(string(bobs.raw), savedID) || !strings.Contains(string(bobs.raw), `"estimates":[]`) {
		t.Fatalf("bob's saved estimates: %s", bobs.raw)
	}
	if r := e.call(t, "GET", path, "", nil); r.status != 401 {
		t.Fatalf("saved estimates without a session: %d %s", r.status, r.raw)
	}
}
