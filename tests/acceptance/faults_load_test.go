package acceptance

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
)

// The fault scenarios of issue 12 item 2, each under a steady load of submissions and ending with the verdict of
// cluster.verdict (every 2xx in the event store and the read models, no partial write, one mail per effect key, no
// 500). They are bounded to a few seconds of load each; DOSSIER_FAULTS_LONG=1 runs each for longer (faultLoad).

// faultLoad is how long the load runs before and after a fault: 3 s, or 30 s with DOSSIER_FAULTS_LONG=1.
func faultLoad() time.Duration {
	if os.Getenv("DOSSIER_FAULTS_LONG") == "1" {
		return 30 * time.Second
	}
	return 3 * time.Second
}

// crashWindow is the replicas' --reactions-in-flight-window in the crash scenarios: a mail claimed by the process
// killed goes again (same Message-ID) this long after its claim, instead of the 2 minutes of the default.
const crashWindow = "20s"

// startEmbedded is a "cluster" of one `dossier serve` on its embedded node and SQLite (the default deployment).
func startEmbedded(t *testing.T, extra ...string) *cluster {
	t.Helper()
	smtp, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	args := append([]string{"--smtp-url", fmt.Sprintf("smtp://%s?tls=none", smtp.Addr()),
		"--mail-from", "Mon espace privé <ne-pas-repondre@msa.test>", "--consistency-timeout", "5s"}, extra...)
	dir := t.TempDir()
	s := startServeIn(t, dir, args...)
	s.waitReady(t)
	c := &cluster{smtp: smtp, embedded: true, args: [][]string{args}, dirs: []string{dir}, down: make([]atomic.Bool, 1)}
	c.replicas = []*memberEnv{{srv: s, smtp: smtp}}
	csv := filepath.Join(dir, "assures.csv")
	if err := os.WriteFile(csv, []byte(insuredCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	c.replicas[0].admin(t, nil, "admin", "import-insured", csv)
	return c
}

// kill9 kills replica i with SIGKILL and marks it down (the load goes to the others).
func (c *cluster) kill9(t *testing.T, i int) {
	t.Helper()
	c.down[i].Store(true)
	srv := c.replicas[i].srv
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-srv.done
	srv.done <- err
}

// restart starts replica i again in its working directory, on the same data, waits (up to 3 minutes: on a busy
// machine the projections' start-up beside a running replica was seen to take more than one) until it is ready,
// and returns how long that took from its start.
func (c *cluster) restart(t *testing.T, i int) time.Duration {
	t.Helper()
	start := time.Now()
	s := startServeIn(t, c.dirs[i], c.args[i]...)
	c.srvMu.Lock()
	c.replicas[i].srv = s
	c.srvMu.Unlock()
	for {
		code, body := s.get(t, "/readyz")
		if code == 200 {
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("replica %d not ready 3 minutes after its restart: %d %s", i, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.down[i].Store(false)
	return time.Since(start)
}

// rebuilt is the event-store check of the embedded default, whose node only its server reaches: the server is
// stopped, its read models verified against a rebuild from the log (verifyReadModels), every projection rebuilt
// from the log (`dossier projections rebuild`), the server started again, and each acknowledged request looked for
// through the API. It returns how many are missing.
func (c *cluster) rebuilt(t *testing.T, token string, ids map[string]string) (lost int) {
	t.Helper()
	c.replicas[0].srv.stop(t)
	c.down[0].Store(true)
	c.verifyReadModels(t)
	c.replicas[0].admin(t, nil, "projections", "rebuild")
	c.restart(t, 0)
	for id := range ids {
		if r := c.replicas[0].call(t, "GET", "/v1/requests/"+id, token, nil); r.status != 200 {
			lost++
			t.Errorf("request %s acknowledged but not found after a rebuild from the log: %d", id, r.status)
		}
	}
	return lost
}

// takeover polls replica i's /metrics until it runs every projection and every reaction handler (their *_active
// gauges are all 1) and returns how long that took from since.
func (c *cluster) takeover(t *testing.T, i int, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	for {
		resp, err := http.Get(c.replicas[i].srv.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		all, active := 0, 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "dossier_projection_active{") || strings.HasPrefix(line, "dossier_reaction_active{") {
				all++
				if strings.HasSuffix(line, " 1") {
					active++
				}
			}
		}
		if all > 0 && active == all {
			return time.Since(since)
		}
		if time.Since(since) > within {
			t.Fatalf("replica %d runs %d of %d projections and handlers %s after the other died", i, active, all, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count is the load's throughput over a phase: 2xx answers per second.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.subs {
		if s.status/100 == 2 {
			n++
		}
	}
	return n
}

// phases measures the acknowledged submissions per second before, during and after a fault.
type phases struct {
	l     *load
	marks []int
	times []time.Time
}

func (p *phases) mark() { p.marks, p.times = append(p.marks, p.l.count()), append(p.times, time.Now()) }

func (p *phases) String() string {
	names := []string{"before", "during", "after"}
	var parts []string
	for i := 1; i < len(p.marks) && i <= len(names); i++ {
		d := p.times[i].Sub(p.times[i-1]).Seconds()
		parts = append(parts, fmt.Sprintf("%s %.1f/s", names[i-1], float64(p.marks[i]-p.marks[i-1])/d))
	}
	return strings.Join(parts, ", ")
}

// TestServeSurvivesAKill9UnderLoad: the embedded default (one `dossier serve`, its node and SQLite in ./var) is
// killed with SIGKILL under load and started again on the same data. What was acknowledged is in the log and the
// read models; submissions that failed are retried with their Idempotency-Key and give one request each; each
// acknowledgement mail goes out, a repeat (same Message-ID) allowed only for a mail the kill interrupted.
func TestServeSurvivesAKill9UnderLoad(t *testing.T) {
	c := startEmbedded(t, "--reactions-in-flight-window", crashWindow)
	token := faultMember(t, c.replicas[0])
	l := startLoad(t, c, token, 10)
	p := &phases{l: l}
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	killed := time.Now()
	c.kill9(t, 0)
	c.restart(t, 0)
	back := time.Since(killed)
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	l.stop()
	t.Logf("killed and ready again in %s; acknowledged submissions: %s", back.Round(time.Millisecond), p)
	c.verdict(t, l, token, true)
}

// TestReplicaKill9UnderLoad: two replicas on one node and one PostgreSQL; the one that holds leases is killed with
// SIGKILL under load. The survivor takes every projection and reaction handler over (measured: the time until its
// *_active gauges are all 1) and answers alone ("during" is the takeover, "after" the survivor alone); then the
// killed replica is started again on its data (its time to be ready measured) and both pass the verdict.
func TestReplicaKill9UnderLoad(t *testing.T) {
	c := startCluster(t, "--reactions-in-flight-window", crashWindow)
	token := faultMember(t, c.replicas[0])
	l := startLoad(t, c, token, 10)
	p := &phases{l: l}
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	killed := time.Now()
	c.kill9(t, 0)
	took := c.takeover(t, 1, killed, 60*time.Second)
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	l.stop() // bounded: the restart below may take long on a busy machine, and the load would pile mails up
	rejoined := c.restart(t, 0)
	c.alive(t)
	t.Logf("replica 1 ran every projection and handler %s after replica 0 was killed; replica 0 restarted and ready in %s; acknowledged submissions: %s",
		took.Round(time.Millisecond), rejoined.Round(time.Millisecond), p)
	c.verdict(t, l, token, true)
}

// TestMailsDueWhileSMTPIsDownAreSentOnce: the SMTP server goes away (connections refused, sessions cut) for a while
// under load, then comes back at the same address. Submissions go on being acknowledged; every acknowledgement mail
// due meanwhile is sent once it is back, exactly once (no process crashed: no repeat allowed).
func TestMailsDueWhileSMTPIsDownAreSentOnce(t *testing.T) {
	smtp, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	relay := startRelay(t, smtp.Addr())
	c := startEmbedded(t, "--smtp-url", fmt.Sprintf("smtp://%s?tls=none", relay.addr))
	c.smtp, c.replicas[0].smtp = smtp, smtp // the mails are read where they arrive
	token := faultMember(t, c.replicas[0])
	before := len(smtp.Messages())
	l := startLoad(t, c, token, 10)
	p := &phases{l: l}
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	relay.down()
	atDown := len(smtp.Messages())
	time.Sleep(2 * faultLoad())
	during := len(smtp.Messages()) - atDown
	relay.up(t)
	back := time.Now()
	p.mark()
	time.Sleep(faultLoad())
	p.mark()
	l.stop()
	t.Logf("acknowledged submissions: %s; mails received before the load %d, while the server was away %d", p, before, during)
	c.verdict(t, l, token, false)
	t.Logf("every mail due was received %s after the SMTP server came back", time.Since(back).Round(time.Millisecond))
}

// relay is the SMTP server's address as the server sees it: a TCP relay to the test SMTP server that the test turns
// off (listener closed, connections cut: "connection refused") and on again at the same address.
type relay struct {
	addr, to string
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]bool
}

func startRelay(t *testing.T, to string) *relay {
	t.Helper()
	r := &relay{addr: freeAddr(t), to: to, conns: map[net.Conn]bool{}}
	r.up(t)
	t.Cleanup(r.down)
	return r
}

func (r *relay) up(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.ln = ln
	r.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", r.to)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns[in], r.conns[out] = true, true
			r.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

func (r *relay) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// faultMember is memberEnv.member for the fault tests, whose busy machines may answer the activation or the login
// 503 (with Retry-After) while a dozen processes share two cores: it tries those again, as a client would.
func faultMember(t *testing.T, e *memberEnv) string {
	t.Helper()
	reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")), "register")
	code := e.codeFor(t, "alice@example.test", 1)
	retry := func(what, path string, body any) response {
		t.Helper()
		for attempt := 1; ; attempt++ {
			r := e.call(t, "POST", path, "", body)
			if r.status != 503 || attempt == 5 {
				return e.must(t, 201, r, what)
			}
			t.Logf("%s answered 503 (attempt %d); trying again", what, attempt)
			time.Sleep(time.Second)
		}
	}
	retry("activate", "/v1/registrations/"+reg.str("registration_id")+"/activation", map[string]string{"code": code, "password": alicePassword})
	return retry("login", "/v1/sessions", map[string]string{"nir": aliceNIR, "password": alicePassword}).str("token")
}
