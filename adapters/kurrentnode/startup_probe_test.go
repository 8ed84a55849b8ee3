package kurrentnode

// Start-up and read measurements at scale (BENCHMARKS.md, "Indexes out of RAM"). Both run only when asked,
// through the environment, so that the same probe runs against two builds of the node in one session:
//
//	KN_GEN_DIR=/tmp/kn KN_GEN_EVENTS=1000000 go test -run TestGenerateLog -timeout 1h ./adapters/kurrentnode/
//	KN_PROBE_DIR=/tmp/kn go test -run TestStartupProbe -v ./adapters/kurrentnode/
//
//	KN_CRASH_DIR=/tmp/kn KN_CRASH_EVENTS=200000 go test -run TestCrashProbe -v ./adapters/kurrentnode/
//
// The generator writes ~251-byte events, 10 per stream (N/10 streams, interleaved), in groups of 10 appends,
// directly in the log format. The probe starts a node on the directory, reports the start-up time and the RSS
// after a GC, then reads 2,000 random 10-event streams through the client (p50/p99) and stops the node cleanly.
// The crash probe starts a child process that opens the store on the directory, appends KN_CRASH_EVENTS events
// (10 writers, 10-event appends, each acknowledged after its fdatasync) and is then killed with SIGKILL; the
// probe then times a start on what the kill left (no clean-stop mark, index memtables lost) and reports how
// many records the start replayed.

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

func TestGenerateLog(t *testing.T) {
	dir := os.Getenv("KN_GEN_DIR")
	if dir == "" {
		t.Skip("KN_GEN_DIR not set")
	}
	events, err := strconv.Atoi(os.Getenv("KN_GEN_EVENTS"))
	if err != nil {
		t.Fatal(err)
	}
	const perGroup = 10
	streams := events / 10
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	segBytes := int64(SegmentBytes)
	if v := os.Getenv("KN_GEN_SEGMENT_MIB"); v != "" {
		mib, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		segBytes = int64(mib) << 20
	}
	lb, err := newLogBuilder(dir, segBytes)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"memberId":"` + uuid.NewString() + `","pad":"` + strings.Repeat("x", 130) + `"}`)
	for i := 0; i < events; i += perGroup {
		recs := make([]record, perGroup)
		for k := range recs {
			s := (i + k) % streams
			recs[k] = record{Stream: fmt.Sprintf("member-%08d", s), Revision: uint64((i + k) / streams),
				ID: uuid.New(), JSON: true, Commit: true, Type: "MemberUpdated", Metadata: []byte(`{}`), Data: data,
				Created: time.Now().UnixNano() / 100}
		}
		if err := lb.group(recs); err != nil {
			t.Fatal(err)
		}
	}
	size := lb.end()
	if err := lb.close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d events over %d streams, %d bytes", events, streams, size)
}

func TestStartupProbe(t *testing.T) {
	dir := os.Getenv("KN_PROBE_DIR")
	if dir == "" {
		t.Skip("KN_PROBE_DIR not set")
	}
	var logs logBuffer
	var cacheBytes int64
	if v := os.Getenv("KN_PROBE_CACHE_MIB"); v != "" {
		mib, _ := strconv.Atoi(v)
		cacheBytes = int64(mib) << 20
	}
	t0 := time.Now()
	n, err := Start(Options{Dir: dir, Logger: logs.logger(), IndexCacheBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	startup := time.Since(t0)
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "event log opened") || strings.Contains(l, "event index opened") || strings.Contains(l, "level=WARN") {
			fmt.Println("PROBE log:", l)
		}
	}
	runtime.GC()
	rssAfterStart := vmRSS(t)
	cfg, err := esdb.ParseConnectionString(n.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	streams := 0
	if v := os.Getenv("KN_PROBE_STREAMS"); v != "" {
		streams, _ = strconv.Atoi(v)
	}
	reads := 2000
	if v := os.Getenv("KN_PROBE_READS"); v != "" {
		reads, _ = strconv.Atoi(v)
	}
	// KN_PROBE_WARM reads first, unmeasured: the block cache of a node that has been serving for a while (a fresh
	// process fills it, allocating and faulting in every block it caches).
	warm := 0
	if v := os.Getenv("KN_PROBE_WARM"); v != "" {
		warm, _ = strconv.Atoi(v)
	}
	for i := 0; i < warm && streams > 0; i++ {
		rs, err := c.ReadStream(context.Background(), fmt.Sprintf("member-%08d", rand.IntN(streams)), esdb.ReadStreamOptions{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := rs.Recv(); err != nil {
				break
			}
		}
		rs.Close()
	}
	var lat []time.Duration
	cpu0 := cpuTime()
	for i := 0; i < reads && streams > 0; i++ {
		name := fmt.Sprintf("member-%08d", rand.IntN(streams))
		t1 := time.Now()
		rs, err := c.ReadStream(context.Background(), name, esdb.ReadStreamOptions{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for {
			if _, err := rs.Recv(); err != nil {
				break
			}
			got++
		}
		rs.Close()
		lat = append(lat, time.Since(t1))
		if got != 10 {
			t.Fatalf("%s: %d events, want 10", name, got)
		}
	}
	cpuPerRead := time.Duration(0)
	if len(lat) > 0 {
		cpuPerRead = (cpuTime() - cpu0) / time.Duration(len(lat))
	}
	rssAfterReads := vmRSS(t)
	c.Close()
	t2 := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	stop := time.Since(t2)
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))]
	}
	fmt.Printf("PROBE startup_ms=%d rss_after_start_mib=%d read10_p50_us=%d read10_p99_us=%d read10_cpu_us=%d rss_after_reads_mib=%d stop_ms=%d\n",
		startup.Milliseconds(), rssAfterStart>>20, p(0.5).Microseconds(), p(0.99).Microseconds(), cpuPerRead.Microseconds(), rssAfterReads>>20, stop.Milliseconds())
}

// cpuTime is the CPU time (user + system) the process used so far: client and node both, since the probe runs
// both in one process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func TestCrashProbe(t *testing.T) {
	dir := os.Getenv("KN_CRASH_DIR")
	if dir == "" {
		t.Skip("KN_CRASH_DIR not set")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashProbeChild$")
	cmd.Env = append(os.Environ(), "KN_CRASH_CHILD=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "WROTE") {
		cmd.Process.Kill()
		t.Fatalf("child: %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	var logs logBuffer
	t0 := time.Now()
	n, err := Start(Options{Dir: dir, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	startup := time.Since(t0)
	runtime.GC()
	rss := vmRSS(t)
	n.Close()
	opened := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "event log opened") || strings.Contains(l, "event index opened") || strings.Contains(l, "level=WARN") {
			opened += l + "\n"
		}
	}
	fmt.Printf("PROBE crash: %s startup_ms=%d rss_after_start_mib=%d\n%s", strings.TrimSpace(line), startup.Milliseconds(), rss>>20, opened)
}

// TestCrashProbeChild is the process TestCrashProbe kills.
func TestCrashProbeChild(t *testing.T) {
	if os.Getenv("KN_CRASH_CHILD") == "" {
		t.Skip("run by TestCrashProbe")
	}
	events, err := strconv.Atoi(os.Getenv("KN_CRASH_EVENTS"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(os.Getenv("KN_CRASH_DIR"), discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"memberId":"` + uuid.NewString() + `","pad":"` + strings.Repeat("x", 130) + `"}`)
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < events/100; i++ {
				evs := make([]proposedEvent, 10)
				for k := range evs {
					evs[k] = proposedEvent{ID: uuid.New(), Type: "MemberUpdated", JSON: true, Metadata: []byte(`{}`), Data: data}
				}
				stream := fmt.Sprintf("crash-%d-%d", w, i)
				if _, err := st.submit(&writeReq{op: opAppend, stream: stream, events: evs, size: 3000}); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("WROTE %d events\n", events/100*100)
	select {} // until killed
}

