package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestValidTextRefusesWhatADecoderWouldReplace(t *testing.T) {
	for body, want := range map[string]bool{
		`{"city":"Rennes"}`:                    true,
		`{"city":"Saint-Étienne"}`:             true,
		`{"emoji":"\ud83d\ude00"}`:             true, // a surrogate pair is one character
		`{"q":"a\\u00e9\"b"}`:                  true,
		"{\"city\":\"Saint-\xc9tienne\"}":      false, // Latin-1, not UTF-8
		"{\"city\":\"\xff\"}":                  false,
		`{"city":"\ud800"}`:                    false, // a lone high surrogate
		`{"city":"\udc00x"}`:                   false, // a lone low surrogate
		`{"city":"\ud83d\u0041"}`:              false,
		`{"city":"\ud83d\ud83d\ude00"}`:        false,
		`{"city":"\\ud800"}`:                   true, // an escaped backslash, then text
		`{"city":"\ud800`:                      true, // unterminated: left to the decoder
		`{"n":1, "city":"x"} `:                 true,
		`{"city":"\u12"}`:                      true, // malformed: left to the decoder
		"{\"ok\":\"\xe2\x82\xac\",\"k\":\"\"}": true,
	} {
		if got := validText([]byte(body)); got != want {
			t.Errorf("validText(%q) = %v, want %v", body, got, want)
		}
	}
}

func TestInvalidUTF8BodiesAreRefusedBeforeDecoding(t *testing.T) {
	s := newTestServer(t, Deps{})
	for _, body := range []string{
		"{\"nir\":\"1850375115042\",\"last_name\":\"Mart\xefn\"}",
		`{"nir":"1850375115042","last_name":"Mart\udc00in"}`,
	} {
		rec := do(t, s.Handler(), "POST", "/v1/registrations", body, map[string]string{"Content-Type": "application/json"})
		if rec.Code != http.StatusBadRequest || errorCode(t, rec) != "request.invalid_utf8" {
			t.Fatalf("body %q: %d %s", body, rec.Code, rec.Body)
		}
	}
}

func TestFingerprintIsTheRequestNotItsSpelling(t *testing.T) {
	key := uuid.NewString()
	var got []string
	h := (&Server{}).fingerprinted(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := meta(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), "Rennes") && !strings.Contains(string(b), "Brest") {
			t.Fatalf("the handler got %q, not the body", b)
		}
		got = append(got, m.RequestHash)
	}))
	send := func(pattern, path, body, k string) string {
		r := httptest.NewRequest("PUT", path, strings.NewReader(body))
		r.Pattern = pattern
		r.Header.Set(IdempotencyKeyHeader, k)
		h.ServeHTTP(httptest.NewRecorder(), r)
		return got[len(got)-1]
	}
	a := send("PUT /v1/me/address", "/v1/me/address", `{"city":"Rennes","line1":"3 rue"}`, key)
	if a == "" {
		t.Fatal("no fingerprint for a request with an Idempotency-Key")
	}
	if b := send("PUT /v1/me/address", "/v1/me/address", "{ \"line1\": \"3 rue\",\n \"city\": \"Rennes\" }", key); b != a {
		t.Fatal("key order and spacing changed the fingerprint")
	}
	for name, fp := range map[string]string{
		"another body":  send("PUT /v1/me/address", "/v1/me/address", `{"city":"Brest","line1":"3 rue"}`, key),
		"another route": send("PUT /v1/me/phone", "/v1/me/phone", `{"city":"Rennes","line1":"3 rue"}`, key),
		"another path":  send("PUT /v1/x/{id}", "/v1/x/2", `{"city":"Rennes","line1":"3 rue"}`, key),
		"another key":   send("PUT /v1/me/address", "/v1/me/address", `{"city":"Rennes","line1":"3 rue"}`, uuid.NewString()),
	} {
		if fp == a {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

// fixedHead is an event log that ends at a fixed position.
type fixedHead struct {
	head  uint64
	calls int
}

func (f *fixedHead) Head(context.Context) (uint64, error) { f.calls++; return f.head, nil }

func TestAPositionBeyondTheLogIsRefusedAtOnce(t *testing.T) {
	w := &positionWaiter{}
	head := &fixedHead{head: 500}
	s, err := New(Config{ConsistencyTimeout: 2 * time.Second}, Deps{Consistency: w, Head: head})
	if err != nil {
		t.Fatal(err)
	}
	h := s.middleware(s.consistent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]int{})
	})))
	start := time.Now()
	for _, hdr := range []map[string]string{{MinPositionHeader: "501"}, nil} {
		path := "/x"
		if hdr == nil {
			path = "/x?min_position=18446744073709551615"
		}
		rec := do(t, h, "GET", path, "", hdr)
		if rec.Code != http.StatusUnprocessableEntity || errorCode(t, rec) != "consistency.position_unreachable" {
			t.Fatalf("position beyond the log: %d %s", rec.Code, rec.Body)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing an unreachable position took %s", d)
	}
	w.reached.Store(500)
	for range 3 {
		if rec := do(t, h, "GET", "/x?min_position=500", "", nil); rec.Code != 200 {
			t.Fatalf("position at the end of the log: %d %s", rec.Code, rec.Body)
		}
	}
	if head.calls != 2 {
		t.Fatalf("the log's end was read %d times, want 2 (by the refused reads only: 500 is then known)", head.calls)
	}
}

// serveTCP serves s over a real listener with the http.Server settings of production.
func serveTCP(t *testing.T, s *Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(lis.Addr().String(), s.Handler())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis.Addr().String()
}

// rawRequest sends a request as written, over TCP, and returns the answer.
func rawRequest(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// jsonError checks that resp is the API's JSON error with status and code.
func jsonError(t *testing.T, what string, resp *http.Response, status int, code string) {
	t.Helper()
	raw, _ := io.ReadAll(resp.Body)
	var b ErrorBody
	if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(raw, &b) != nil || b.Code != code || b.Message == "" {
		t.Fatalf("%s: %d %s %q, want %d JSON %s", what, resp.StatusCode, resp.Header.Get("Content-Type"), raw, status, code)
	}
}

func TestErrorsNetHTTPWouldWriteAreTheAPIsJSONOverTCP(t *testing.T) {
	s := newTestServer(t, Deps{})
	addr := serveTCP(t, s)

	long := "/v1/catalog?q=" + strings.Repeat("a", 64<<10)
	jsonError(t, "a 64 KiB URL", rawRequest(t, addr, "GET "+long+" HTTP/1.1\r\nHost: x\r\n\r\n"), 431, "request.header_too_large")
	jsonError(t, "a 64 KiB header", rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+
		strings.Repeat("b", 64<<10)+"\r\n\r\n"), 431, "request.header_too_large")
	resp, err := http.Get("http://" + addr + "/v1/catalog?q=" + strings.Repeat("a", 60<<10))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 431 {
		t.Fatal("a URL below the limit was refused")
	}

	for _, p := range []string{"/v1/../openapi.json", "/v1/catalog/../catalog", "//openapi.json", "/./healthz", "/v1/%2e%2e/healthz"} {
		jsonError(t, p, rawRequest(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "request.route_not_found")
	}
	if resp := rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("a clean path: %d", resp.StatusCode)
	}
}
