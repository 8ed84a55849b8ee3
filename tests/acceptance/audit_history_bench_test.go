package acceptance

import (
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestMemberHistoryLatencyFigures measures (never asserts) an auditor's GET of a page of 1,000 events of a member's
// history through the real binary on the embedded default (node on disk, SQLite): the streams looked up in the
// auditstreams read model, the reading recorded (and fsynced) in the member's access log, the events read through
// the official client, merged, decoded (sealed fields opened) and answered. Beside it, in the same run: GET /healthz
// and the member's GET /v1/me. Figures go to BENCHMARKS.md. Run it alone:
//
//	DOSSIER_BENCH_HISTORY=200 go test -count=1 -run TestMemberHistoryLatencyFigures -v ./tests/acceptance/
func TestMemberHistoryLatencyFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DOSSIER_BENCH_HISTORY"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set DOSSIER_BENCH_HISTORY to the number of reads")
	}
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	auditor, _ := e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	// About 1,000 events: phone changes (each one an event with a sealed personal field), plus registration and logins.
	var last string
	phones := []string{"0612345678", "0698765432"}
	for i := range 1000 {
		r := e.must(t, 200, e.call(t, "PUT", "/v1/me/phone", alice, map[string]string{"mobile_phone": phones[i%2]}), "phone")
		last = r.header.Get("X-Dossier-Position")
	}
	path := "/v1/audit/members/" + aliceID + "/history?limit=1000"
	first := e.must(t, 200, e.call(t, "GET", path, auditor, nil, "X-Dossier-Min-Position", last), "history")
	if got := len(first.body["events"].([]any)); got != 1000 {
		t.Fatalf("a page of %d events, want 1000", got)
	}
	measure := func(what, path, token string) []time.Duration {
		for range 10 { // warm-up
			e.must(t, 200, e.call(t, "GET", path, token, nil), what)
		}
		out := make([]time.Duration, n)
		for i := range n {
			req, _ := http.NewRequest("GET", e.srv.base+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			size, _ := io.Copy(io.Discard, resp.Body) // the whole answer, not parsed: the client's JSON decoding is not the server's time
			resp.Body.Close()
			out[i] = time.Since(start)
			if resp.StatusCode != 200 || size == 0 {
				t.Fatalf("%s: %d", what, resp.StatusCode)
			}
		}
		return out
	}
	history := measure("history", path, auditor)
	me := measure("me", "/v1/me", alice)
	health := measure("healthz", "/healthz", "")
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	for _, m := range []struct {
		what string
		ds   []time.Duration
	}{{"history page of 1000 events", history}, {"GET /v1/me (baseline)", me}, {"GET /healthz (baseline)", health}} {
		t.Logf("%-30s n=%d  p50 %v  p95 %v  p99 %v  max %v", m.what, n, q(m.ds, .5), q(m.ds, .95), q(m.ds, .99), q(m.ds, 1))
	}
}