// TestStoreReadProbe times the node's own part of a stream read, without gRPC and the client: the index lookups
// (streamPage) and the log reads and decoding (readSpans) of KN_PROBE_READS random 10-event streams, after
// KN_PROBE_WARM warm-up reads (the block cache filled), single-threaded; it reports the CPU time per read.
//
//	KN_PROBE_DIR=/tmp/kn KN_PROBE_STREAMS=1000000 go test -run TestStoreReadProbe -v ./adapters/kurrentnode/
func TestStoreReadProbe(t *testing.T) {
	dir, streams := os.Getenv("KN_PROBE_DIR"), 0
	if v := os.Getenv("KN_PROBE_STREAMS"); v != "" {
		streams, _ = strconv.Atoi(v)
	}
	if dir == "" || streams == 0 {
		t.Skip("KN_PROBE_DIR and KN_PROBE_STREAMS not set")
	}
	reads, warm := 20000, 20000
	if v := os.Getenv("KN_PROBE_READS"); v != "" {
		reads, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("KN_PROBE_WARM"); v != "" {
		warm, _ = strconv.Atoi(v)
	}
	st, err := openStore(dir, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	read := func() time.Duration {
		name := fmt.Sprintf("member-%08d", rand.IntN(streams))
		t0 := time.Now()
		spans, _, _, _, err := st.streamPage(name, 0, false, 10)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := st.readSpans(spans)
		if err != nil || len(recs) != 10 {
			t.Fatalf("%s: %d records, %v", name, len(recs), err)
		}
		return time.Since(t0)
	}
	for range warm {
		read()
	}
	lat := make([]time.Duration, 0, reads)
	cpu0 := cpuTime()
	for range reads {
		lat = append(lat, read())
	}
	cpu := (cpuTime() - cpu0) / time.Duration(reads)
	slices.Sort(lat)
	fmt.Printf("PROBE store_read10_p50_us=%.1f store_read10_p99_us=%.1f store_read10_cpu_us=%.1f\n",
		float64(lat[reads/2].Nanoseconds())/1e3, float64(lat[reads*99/100].Nanoseconds())/1e3, float64(cpu.Nanoseconds())/1e3)
}
