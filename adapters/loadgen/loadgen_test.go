package loadgen

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
)

func TestCheckLoopbackRefusesOtherHosts(t *testing.T) {
	for _, target := range []string{"http://127.0.0.1:8080", "http://127.3.4.5:1", "http://[::1]:8080", "http://localhost:8080/"} {
		if _, err := CheckLoopback(target); err != nil {
			t.Errorf("%s refused: %v", target, err)
		}
	}
	for _, target := range []string{"http://10.0.0.1:8080", "http://192.168.1.2", "http://example.org", "http://0.0.0.0:8080",
		"http://127.0.0.1.example.org:80", "http://[::ffff:10.0.0.1]:80"} {
		if _, err := CheckLoopback(target); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: %v, want ErrNotLoopback", target, err)
		}
	}
	for _, target := range []string{"https://127.0.0.1:8080", "http://u:p@127.0.0.1:1", "http://127.0.0.1:1/v1", "127.0.0.1:8080", "http://127.0.0.1:1?x=1"} {
		if _, err := CheckLoopback(target); err == nil {
			t.Errorf("%s accepted", target)
		}
	}
}

func TestPeopleHaveValidNIRs(t *testing.T) {
	// The key of 1 85 03 75 115 042 is 16 (computed independently, as in the acceptance tests).
	if k := nirKey("1850375115042"); k != "16" {
		t.Fatalf("nirKey = %s, want 16", k)
	}
	ps := people(1500, 7)
	seen := map[string]bool{}
	for _, p := range ps {
		if len(p.nir) != 13 || len(p.key) != 2 || seen[p.nir] || seen[p.email] {
			t.Fatalf("person %+v: malformed or repeated", p)
		}
		seen[p.nir], seen[p.email] = true, true
	}
	csv := string(insuredCSV(ps[:2]))
	if want := "nir;nom;prénom;date_naissance\n" + ps[0].nir + ps[0].key + ";Martin;Camille;1985-03-12\n"; !strings.HasPrefix(csv, want) {
		t.Fatalf("csv:\n%s", csv)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := percentile(s, 0.5), percentile(s, 0.99); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond {
		t.Fatalf("p50 %v p99 %v", p50, p99)
	}
	if got := percentile(s[:1], 0.99); got != time.Millisecond {
		t.Fatalf("p99 of one sample %v", got)
	}
}

// TestOutboxCodesReadsTheMailAdaptersFiles: the code is found in an .eml the real outbox wrote, only for its
// recipient.
func TestOutboxCodesReadsTheMailAdaptersFiles(t *testing.T) {
	dir := t.TempDir()
	box, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: "Mon espace privé <ne-pas-repondre@msa.test>"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(to, code string) {
		err := box.Send(context.Background(), mail.Message{MessageID: mail.NewMessageID(uuid.New(), "msa.test"), To: to,
			Subject: "Activez votre espace privé",
			Text:    "Bonjour,\n\nVoici votre code d'activation, valable 30 minutes :\n\n    " + code + "\n\nÀ bientôt, l'équipe é è à\n"})
		if err != nil {
			t.Fatal(err)
		}
	}
	send("other@loadgen.test", "11112222")
	send("camille@loadgen.test", "12345678")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := OutboxCodes(dir)(ctx, "camille@loadgen.test")
	if err != nil || code != "12345678" {
		t.Fatalf("code %q, %v", code, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if code, err := OutboxCodes(dir)(short, "nobody@loadgen.test"); err == nil {
		t.Fatalf("a code %q for an address no mail went to", code)
	}
}

// TestCallClassifiesAnswers: a 2xx is a success, a listed refusal is expected, anything else (a 5xx here) is an
// unexpected error with its status and code, never its body. The server is a stand-in for the API (the generator's
// own accounting is under test, not Dossier).
func TestCallClassifiesAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(200)
		case "/empty":
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"code":"queue.empty"}`))
		default:
			w.WriteHeader(503)
			_, _ = w.Write([]byte(`{"code":"request.unavailable","message":"secret body"}`))
		}
	}))
	defer srv.Close()
	rec := newRecorder()
	c := newClient(srv.URL, nil, rec, 5*time.Second)
	ctx := context.Background()
	if _, err := c.call(ctx, "GET /ok", "GET", "/ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.call(ctx, "POST /empty", "POST", "/empty", nil, nil, "404 queue.empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.call(ctx, "GET /down", "GET", "/down", nil, nil, "404", "503 other.code"); err == nil {
		t.Fatal("a 503 was not an error")
	}
	st := rec.stats(time.Second)
	if len(st) != 3 || st[0].Route != "GET /down" || st[0].Errors != 1 || st[1].Errors != 0 || st[2].Expected != 1 || st[2].Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if rec.nUnexp != 1 || len(rec.unexpected) != 1 || rec.unexpected[0] != "GET /down: 503 request.unavailable" {
		t.Fatalf("unexpected %d %q", rec.nUnexp, rec.unexpected)
	}
	var b bytes.Buffer
	rep := &Report{Mix: st, Unexpected: 1, ErrorSamples: rec.unexpected}
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "GET /down") || strings.Contains(b.String(), "secret") {
		t.Fatalf("report: %v\n%s", err, b.String())
	}
}

func TestSourceAddressesStayOnLoopback(t *testing.T) {
	u, _ := CheckLoopback("http://127.0.0.1:8080")
	a, b := sourceFor(u, 1, 0), sourceFor(u, 1, 300)
	if !a.IsLoopback() || !b.IsLoopback() || a.Equal(b) {
		t.Fatalf("sources %v %v", a, b)
	}
	v6, _ := CheckLoopback("http://[::1]:8080")
	if ip := sourceFor(v6, 1, 0); ip != nil {
		t.Fatalf("an IPv4 source %v for an IPv6 target", ip)
	}
}

// TestGoalsSayByHowMuch: a floor missed by half is missed by 2×, a ceiling three times over by 3×.
func TestGoalsSayByHowMuch(t *testing.T) {
	r := &Report{Reads: Totals{Rate: 500, P99ms: 300}, Commands: Totals{Rate: 100, P99ms: 50}, Baseline: Baseline{Ratio: 0.3}}
	got := map[string]Goal{}
	for _, g := range r.goals() {
		got[g.Name] = g
	}
	if g := got["reads per second"]; g.Met || g.Factor != 2 {
		t.Fatalf("reads %+v", g)
	}
	if g := got["p99 of reads, ms"]; g.Met || g.Factor != 3 {
		t.Fatalf("p99 reads %+v", g)
	}
	for _, name := range []string{"commands per second", "p99 of commands, ms", "GET /v1/me rate ÷ GET /healthz rate", "unexpected errors"} {
		if !got[name].Met {
			t.Fatalf("%s not met: %+v", name, got[name])
		}
	}
	r.Unexpected = 1
	for _, g := range r.goals() {
		if g.Name == "unexpected errors" && g.Met {
			t.Fatal("an unexpected error met the goal")
		}
	}
}
