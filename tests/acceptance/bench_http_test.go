package acceptance

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/adapters/loadgen"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/tests/testbin"
)

// TestBenchHTTP runs a tiny `dossier bench http` (a few seconds) against the serve it starts, on both read-model
// databases, and checks the report's shape: the setup went through the real flows, the baseline measured /healthz
// and the authenticated GET in the same run, the mix called the member and caseworker routes, and nothing answered
// unexpectedly. No timing is asserted.
func TestBenchHTTP(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		args := []string{"bench", "http", "--members", "3", "--caseworkers", "2", "--duration", "3s", "--baseline", "1s",
			"--baseline-clients", "2", "--submit", "0.3", "--relogin", "0.05", "--dir", t.TempDir(), "--json"}
		if tg.Dialect == sqldb.Postgres {
			args = append(args, "--postgres-url", tg.DSN)
		}
		cmd := exec.Command(testbin.Dossier(t), args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("bench http: %v\n%s", err, stderr.String())
		}
		var rep loadgen.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, stdout.String())
		}
		if rep.Unexpected != 0 || len(rep.ErrorSamples) != 0 {
			t.Fatalf("%d unexpected answers: %q", rep.Unexpected, rep.ErrorSamples)
		}
		if rep.Members != 3 || rep.Staff != 2 || !strings.HasPrefix(rep.Target, "http://127.0.0.1:") || rep.Machine.CPUs < 1 ||
			rep.Machine.LoadBefore == "" || rep.MixSec <= 0 {
			t.Fatalf("report header: %+v", rep)
		}
		wantPG := tg.Dialect == sqldb.Postgres
		if strings.Contains(rep.Note, "PostgreSQL") != wantPG {
			t.Fatalf("note %q on %s", rep.Note, tg.Dialect)
		}
		routes := func(list []loadgen.RouteStats) map[string]loadgen.RouteStats {
			m := map[string]loadgen.RouteStats{}
			for _, s := range list {
				if s.Count < 1 || s.P50ms > s.P99ms || s.P99ms > s.MaxMs || s.Rate <= 0 || idLike.MatchString(s.Route) {
					t.Fatalf("route figures %+v", s)
				}
				m[s.Route] = s
			}
			return m
		}
		setup := routes(rep.Setup)
		for route, n := range map[string]int{"POST /v1/registrations": 3, "POST /v1/registrations/{id}/activation": 3,
			"POST /v1/sessions": 3, "POST /v1/staff/sessions": 3, "PUT /v1/staff/accounts/{id}/queues": 2} {
			if setup[route].Count != n {
				t.Fatalf("setup %s: %d calls, want %d (%+v)", route, setup[route].Count, n, rep.Setup)
			}
		}
		b := rep.Baseline
		if b.Healthz.Route != "GET /healthz" || b.Me.Route != "GET /v1/me" || b.Healthz.Count < 1 || b.Me.Count < 1 ||
			b.Ratio <= 0 || b.Ratio != b.Me.Rate/b.Healthz.Rate {
			t.Fatalf("baseline %+v", b)
		}
		mix := routes(rep.Mix)
		for _, route := range []string{"GET /healthz", "GET /v1/me", "GET /v1/requests", "POST /v1/requests", "GET /v1/queues",
			"GET /v1/queues/{queue}/cases", "POST /v1/queues/{queue}/claim-next", "GET /v1/cases"} {
			if _, ok := mix[route]; !ok {
				t.Fatalf("the mix never called %s: %+v", route, rep.Mix)
			}
		}
		if len(rep.Goals) != 6 || rep.Goals[5].Name != "unexpected errors" || !rep.Goals[5].Met {
			t.Fatalf("goals %+v", rep.Goals)
		}
		if rep.Reads.Count < 1 || rep.Commands.Count < 1 || rep.Reads.Count+rep.Commands.Count+mix["GET /healthz"].Count != sumCounts(rep.Mix) {
			t.Fatalf("totals: reads %+v commands %+v", rep.Reads, rep.Commands)
		}
	})
}

// idLike is what an id in a route name would look like (routes are patterns, never paths).
var idLike = regexp.MustCompile(`[0-9a-f]{8}-|[0-9]{3,}`)

func sumCounts(list []loadgen.RouteStats) int {
	n := 0
	for _, s := range list {
		n += s.Count
	}
	return n
}

// TestBenchHTTPRefusesNonLoopback: the generator never aims at another machine.
func TestBenchHTTPRefusesNonLoopback(t *testing.T) {
	for _, target := range []string{"http://192.0.2.1:8080", "http://example.org:8080"} {
		out, err := exec.Command(testbin.Dossier(t), "bench", "http", "--target", target, "--server-dir", t.TempDir()).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "loopback") {
			t.Fatalf("bench http --target %s: %v\n%s", target, err, out)
		}
	}
}
