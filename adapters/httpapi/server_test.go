package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

func newTestServer(t *testing.T, deps Deps) *Server {
	t.Helper()
	s, err := New(Config{ConsistencyTimeout: 200 * time.Millisecond}, deps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, h http.Handler, method, path string, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q is not {code, message}: %v", rec.Body.String(), err)
	}
	if b.Message == "" {
		t.Fatalf("error %q has no French message", b.Code)
	}
	return b.Code
}

func TestRoutes(t *testing.T) {
	failing := Check{Name: "database", Check: func(context.Context) error { return errors.New("unreachable") }}
	ok := Check{Name: "event_store", Check: func(context.Context) error { return nil }}
	tests := []struct {
		name       string
		ready      []Check
		method     string
		path       string
		wantStatus int
		wantCode   string
	}{
		{name: "healthz", method: "GET", path: "/healthz", wantStatus: 200},
		{name: "ready when every check passes", ready: []Check{ok}, method: "GET", path: "/readyz", wantStatus: 200},
		{name: "not ready when one check fails", ready: []Check{ok, failing}, method: "GET", path: "/readyz", wantStatus: 503},
		{name: "ready when only an advisory check fails", ready: []Check{ok, {Name: "integration", Advisory: true,
			Check: failing.Check}}, method: "GET", path: "/readyz", wantStatus: 200},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200},
		{name: "openapi", method: "GET", path: "/openapi.json", wantStatus: 200},
		{name: "unknown route", method: "GET", path: "/v1/nothing-here", wantStatus: 404, wantCode: "request.route_not_found"},
		{name: "wrong method", method: "DELETE", path: "/healthz", wantStatus: 405, wantCode: "request.method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Deps{Ready: tt.ready})
			rec := do(t, s.Handler(), tt.method, tt.path, "", nil)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantCode != "" {
				if got := errorCode(t, rec); got != tt.wantCode {
					t.Fatalf("code %q, want %q", got, tt.wantCode)
				}
			}
			if _, err := uuid.Parse(rec.Header().Get(RequestIDHeader)); err != nil {
				t.Fatalf("response has no request id: %q", rec.Header().Get(RequestIDHeader))
			}
		})
	}
}

func TestMetricsCountRequestsByRoutePatternOnly(t *testing.T) {
	s := newTestServer(t, Deps{})
	secret := "1850599123456"
	do(t, s.Handler(), "GET", "/v1/members/"+secret, "", nil)
	do(t, s.Handler(), "GET", "/healthz", "", nil)
	body := do(t, s.Handler(), "GET", "/metrics", "", nil).Body.String()
	if !strings.Contains(body, `dossier_http_requests_total{code="200",route="GET /healthz"} 1`) {
		t.Fatalf("healthz request not counted by pattern:\n%s", body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("a path segment leaked into the metrics")
	}
}

// TestOpenAPIDocumentsEveryRouteAndServesEveryPath walks the document: every documented operation must be
// served (not answered "no such route" or "method not allowed"), and every route must be documented.
func TestOpenAPIDocumentsEveryRouteAndServesEveryPath(t *testing.T) {
	s := newTestServer(t, Deps{})
	rec := do(t, s.Handler(), "GET", "/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			concrete := pathParam.ReplaceAllString(path, uuid.NewString())
			rec := do(t, s.Handler(), strings.ToUpper(method), concrete, "{}", nil)
			if rec.Code == 404 || rec.Code == 405 {
				if code := errorCode(t, rec); code == "request.route_not_found" || code == "request.method_not_allowed" {
					t.Errorf("documented %s %s is not served", method, path)
				}
			}
		}
	}
	for _, rt := range s.table {
		if !documented[rt.Method+" "+pathParam.ReplaceAllString(rt.Path, "{$1}")] {
			t.Errorf("route %s %s is not documented", rt.Method, rt.Path)
		}
	}
	if len(documented) != len(s.table) {
		t.Errorf("%d documented operations for %d routes", len(documented), len(s.table))
	}
}

func TestMiddlewareRecoversPanicsAndLimitsBodies(t *testing.T) {
	s, err := New(Config{MaxBodyBytes: 10}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	panicking := s.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom at /secret/path") }))
	rec := do(t, panicking, "GET", "/x", "", nil)
	if rec.Code != 500 || errorCode(t, rec) != "internal" || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	var readErr error
	reading := s.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))
	do(t, reading, "POST", "/x", strings.Repeat("a", 100), nil)
	var tooLarge *http.MaxBytesError
	if !errors.As(readErr, &tooLarge) {
		t.Fatalf("reading an oversized body gave %v, want MaxBytesError", readErr)
	}
	id := uuid.NewString()
	if got := do(t, reading, "GET", "/x", "", map[string]string{RequestIDHeader: id}).Header().Get(RequestIDHeader); got != id {
		t.Fatalf("request id %q not echoed (got %q)", id, got)
	}
	if got := do(t, reading, "GET", "/x", "", map[string]string{RequestIDHeader: "evil\r\nvalue"}).Header().Get(RequestIDHeader); got == "evil\r\nvalue" {
		t.Fatal("a malformed request id was echoed")
	}
}

// positionWaiter is a test stand-in for the projection runtime: it reaches whatever position is stored.
type positionWaiter struct{ reached atomic.Uint64 }

