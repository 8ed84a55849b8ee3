package contract

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/tests/testbin"
	"github.com/msa-dossier/dossier/tests/testlog"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// nodeProcess is a `dossier node` child process.
type nodeProcess struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	err    error // cmd.Wait's result, set before exited is closed
	output *testlog.Buffer
}

var listeningLine = regexp.MustCompile(`^kurrentnode listening on (\S+)$`)

// startNode starts `dossier node ARGS...` and returns once it printed its listening line.
func startNode(t testing.TB, bin string, args ...string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"node"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	p := &nodeProcess{cmd: cmd, exited: make(chan struct{}), output: &testlog.Buffer{}}
	cmd.Stderr = p.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s node %v: %v", bin, args, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.output.Write([]byte("stdout: " + line + "\n"))
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case p.addr = <-ready:
		return p
	case <-p.exited:
		t.Fatalf("dossier node %v exited before listening: %v\n%s", args, p.err, p.output.Tail(4000))
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("dossier node %v printed no %q line within 30s\n%s", args, "kurrentnode listening on ADDR", p.output.Tail(4000))
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *nodeProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends sig and requires a clean exit (status 0) within 15 s.
func (p *nodeProcess) stop(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("dossier node after %v: %v, want exit status 0\n%s", sig, p.err, p.output.Tail(4000))
		}
	case <-time.After(15 * time.Second):
		p.kill()
		t.Errorf("dossier node still running 15s after %v\n%s", sig, p.output.Tail(4000))
	}
}

// TestNodeProcessServesClient: `dossier node` serves the official client from another process, exits 0 on SIGTERM
// and SIGINT, and keeps its data on disk across restarts.
func TestNodeProcessServesClient(t *testing.T) {
	t.Parallel()
	bin := testbin.Dossier(t)
	t.Run("on disk", func(t *testing.T) {
		dir := t.TempDir()
		addr := freeAddr(t)
		p := startNode(t, bin, "--listen", addr, "--data", dir)
		if p.addr != addr {
			t.Errorf("node says it listens on %s, asked for %s", p.addr, addr)
		}
		conn := "esdb://" + addr + "?tls=false"
		c := newClient(t, conn)
		stream := newStream("member")
		evs := jsonEvents(3, "MemberRegistered")
		if wr := appendOK(t, c, stream, esdb.NoStream{}, evs...); wr.NextExpectedVersion != 2 {
			t.Errorf("append: revision %d, want 2", wr.NextExpectedVersion)
		}
		requireSameEvents(t, readWhole(t, c, stream), evs, "read")
		sub := subscribeStream(t, c, stream, esdb.Start{})
		got, _ := sub.untilCaughtUp(t, nil)
		requireSameEvents(t, got, evs, "stream subscription catch-up")
		ev := jsonEvent("MemberEmailChanged")
		appendOK(t, c, stream, esdb.Revision(2), ev)
		requireSameEvents(t, sub.events(t, 1, nil), []esdb.EventData{ev}, "stream subscription live")
		all := subscribeAll(t, c, esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter()})
		got, _ = all.untilCaughtUp(t, inStreams(stream))
		want := append(append([]esdb.EventData{}, evs...), ev)
		requireSameEvents(t, got, want, "$all subscription catch-up")
		before := readAll(t, c, esdb.ReadAllOptions{}, math.MaxUint64)
		checkStrictlyIncreasing(t, before, "$all")

		p.stop(t, syscall.SIGTERM)
		_ = sub.requireDropped(t, opTimeout)

		p = startNode(t, bin, "--listen", addr, "--data", dir)
		c = newClient(t, conn)
		after := readAll(t, c, esdb.ReadAllOptions{}, math.MaxUint64)
		if len(after) != len(before) {
			t.Fatalf("$all after restart: %d events, before: %d", len(after), len(before))
		}
		for i := range before {
			if after[i].EventID != before[i].EventID || after[i].Position != before[i].Position {
				t.Fatalf("$all event %d after restart: %s at %s, before: %s at %s",
					i, after[i].EventID, pos(after[i].Position), before[i].EventID, pos(before[i].Position))
			}
		}
		requireSameEvents(t, readWhole(t, c, stream), want, "read after restart")
		p.stop(t, syscall.SIGINT)
	})
	t.Run("in memory", func(t *testing.T) {
		addr := freeAddr(t)
		p := startNode(t, bin, "--listen", addr, "--in-memory")
		c := newClient(t, "esdb://"+addr+"?tls=false")
		stream := newStream("member")
		evs := jsonEvents(2, "MemberRegistered")
		appendOK(t, c, stream, esdb.NoStream{}, evs...)
		requireSameEvents(t, readWhole(t, c, stream), evs, "read")
		p.stop(t, syscall.SIGTERM)
	})
}

