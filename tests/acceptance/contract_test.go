package acceptance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contractRaw sends body exactly as given (no JSON encoding) as token.
func (e *memberEnv) contractRaw(t *testing.T, method, path, token string, body []byte) response {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// contractError checks that r is the API's JSON error with status and code.
func contractError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("code") != code || r.str("message") == "" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: %d %s %s, want %d JSON %s", what, r.status, r.header.Get("Content-Type"), r.raw, status, code)
	}
}

// contractTCP sends a request line as written, over TCP, and reads the answer.
func contractTCP(t *testing.T, base, requestLine string) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, requestLine+"\r\nHost: dossier.test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// TestAPIContractOverHTTP (issue 11, items 9, 10, 11, 14), against the real binary: an Idempotency-Key reused for
// another request is refused, never answered with the first one's result (a submission, an address change, an
// invoice payment); a body that is not UTF-8 is refused, never stored altered; an impossible consistency position is
// refused at once; a long URL and an unclean path get the API's JSON errors.
func TestAPIContractOverHTTP(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")

	// A submission: the same key and form again is the same request; another form under it is refused.
	key := "5f0c6d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
	submit := map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}
	first := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, submit, "Idempotency-Key", key), "submit")
	again := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, submit, "Idempotency-Key", key), "submit again, same key")
	if first.str("request_id") == "" || again.str("request_id") != first.str("request_id") {
		t.Fatalf("a retried submission is another request: %s / %s", first.raw, again.raw)
	}
	other := map[string]any{}
	for k, v := range c2sForm {
		other[k] = v
	}
	other["household_size"] = 4
	contractError(t, "another form under the same key", e.call(t, "POST", "/v1/requests", alice,
		map[string]any{"service": "complementaire-sante-solidaire", "form": other}, "Idempotency-Key", key),
		422, "request.idempotency_key_reused")
	list := e.must(t, 200, e.call(t, "GET", "/v1/requests", alice, nil, "X-Dossier-Min-Position", first.header.Get("X-Dossier-Position")), "requests")
	if n := strings.Count(string(list.raw), `"reference"`); n != 1 {
		t.Fatalf("%d requests after a reused key, want 1: %s", n, list.raw)
	}

	// An address change: the same again is a replay; another address, or another route, under its key is refused.
	key = "6a1d7e2f-3b4c-4d5e-9f0a-1b2c3d4e5f60"
	today := time.Now().Format("2006-01-02")
	rennes := map[string]string{"line1": "3 rue des Lilas", "postal_code": "35000", "city": "Rennes", "effective_from": today}
	addr := e.must(t, 200, e.call(t, "PUT", "/v1/me/address", alice, rennes, "Idempotency-Key", key), "address")
	replay := e.must(t, 200, e.call(t, "PUT", "/v1/me/address", alice, rennes, "Idempotency-Key", key), "address again")
	if replay.header.Get("X-Dossier-Position") != addr.header.Get("X-Dossier-Position") {
		t.Fatalf("a retried address change acted again: %s / %s", addr.header, replay.header)
	}
	contractError(t, "another address under the same key", e.call(t, "PUT", "/v1/me/address", alice,
		map[string]string{"line1": "1 quai Ouest", "postal_code": "29200", "city": "Brest", "effective_from": today},
		"Idempotency-Key", key), 422, "request.idempotency_key_reused")
	contractError(t, "the same key on another route", e.call(t, "PUT", "/v1/me/phone", alice,
		map[string]string{"mobile_phone": "0612345678"}, "Idempotency-Key", key), 422, "request.idempotency_key_reused")

	// Invalid UTF-8 (Latin-1 "Saint-Étienne") and a lone surrogate escape are refused; the address stays as filed.
	for _, body := range [][]byte{
		[]byte("{\"line1\":\"3 rue\",\"postal_code\":\"42000\",\"city\":\"Saint-\xc9tienne\",\"effective_from\":\"" + today + "\"}"),
		[]byte(`{"line1":"3 rue","postal_code":"42000","city":"Saint-\udc00tienne","effective_from":"` + today + `"}`),
	} {
		contractError(t, "a body that is not UTF-8", e.contractRaw(t, "PUT", "/v1/me/address", alice, body), 400, "request.invalid_utf8")
	}
	me := e.must(t, 200, e.call(t, "GET", "/v1/me?min_position="+addr.header.Get("X-Dossier-Position"), alice, nil), "me")
	if a, _ := me.body["address"].(map[string]any); a == nil || a["city"] != "Rennes" {
		t.Fatalf("address after refused bodies: %s", me.raw)
	}

	// An invoice payment: another method under the key of a payment is refused.
	csv := "kind;nir;id;label;payment_kind;period_start;period_end;days;gross_cents;net_cents;amount_cents;paid_on;due_on\n" +
		"invoice;" + aliceNIR + aliceKey + ";F-9;Cotisations T2;;;;;;;65432;;2026-07-15\n"
	path := filepath.Join(e.srv.cmd.Dir, "contract-finance.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	e.admin(t, nil, "admin", "import-finance", path)
	key = "7b2e8f30-4c5d-4e6f-8a1b-2c3d4e5f6071"
	pay := e.must(t, 200, e.call(t, "POST", "/v1/invoices/F-9/payment", alice, map[string]string{"method": "card"}, "Idempotency-Key", key), "pay")
	contractError(t, "another payment method under the same key", e.call(t, "POST", "/v1/invoices/F-9/payment", alice,
		map[string]string{"method": "transfer"}, "Idempotency-Key", key), 422, "request.idempotency_key_reused")
	if r := e.must(t, 200, e.call(t, "POST", "/v1/invoices/F-9/payment", alice, map[string]string{"method": "card"}, "Idempotency-Key", key), "pay again"); r.str("position") != pay.str("position") {
		t.Fatalf("a retried payment acted again: %s / %s", pay.raw, r.raw)
	}

	// A consistency position no command gave is refused at once, by query parameter or header.
	start := time.Now()
	contractError(t, "a position beyond the log", e.call(t, "GET", "/v1/me?min_position=999999999999", alice, nil),
		422, "consistency.position_unreachable")
	contractError(t, "a position beyond the log (header)", e.call(t, "GET", "/v1/requests", alice, nil,
		"X-Dossier-Min-Position", "18446744073709551615"), 422, "consistency.position_unreachable")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refusing impossible positions took %s", d)
	}

	// What net/http would answer itself: a 64 KiB URL, unclean paths.
	contractError(t, "a 64 KiB URL", contractTCP(t, e.srv.base, "GET /v1/catalog?q="+strings.Repeat("a", 64<<10)+" HTTP/1.1"),
		431, "request.header_too_large")
	for _, p := range []string{"/v1/../openapi.json", "/v1/me/../me", "//healthz", "/v1/%2e%2e/healthz"} {
		contractError(t, p, contractTCP(t, e.srv.base, "GET "+p+" HTTP/1.1"), 404, "request.route_not_found")
	}
}