func (p *positionWaiter) WaitFor(ctx context.Context, pos uint64, _ ...string) error {
	for p.reached.Load() < pos {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func TestConsistentReadsWaitThenGiveUpWithARetryableStatus(t *testing.T) {
	w := &positionWaiter{}
	s := newTestServer(t, Deps{Consistency: w})
	served := 0
	h := s.middleware(s.consistent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		writeJSON(w, 200, map[string]int{"n": served})
	})))
	w.reached.Store(100)
	if rec := do(t, h, "GET", "/x?min_position=100", "", nil); rec.Code != 200 {
		t.Fatalf("reached position: %d", rec.Code)
	}
	go func() { time.Sleep(50 * time.Millisecond); w.reached.Store(150) }()
	if rec := do(t, h, "GET", "/x", "", map[string]string{MinPositionHeader: "150"}); rec.Code != 200 {
		t.Fatalf("position reached while waiting: %d", rec.Code)
	}
	rec := do(t, h, "GET", "/x", "", map[string]string{MinPositionHeader: "999"})
	if rec.Code != 503 || errorCode(t, rec) != "consistency.not_reached" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("unreached position: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", "/x?min_position=abc", "", nil); rec.Code != 400 || errorCode(t, rec) != "consistency.invalid_position" {
		t.Fatalf("bad position: %d %s", rec.Code, rec.Body)
	}
	if served != 2 {
		t.Fatalf("handler ran %d times, want 2 (never for refused reads)", served)
	}
	// Three reads waited (reached, reached while waiting, never reached); the malformed one did not.
	var waited dto.Metric
	if err := s.metrics.waited.WithLabelValues("").(prometheus.Metric).Write(&waited); err != nil {
		t.Fatal(err)
	}
	if h := waited.GetHistogram(); h.GetSampleCount() != 3 || h.GetSampleSum() < 0.04 {
		t.Fatalf("consistency wait histogram: %d samples, %.3f s in all; want 3, ≥ 0.04 s", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestCatalogAndSimulation(t *testing.T) {
	s := newTestServer(t, Deps{})
	rec := do(t, s.Handler(), "GET", "/v1/catalog", "", nil)
	etag := rec.Header().Get("ETag")
	var cat struct {
		Version  string           `json:"version"`
		Services []map[string]any `json:"services"`
	}
	if rec.Code != 200 || etag == "" || json.Unmarshal(rec.Body.Bytes(), &cat) != nil || cat.Version == "" || len(cat.Services) != 22 {
		t.Fatalf("catalog: %d etag %q, %d services", rec.Code, etag, len(cat.Services))
	}
	if rec := do(t, s.Handler(), "GET", "/v1/catalog", "", map[string]string{"If-None-Match": etag}); rec.Code != 304 || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: %d", rec.Code)
	}
	json := map[string]string{"Content-Type": "application/json"}
	if rec := do(t, s.Handler(), "POST", "/v1/simulations/nsa-contributions", `{"income_cents": 3000000, "status": "chef_exploitation"}`, json); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), "Estimation indicative") {
		t.Fatalf("simulation: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, s.Handler(), "POST", "/v1/simulations/nsa-contributions", `{"income_cents": -5, "status": "astronaute"}`, json)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"income_cents"`) || !strings.Contains(rec.Body.String(), `"status"`) {
		t.Fatalf("invalid simulation: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s.Handler(), "POST", "/v1/simulations/nsa-contributions", `{"income_cents": 1}`, nil); rec.Code != 415 || errorCode(t, rec) != "request.json_required" {
		t.Fatalf("no content type: %d %s", rec.Code, rec.Body)
	}
}

// namesWaiter records the read models each wait names.
type namesWaiter struct {
	mu    sync.Mutex
	names [][]string
}

func (n *namesWaiter) WaitFor(_ context.Context, _ uint64, names ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names = append(n.names, names)
	return nil
}

// A Consistent route that declares the read models it queries waits for those only; one that declares none waits
// for every read model; and every declared name is a read model the server runs.
func TestConsistentReadsWaitForTheReadModelsTheyDeclare(t *testing.T) {
	w := &namesWaiter{}
	s := newTestServer(t, Deps{Consistency: w})
	h := s.Handler()
	do(t, h, "GET", "/v1/me", "", map[string]string{MinPositionHeader: "1"})
	// Every route declares its read models now (session 7): a handler wrapped without any names stands for one
	// that declares none.
	do(t, s.consistent(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), "GET", "/v1/me/accesses", "",
		map[string]string{MinPositionHeader: "1"})
	if len(w.names) != 2 || !slices.Equal(w.names[0], []string{accounts.Name}) || len(w.names[1]) != 0 {
		t.Errorf("waits named %q, want [[accounts] []]", w.names)
	}

	projs, _ := readmodels.New(nil, func(string) string { return "" })
	known := map[string]bool{}
	for _, p := range projs {
		known[p.Name()] = true
	}
	declared := 0
	for _, rt := range s.routes() {
		for _, n := range rt.Reads {
			declared++
			if !known[n] {
				t.Errorf("route %s %s waits for %q, which is no read model", rt.Method, rt.Path, n)
			}
		}
	}
	if declared == 0 {
		t.Error("no route declares its read models")
	}
	for _, rt := range s.routes() {
		if rt.Consistent && len(rt.Reads) == 0 {
			t.Errorf("route %s %s is consistent and declares no read model (Reads)", rt.Method, rt.Path)
		}
	}
}