// crashClient is a client that is replaced when the official client closes itself for good (after failing to
// rediscover a node that is down, doc §2.2).
type crashClient struct {
	conn string
	c    *esdb.Client
}

func newCrashClient(conn string) (*crashClient, error) {
	cc := &crashClient{conn: conn}
	return cc, cc.renew()
}

func (cc *crashClient) renew() error {
	if cc.c != nil {
		_ = cc.c.Close()
	}
	cfg, err := esdb.ParseConnectionString(cc.conn)
	if err != nil {
		return err
	}
	cfg.Logger = esdb.NoopLogging()
	cc.c, err = esdb.NewClient(cfg)
	return err
}

// checkClosed renews the client when err says it closed itself.
func (cc *crashClient) checkClosed(err error) {
	if code, ok := esdbCode(err); ok && code == esdb.ErrorCodeConnectionClosed {
		_ = cc.renew()
	}
}

type crashEvent struct {
	stream string
	id     uuid.UUID
	pos    esdb.Position
}

// TestCrashRecovery kills a `dossier node` child with SIGKILL at random moments under concurrent writers and a live
// $all subscriber, restarting it on the same directory each time, then proves that every acknowledged event is
// present exactly once, revisions are dense, $all positions strictly increase and the subscriber, resuming from
// its last position after every drop, saw $all exactly (issue 2 "Durability"; doc §7.2, §7.3, §7.7).
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	bin := testbin.Dossier(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	conn := "esdb://" + addr + "?tls=false"
	seed := time.Now().UnixNano()
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	node := startNode(t, bin, "--listen", addr, "--data", dir)

	ns := uuid.New() // namespace of this run's deterministic event ids
	eventFor := func(writer, op, k int) esdb.EventData {
		id := uuid.NewSHA1(ns, fmt.Appendf(nil, "w%d/op%d/e%d", writer, op, k))
		return esdb.EventData{EventID: id, EventType: "CrashTested", ContentType: esdb.ContentTypeJson,
			Data: fmt.Appendf(nil, `{"writer":%d,"op":%d,"k":%d,"pad":%q}`, writer, op, k, strings.Repeat("x", 200))}
	}

	const ownedWriters, sharedWriters, sharedStreams = 6, 2, 4 // 8 writers
	var shared []string
	for range sharedStreams {
		shared = append(shared, "crashshared-"+uuid.NewString())
	}
	var (
		mu       sync.Mutex
		acked    = map[string][]uuid.UUID{} // per stream, in acknowledgement order
		ackCount atomic.Int64
		retried  atomic.Int64 // appends acknowledged only after a failed attempt: their first outcome was unknown
		failures = make(chan string, 64)
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	// appendUntilAcked retries one append with the same ids and expected revision until it is acknowledged.
	appendUntilAcked := func(cc *crashClient, writer, op int, stream string, exp esdb.ExpectedRevision, evs []esdb.EventData) (*esdb.WriteResult, bool) {
		start := time.Now()
		attempt := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			wr, err := cc.c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
			cancel()
			if err == nil {
				if attempt > 0 {
					retried.Add(1)
				}
				return wr, true
			}
			attempt++
			if code, ok := esdbCode(err); ok && code == esdb.ErrorCodeWrongExpectedVersion {
				// A retry of the same ids with the same expected revision is idempotent (doc §7.2): this means a
				// write was lost or not recognised as already done.
				failures <- fmt.Sprintf("writer %d op %d: append of %d event(s) to %s with %s: %v", writer, op, len(evs), stream, expName(exp), err)
				return nil, false
			}
			if time.Since(start) > 30*time.Second {
				failures <- fmt.Sprintf("writer %d op %d: not acknowledged within 30s: %v", writer, op, err)
				return nil, false
			}
			cc.checkClosed(err)
			time.Sleep(20 * time.Millisecond)
		}
	}
	record := func(stream string, evs []esdb.EventData) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			acked[stream] = append(acked[stream], e.EventID)
		}
		ackCount.Add(int64(len(evs)))
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for w := range ownedWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc, err := newCrashClient(conn)
			if err != nil {
				failures <- err.Error()
				return
			}
			defer cc.c.Close()
			streams := []string{"crashowned-" + uuid.NewString(), "crashowned-" + uuid.NewString()}
			exp := []esdb.ExpectedRevision{esdb.NoStream{}, esdb.NoStream{}}
			length := []uint64{0, 0}
			for op := 0; !stopped(); op++ {
				si, n := op%2, 1+op%3
				evs := make([]esdb.EventData, n)
				for k := range evs {
					evs[k] = eventFor(w, op, k)
				}
				wr, ok := appendUntilAcked(cc, w, op, streams[si], exp[si], evs)
				if !ok {
					return
				}
				length[si] += uint64(n)
				if wr.NextExpectedVersion != length[si]-1 {
					failures <- fmt.Sprintf("writer %d op %d: %s acknowledged at revision %d, want %d", w, op, streams[si], wr.NextExpectedVersion, length[si]-1)
					return
				}
				exp[si] = esdb.Revision(length[si] - 1)
				record(streams[si], evs)
			}
		}()
	}
	for w := ownedWriters; w < ownedWriters+sharedWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc, err := newCrashClient(conn)
			if err != nil {
				failures <- err.Error()
				return
			}
			defer cc.c.Close()
			for op := 0; !stopped(); op++ {
				stream := shared[(op+w)%sharedStreams]
				evs := []esdb.EventData{eventFor(w, op, 0), eventFor(w, op, 1)}[:1+op%2]
				if _, ok := appendUntilAcked(cc, w, op, stream, esdb.Any{}, evs); !ok {
					return
				}
				record(stream, evs)
			}
		}()
	}

	// The subscriber follows $all from the start and resumes from its last position after every drop.
	var (
		seen              []crashEvent
		seenMu            sync.Mutex
		subCtx, subCancel = context.WithCancel(context.Background())
		subDone           = make(chan struct{})
		drops             atomic.Int64
	)
	go func() {
		defer close(subDone)
		cc, err := newCrashClient(conn)
		if err != nil {
			failures <- err.Error()
			return
		}
		defer cc.c.Close()
		var from esdb.AllPosition = esdb.Start{}
		for subCtx.Err() == nil {
			sub, err := cc.c.SubscribeToAll(subCtx, esdb.SubscribeToAllOptions{From: from})
			if err != nil {
				cc.checkClosed(err)
				time.Sleep(20 * time.Millisecond)
				continue
			}
			for {
				ev := sub.Recv()
				if ev.SubscriptionDropped != nil {
					drops.Add(1)
					break
				}
				if ev.EventAppeared != nil {
					e := ev.EventAppeared.Event
					seenMu.Lock()
					seen = append(seen, crashEvent{e.StreamID, e.EventID, e.Position})
					seenMu.Unlock()
					from = e.Position
				}
			}
			_ = sub.Close()
		}
	}()

	const kills = 5
	var beforeLast int64
	for i := range kills {
		time.Sleep(time.Duration(150+rng.IntN(600)) * time.Millisecond)
		node.kill()
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		}
		beforeLast = ackCount.Load()
		t.Logf("kill %d: %d events acknowledged so far", i+1, beforeLast)
		node = startNode(t, bin, "--listen", addr, "--data", dir)
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.Fatalf("node output:\n%s", node.output.Tail(4000))
	}
	total := ackCount.Load()
	if total <= beforeLast {
		t.Fatalf("no append acknowledged after the last restart (%d before, %d at the end)", beforeLast, total)
	}
	t.Logf("%d events acknowledged in %d streams across %d kills (%d appends acknowledged on a retry); subscriber dropped %d times",
		total, len(acked), kills, retried.Load(), drops.Load())
	if retried.Load() == 0 {
		t.Errorf("no append was retried: the kills never hit a write in flight, so exactly-once under retry was not exercised")
	}

	c := newClient(t, conn)
	isCrash := func(stream string) bool { return strings.HasPrefix(stream, "crash") }
	var inAll []*esdb.RecordedEvent
	all := readAll(t, c, esdb.ReadAllOptions{}, math.MaxUint64)
	checkStrictlyIncreasing(t, all, "$all after the crashes")
	for _, e := range all {
		if isCrash(e.StreamID) {
			inAll = append(inAll, e)
		}
	}
	if int64(len(inAll)) != total {
		t.Errorf("$all holds %d events of the test streams, %d were acknowledged (each exactly once expected)", len(inAll), total)
	}
	// Backwards $all mirrors forwards.
	back := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, math.MaxUint64)
	if len(back) != len(all) {
		t.Errorf("$all backwards: %d events, forwards: %d", len(back), len(all))
	} else {
		for i := range all {
			if b := back[len(back)-1-i]; b.EventID != all[i].EventID || b.Position != all[i].Position {
				t.Errorf("$all backwards mirror differs at %d: %s at %s vs %s at %s", i, b.EventID, pos(b.Position), all[i].EventID, pos(all[i].Position))
				break
			}
		}
	}

	byStreamInAll := map[string][]*esdb.RecordedEvent{}
	for _, e := range inAll {
		byStreamInAll[e.StreamID] = append(byStreamInAll[e.StreamID], e)
	}
	for stream, ids := range acked {
		got := readWhole(t, c, stream)
		requireRevisions(t, got, seq(0, uint64(len(got))-1), "read "+stream)
		if strings.HasPrefix(stream, "crashowned-") {
			// One writer, exact expected revisions: the stream is exactly the acknowledged sequence.
			if len(got) != len(ids) {
				t.Errorf("%s: %d events, %d acknowledged", stream, len(got), len(ids))
				continue
			}
			for i := range ids {
				if got[i].EventID != ids[i] {
					t.Errorf("%s@%d: event %s, acknowledged %s", stream, i, got[i].EventID, ids[i])
					break
				}
			}
		} else {
			count := map[uuid.UUID]int{}
			for _, e := range got {
				count[e.EventID]++
			}
			for _, id := range ids {
				if count[id] != 1 {
					t.Errorf("%s: acknowledged event %s present %d times, want exactly once", stream, id, count[id])
				}
			}
			if len(got) != len(ids) {
				t.Errorf("%s: %d events, %d acknowledged", stream, len(got), len(ids))
			}
		}
		fromAll := byStreamInAll[stream]
		if len(fromAll) != len(got) {
			t.Errorf("%s: %d events in $all, %d in the stream", stream, len(fromAll), len(got))
			continue
		}
		for i := range got {
			if fromAll[i].EventID != got[i].EventID || fromAll[i].EventNumber != got[i].EventNumber || fromAll[i].Position != got[i].Position {
				t.Errorf("%s@%d: stream read %s at %s, $all %s@%d at %s", stream, i, got[i].EventID, pos(got[i].Position),
					fromAll[i].EventID, fromAll[i].EventNumber, pos(fromAll[i].Position))
				break
			}
		}
	}

	// The subscriber reaches the end of $all and saw it exactly: no gap, no duplicate, no event that vanished.
	last := all[len(all)-1].Position
	deadline := time.Now().Add(20 * time.Second)
	for {
		seenMu.Lock()
		n := len(seen)
		reached := n > 0 && !posLess(seen[n-1].pos, last)
		seenMu.Unlock()
		if reached {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("subscriber did not reach the end of $all %s within 20s (%d events seen)", pos(last), n)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	subCancel()
	<-subDone
	if len(seen) != len(all) {
		t.Errorf("subscriber saw %d events, $all holds %d", len(seen), len(all))
	}
	for i := 0; i < len(seen) && i < len(all); i++ {
		if seen[i].id != all[i].EventID || seen[i].pos != all[i].Position {
			t.Errorf("subscriber event %d: %s %s at %s, $all has %s %s at %s", i, seen[i].stream, seen[i].id, pos(seen[i].pos),
				all[i].StreamID, all[i].EventID, pos(all[i].Position))
			break
		}
	}
	if t.Failed() {
		t.Logf("node output:\n%s", node.output.Tail(4000))
	}
}
