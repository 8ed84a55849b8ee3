// Package acceptance runs the real dossier binary, as an operator would, and speaks to it over HTTP.
package acceptance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/tests/testbin"
	"github.com/msa-dossier/dossier/tests/testlog"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// server is a running `dossier serve` child process.
type server struct {
	cmd  *exec.Cmd
	base string
	line string // the start-up line printed on stdout
	done chan error
	logs *testlog.Buffer // everything the server logged (stderr)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs `dossier serve` in a fresh working directory with the given extra flags and waits for its
// start-up line.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	return startServeIn(t, t.TempDir(), args...)
}

// startServeIn starts `dossier serve` in dir (its ./var holds the data: a second start in the same dir is a restart).
// The HTTP address is a port found free a moment before; should another process take it meanwhile (the server then
// exits with "address already in use"), it tries again with another one.
func startServeIn(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, err := tryServe(t, dir, args...)
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("dossier serve, attempt %d: %v; trying another port", attempt, err)
			continue
		}
		t.Fatal(err)
	}
}

// tryServe starts `dossier serve` on a free port and waits for its start-up line; the error holds its log.
func tryServe(t *testing.T, dir string, args ...string) (*server, error) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(testbin.Dossier(t), append([]string{"serve", "--http-addr", addr}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOSSIER_LOG_LEVEL=info")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testlog.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, done: make(chan error, 1), logs: stderr}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("dossier serve's log:\n%s", stderr.String())
		}
	})
	select {
	case s.line = <-lines:
		return s, nil
	case err := <-s.done:
		s.done <- err // for the cleanup, which waits for the exit
		return nil, fmt.Errorf("dossier serve exited before serving: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("dossier serve did not start within 30s\n%s", stderr.String())
	}
}

func (s *server) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitReady polls /readyz until it answers 200 (projections catch up after start).
func (s *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := s.get(t, "/readyz")
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 20s: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("dossier serve exit after SIGTERM: %v", err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("dossier serve did not stop within 20s of SIGTERM")
	}
}

func checkOperationsEndpoints(t *testing.T, s *server) {
	t.Helper()
	if code, body := s.get(t, "/healthz"); code != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	s.waitReady(t)
	var ready struct {
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	_, body := s.get(t, "/readyz")
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range ready.Checks {
		names[c.Name] = c.OK
	}
	for _, want := range []string{"event_store", "database", "projections"} {
		if !names[want] {
			t.Errorf("/readyz has no passing %q check: %s", want, body)
		}
	}
	code, metrics := s.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{"dossier_http_requests_total", "dossier_projection_", "go_goroutines"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	code, body = s.get(t, "/openapi.json")
	if err := json.Unmarshal(body, &doc); err != nil || code != 200 {
		t.Fatalf("/openapi.json: %d %v", code, err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/readyz"] == nil {
		t.Fatalf("/openapi.json: version %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	code, body = s.get(t, "/v1/nothing")
	var e struct{ Code, Message string }
	if json.Unmarshal(body, &e); code != 404 || e.Code != "request.route_not_found" || e.Message == "" {
		t.Fatalf("unknown route: %d %s", code, body)
	}
}

// TestServeOnTheEmbeddedDefault is the README's run command: no service installed or started by hand.
func TestServeOnTheEmbeddedDefault(t *testing.T) {
	s := startServe(t)
	if !regexp.MustCompile(`embedded node on 127\.0\.0\.1:\d+`).MatchString(s.line) || !strings.Contains(s.line, "SQLite ./var/dossier.db") {
		t.Fatalf("start-up line does not say what Dossier runs on: %q", s.line)
	}
	checkOperationsEndpoints(t, s)
	s.stop(t)
	for _, p := range []string{"var/events/events-00000000000000000000.log" /* the first log segment */, "var/dossier.db"} {
		if _, err := os.Stat(filepath.Join(s.cmd.Dir, p)); err != nil {
			t.Errorf("embedded default did not create %s: %v", p, err)
		}
	}
}

// TestServeOnPostgreSQL runs the read models on PostgreSQL, as production does.
func TestServeOnPostgreSQL(t *testing.T) {
	tg := sqldbtest.NewTarget(t, sqldb.Postgres)
	s := startServe(t, "--postgres-url", tg.DSN)
	if !strings.Contains(s.line, "PostgreSQL") || strings.Contains(s.line, "password=") {
		t.Fatalf("start-up line: %q", s.line)
	}
	checkOperationsEndpoints(t, s)
	s.stop(t)
}

// TestServeRefusesABadConfigurationWithEveryProblem checks that configuration errors are all reported at once
// and nothing starts.
func TestServeRefusesABadConfigurationWithEveryProblem(t *testing.T) {
	cmd := exec.Command(testbin.Dossier(t), "serve", "--http-addr", "nowhere", "--postgres-url", "mysql://x", "--request-timeout", "0s")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("bad configuration accepted:\n%s", out)
	}
	for _, want := range []string{"http-addr", "postgres-url", "request-timeout"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not report %s:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(cmd.Dir, "var")); err == nil {
		t.Error("a refused configuration still created ./var")
	}
}
