package acceptance

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
	"github.com/msa-dossier/dossier/tests/testbin"
	"github.com/msa-dossier/dossier/tests/testlog"
)

// The fault tests of issue 12: two `dossier serve` replicas on one `dossier node` and one PostgreSQL, under a steady
// load of service-request submissions spread over both; then a fault. Both replicas must survive and recover
// unaided, nothing acknowledged may be lost or duplicated, and nothing may answer 500.

// nodeProc is a running `dossier node` child process.
type nodeProc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	done chan error
	logs *testlog.Buffer
}

func startNodeProc(t *testing.T, dir, addr string) *nodeProc {
	t.Helper()
	return startNodeCmd(t, exec.Command(testbin.Dossier(t), "node", "--listen", addr, "--data", dir), dir, addr)
}

// startNodeCmd starts cmd, a `dossier node` on addr with its data in dir (possibly through a wrapper), and waits
// for its start-up line.
func startNodeCmd(t *testing.T, cmd *exec.Cmd, dir, addr string) *nodeProc {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &nodeProc{cmd: cmd, addr: addr, dir: dir, done: make(chan error, 1), logs: &testlog.Buffer{}}
	cmd.Stderr = n.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			close(started)
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { n.done <- cmd.Wait() }()
	t.Cleanup(func() { n.kill() })
	select {
	case <-started:
	case err := <-n.done:
		n.done <- err
		t.Fatalf("dossier node exited: %v\n%s", err, n.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("dossier node did not start")
	}
	return n
}

func (n *nodeProc) kill() {
	_ = n.cmd.Process.Kill()
	err := <-n.done
	n.done <- err
}

// cluster is two replicas on one node and one PostgreSQL, with a test SMTP server.
type cluster struct {
	pg       *pgtemp.Server
	node     *nodeProc
	smtp     *smtptest.Server
	replicas []*memberEnv
	env      []string // the shared configuration, for operator commands
	// args are each replica's flags and dirs its working directory, to restart it on the same data (restart).
	args [][]string
	dirs []string
	// down marks the replicas killed and not restarted yet: the load sends them nothing.
	down []atomic.Bool
	// embedded: one `dossier serve` with its embedded node and SQLite (node and pg are nil).
	embedded bool
	// srvMu guards each replica's srv, which restart replaces while the load and the readiness watch read it.
	srvMu sync.RWMutex
}

// base is replica i's HTTP base URL, read under srvMu (the load's and the readiness watch's goroutines call it).
func (c *cluster) base(i int) string {
	c.srvMu.RLock()
	defer c.srvMu.RUnlock()
	return c.replicas[i].srv.base
}

func randomHex(t *testing.T) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func startCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pg, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	smtp, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	node := startNodeProc(t, t.TempDir(), freeAddr(t))
	c := &cluster{pg: pg, node: node, smtp: smtp}
	secret, kek := randomHex(t), randomHex(t)
	c.env = []string{
		"DOSSIER_KURRENTDB_URL=esdb://" + node.addr + "?tls=false",
		"DOSSIER_POSTGRES_URL=" + pg.DSN(),
		"DOSSIER_SECRET_KEY=" + secret,
		"DOSSIER_DATA_KEK=" + kek,
	}
	c.down = make([]atomic.Bool, 2)
	for i := range 2 {
		args := append([]string{"--replica-id", fmt.Sprintf("replica-%d", i), "--kurrentdb-url", "esdb://" + node.addr + "?tls=false", "--postgres-url", pg.DSN(),
			"--secret-key", secret, "--data-kek", kek,
			"--smtp-url", fmt.Sprintf("smtp://%s?tls=none", smtp.Addr()),
			"--mail-from", "Mon espace privé <ne-pas-repondre@msa.test>", "--consistency-timeout", "5s"}, extra...)
		dir := t.TempDir()
		s := startServeIn(t, dir, args...)
		c.replicas = append(c.replicas, &memberEnv{srv: s, smtp: smtp, adminEnv: c.env})
		c.args, c.dirs = append(c.args, args), append(c.dirs, dir)
	}
	c.waitAllReady(t, time.Minute) // a busy machine may take longer than waitReady's 20 s to start both
	csv := filepath.Join(c.replicas[0].srv.cmd.Dir, "assures.csv")
	if err := os.WriteFile(csv, []byte(insuredCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	c.replicas[0].admin(t, nil, "admin", "import-insured", csv)
	return c
}

// submission is one submission of the load: its Idempotency-Key and what came back.
type submission struct {
	key       string
	replica   int
	status    int
	requestID string
	position  string
}

// load submits service requests at about rate per second, alternating replicas, until stop is closed. Failed
// submissions (any non-201) are kept to be retried with the same Idempotency-Key after the fault.
type load struct {
	mu      sync.Mutex
	subs    []submission
	by      map[int]int    // status → count
	errs    []string       // transport errors
	bodies  map[int]string // the first body answered with each status other than 201
	stopped chan struct{}
	done    chan struct{}
}

func startLoad(t *testing.T, c *cluster, token string, rate int) *load {
	l := &load{by: map[int]int{}, bodies: map[int]string{}, stopped: make(chan struct{}), done: make(chan struct{})}
	body := map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var wg sync.WaitGroup
		for i := 0; ; i++ {
			select {
			case <-l.stopped:
				wg.Wait()
				return
			case <-tick.C:
			}
			s := submission{key: uuid.NewString(), replica: c.pick(i)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, r, err := tryCall(c.base(s.replica), "POST", "/v1/requests", token, body, "Idempotency-Key", s.key)
				l.mu.Lock()
				defer l.mu.Unlock()
				if err != nil {
					l.errs = append(l.errs, err.Error())
					s.status = -1
				} else {
					s.status, s.requestID, s.position = status, r.str("request_id"), r.header.Get("X-Dossier-Position")
					l.by[status]++
					if _, seen := l.bodies[status]; !seen && status != 201 {
						l.bodies[status] = string(r.raw)
					}
				}
				l.subs = append(l.subs, s)
			}()
		}
	}()
	return l
}

func (l *load) stop() {
	close(l.stopped)
	<-l.done
}

// tryCall is memberEnv.call against the server at base, without failing the test on a transport error.
func tryCall(base, method, path, token string, body any, hdr ...string) (int, response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, response{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return resp.StatusCode, r, nil
}

// readyStates polls /readyz of each replica every 100 ms until stop, recording whether each was ever not ready.
type readyWatch struct {
	mu       sync.Mutex
	notReady []int
	errs     []string
	stopped  chan struct{}
	done     chan struct{}
}

func watchReady(c *cluster) *readyWatch {
	w := &readyWatch{notReady: make([]int, len(c.replicas)), stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			for i := range c.replicas {
				resp, err := http.Get(c.base(i) + "/readyz")
				w.mu.Lock()
				if err != nil {
					w.errs = append(w.errs, err.Error())
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						w.notReady[i]++
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stopped:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *readyWatch) stop() { close(w.stopped); <-w.done }

// verdict retries what failed during the fault with the same Idempotency-Key, then checks every acknowledged
// submission: one request per key, in the event store, readable on both replicas, and one acknowledgement mail
// (a repeat with the same Message-ID is allowed only when crashed: a process was killed during the run).
func (c *cluster) verdict(t *testing.T, l *load, token string, crashed bool) {
	t.Helper()
	body := map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}
	l.mu.Lock()
	subs := append([]submission(nil), l.subs...)
	by, errs := l.by, l.errs
	l.mu.Unlock()
	if len(errs) > 0 && !crashed {
		t.Errorf("%d transport errors (a replica went away?), first: %s", len(errs), errs[0])
	}
	if by[500] > 0 {
		t.Errorf("%d submissions answered 500", by[500])
	}
	t.Logf("submissions during the run by status: %v", by)
	retried := 0
	for i, s := range subs {
		if s.status == 201 {
			continue
		}
		retried++
		status, r, err := tryCall(c.base(c.pick(s.replica+1)), "POST", "/v1/requests", token, body, "Idempotency-Key", s.key)
		if err != nil || status != 201 {
			t.Fatalf("retry of a failed submission after recovery: %d %v %s", status, err, r.raw)
		}
		subs[i].status, subs[i].requestID, subs[i].position = status, r.str("request_id"), r.header.Get("X-Dossier-Position")
	}
	ids := map[string]string{}
	for _, s := range subs {
		if other, dup := ids[s.requestID]; dup {
			t.Errorf("keys %s and %s gave the same request", other, s.key)
		}
		ids[s.requestID] = s.key
	}
	// In the event store: each request's stream exists with its submission (the embedded node: see rebuilt). Every
	// read model verifies clean against a rebuild from the log at its checkpoint (the embedded default: in rebuilt,
	// its server stopped).
	lost := 0
	if c.embedded {
		lost = c.rebuilt(t, token, ids)
	} else {
		lost = c.inStore(t, ids)
		c.verifyReadModels(t)
	}
	c.readModels(t, subs, ids, token)
	mails := c.mails(t, len(ids))
	t.Logf("verdict: %d acknowledged (%d after a retry with the same key), %d found, %d lost, %d duplicated requests; %d mails re-sent with the same Message-ID",
		len(ids), retried, len(ids)-lost, lost, len(subs)-len(ids), mails.dups)
	if mails.distinct != len(ids) {
		t.Errorf("%d distinct acknowledgement mails for %d requests", mails.distinct, len(ids))
	}
	if mails.dups > 0 && !crashed {
		// At least once with a stable Message-ID, and a repeat only where a process crashed: no replica crashed here,
		// so a repeat is the gap of issue 12 (a replica still recording a sent mail when the next holder sent it).
		t.Errorf("%d acknowledgement mails sent again with the same Message-ID without a crash", mails.dups)
	}
	c.statusNamesReplicas(t)
}

// verifyReadModels runs `dossier projections verify` (projections.Verify): every projection of the binary is rebuilt
// from the log into scratch tables up to its live checkpoint and compared row by row with the live read model. It
// fails the test unless every projection is reported clean (the differing keys are in the output). On a separate
// node it runs beside the replicas (--kurrentdb-url and --postgres-url from the shared configuration); on the
// embedded default only the server reaches its node: the caller stops it first (rebuilt).
func (c *cluster) verifyReadModels(t *testing.T) {
	t.Helper()
	r := c.replicas[c.pick(0)]
	cmd := exec.Command(testbin.Dossier(t), "projections", "verify")
	cmd.Dir = r.srv.cmd.Dir
	cmd.Env = append(os.Environ(), r.adminEnv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := stdout.String()
	reports := verifyReport.FindAllStringSubmatch(out, -1)
	dirty := 0
	for _, m := range reports {
		if m[4] != "clean" {
			dirty++
		}
	}
	switch {
	case err != nil && len(reports) == 0:
		t.Fatalf("dossier projections verify: %v\n%s\n%s", err, out, stderr.String())
	case len(reports) == 0:
		t.Fatalf("dossier projections verify reported nothing:\n%s", out)
	case err != nil || dirty > 0:
		t.Errorf("dossier projections verify: %d of %d projections differ from a rebuild from the log (%v):\n%s", dirty, len(reports), err, out)
	default:
		t.Logf("dossier projections verify: %d projections clean against a rebuild from the log", len(reports))
	}
}

// verifyReport matches a projection's line of `dossier projections verify`: name, version, position, verdict.
var verifyReport = regexp.MustCompile(`(?m)^(\S+) v(\d+) at position (\d+): (clean|\d+ DIFFERENCES) \(`)

// inStore counts the acknowledged requests whose stream is missing from the node's log.
func (c *cluster) inStore(t *testing.T, ids map[string]string) (lost int) {
	t.Helper()
	cfg, err := esdb.ParseConnectionString("esdb://" + c.node.addr + "?tls=false")
	if err != nil {
		t.Fatal(err)
	}
	es, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	for id := range ids {
		rs, err := es.ReadStream(context.Background(), "servicerequest-"+id, esdb.ReadStreamOptions{}, 1)
		if err == nil {
			_, err = rs.Recv()
			rs.Close()
		}
		if err != nil {
			lost++
			t.Errorf("request %s acknowledged but not in the event store: %v", id, err)
		}
	}
	return lost
}

// readModels checks that every acknowledged request is listed by every replica up (read-your-writes from the last
// position acknowledged).
func (c *cluster) readModels(t *testing.T, subs []submission, ids map[string]string, token string) {
	t.Helper()
	// In the read models, on both replicas (read-your-writes from the last position).
	var lastPos uint64
	for _, s := range subs {
		if p, err := strconv.ParseUint(s.position, 10, 64); err == nil && p > lastPos {
			lastPos = p
		}
	}
	last := strconv.FormatUint(lastPos, 10)
	for i, r := range c.replicas {
		if c.down[i].Load() {
			continue
		}
		seen := map[string]bool{}
		// Every page of the list (the paging convention: follow "next" until it is null).
		for path, pages := "/v1/requests?limit=200", 0; path != ""; pages++ {
			if pages > 100 {
				t.Fatalf("replica %d: GET /v1/requests never ends its pages", i)
			}
			lr := r.call(t, "GET", path, token, nil, "X-Dossier-Min-Position", last)
			for tries := 0; lr.status == 503 && tries < 12; tries++ { // read models still catching up (busy machine)
				time.Sleep(time.Second)
				lr = r.call(t, "GET", path, token, nil, "X-Dossier-Min-Position", last)
			}
			if lr.status != 200 {
				t.Fatalf("replica %d: list requests: %d %s", i, lr.status, lr.raw)
			}
			items, _ := lr.body["requests"].([]any)
			for _, it := range items {
				m, _ := it.(map[string]any)
				if id, _ := m["request_id"].(string); id != "" {
					seen[id] = true
				} else if id, _ := m["id"].(string); id != "" {
					seen[id] = true
				}
			}
			path = ""
			if next, _ := lr.body["next"].(string); next != "" {
				path = "/v1/requests?limit=200&cursor=" + url.QueryEscape(next)
			}
		}
		missing := 0
		for id := range ids {
			if !seen[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("replica %d: %d acknowledged requests missing from GET /v1/requests (of %d)", i, missing, len(ids))
		}
	}
}

// mailCount is what the test SMTP server received of the acknowledgement mails.
type mailCount struct{ distinct, dups int }

// mails waits for want distinct acknowledgement mails (a repeat carries the same Message-ID) while they keep coming:
// it gives up after 30 s without a new one (a backlog on a busy machine drains slowly, but drains).
func (c *cluster) mails(t *testing.T, want int) mailCount {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	last, lastAt := -1, time.Now()
	isAck := func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Accusé de réception") }
	byID := map[string]int{}
	for {
		clear(byID)
		for _, m := range c.smtp.Messages() {
			if isAck(m) {
				byID[m.MessageID]++
			}
		}
		if len(byID) != last {
			last, lastAt = len(byID), time.Now()
		}
		if len(byID) >= want || ctx.Err() != nil || time.Since(lastAt) > 30*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	dups := 0
	for _, n := range byID {
		dups += n - 1
	}
	return mailCount{distinct: len(byID), dups: dups}
}

// statusNamesReplicas: operators see which replica runs what, and how long after its event each handler acted.
func (c *cluster) statusNamesReplicas(t *testing.T) {
	t.Helper()
	if len(c.replicas) < 2 {
		return // one server: nothing to tell apart
	}
	// Operators see which replica runs what, and how long after its event each handler acted (the mail lag).
	for _, what := range []string{"reactions", "projections"} {
		out := c.replicas[c.pick(0)].admin(t, nil, what, "status")
		t.Logf("dossier %s status:\n%s", what, out)
		table, _, _ := strings.Cut(strings.TrimSpace(out), "\n\n") // reactions status: the claims in flight follow
		for _, line := range strings.Split(table, "\n")[1:] {
			if !strings.Contains(line, "replica-0") && !strings.Contains(line, "replica-1") {
				t.Errorf("%s status: a line names no replica: %q", what, line)
			}
		}
	}
}

// pick returns replica i (modulo their number), or the next one up if it is down.
func (c *cluster) pick(i int) int {
	n := len(c.replicas)
	for k := range n {
		if j := (i + k) % n; !c.down[j].Load() {
			return j
		}
	}
	return i % n
}

// alive fails the test if a replica has exited.
func (c *cluster) alive(t *testing.T) {
	t.Helper()
	for i, r := range c.replicas {
		if c.down[i].Load() {
			continue
		}
		select {
		case err := <-r.srv.done:
			r.srv.done <- err
			t.Fatalf("replica %d exited: %v\n%s", i, err, r.srv.logs.String())
		default:
		}
	}
}

// waitAllReady waits until both replicas answer /readyz 200, and returns how long it took.
func (c *cluster) waitAllReady(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, r := range c.replicas {
		for {
			resp, err := http.Get(r.srv.base + "/readyz")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
				if time.Since(start) > within {
					t.Fatalf("replica not ready %s after recovery: %s", within, b)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return time.Since(start)
}

func TestTwoReplicasRideOutANodeOutage(t *testing.T) {
	c := startCluster(t)
	e := c.replicas[0]
	token := faultMember(t, e)

	l := startLoad(t, c, token, 10)
	w := watchReady(c)
	time.Sleep(3 * time.Second)
	c.node.kill()
	time.Sleep(5 * time.Second)
	c.alive(t)
	c.node = startNodeProc(t, c.node.dir, c.node.addr)
	recovered := c.waitAllReady(t, 60*time.Second)
	time.Sleep(3 * time.Second)
	l.stop()
	w.stop()
	c.alive(t)
	t.Logf("ready again %s after the node came back; not-ready answers per replica during the run: %v", recovered.Round(time.Millisecond), w.notReady)
	for i, n := range w.notReady {
		if n == 0 {
			t.Errorf("replica %d never reported not ready while the node was down", i)
		}
	}
	c.verdict(t, l, token, false)
}

func TestTwoReplicasRideOutAPostgresRestart(t *testing.T) {
	c := startCluster(t)
	e := c.replicas[0]
	token := faultMember(t, e)

	l := startLoad(t, c, token, 10)
	w := watchReady(c)
	time.Sleep(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.pg.Restart(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	c.alive(t)
	recovered := c.waitAllReady(t, 60*time.Second)
	time.Sleep(3 * time.Second)
	l.stop()
	w.stop()
	c.alive(t)
	t.Logf("ready again %s after PostgreSQL came back; not-ready answers per replica during the run: %v", recovered.Round(time.Millisecond), w.notReady)
	c.verdict(t, l, token, false)
}
