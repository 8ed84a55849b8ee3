package acceptance

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
)

// TestDepositLatencyFigures measures (never asserts) a deposit of one 1 MiB PDF through the real binary on the
// embedded default (node on disk, SQLite, blobs in ./var/blobs): checked, sealed, stored durably, recorded. Beside
// it, in the same run and directory, the baseline: writing and fsyncing the same bytes to a new file. And the
// server's heap in use while 8 deposits run at once. Figures go to BENCHMARKS.md. Run it alone:
//
//	DOSSIER_BENCH_DEPOSIT=200 go test -count=1 -run TestDepositLatencyFigures -v ./tests/acceptance/
func TestDepositLatencyFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DOSSIER_BENCH_DEPOSIT"))
	if n <= 0 {
		t.Skip("a measurement, not a test: set DOSSIER_BENCH_DEPOSIT to the number of deposits")
	}
	e := startMemberEnv(t, "--deposit-burst", "100000", "--deposit-per-minute", "100000")
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	pdf := filechecktest.PDFOfSize("Relevé", 1<<20)
	sub := map[string]any{"subject": "other", "attestation": true, "documents": []any{docSpec("bank_details")}}
	files := []upload{{0, "releve.pdf", pdf}}
	for range 5 { // warm-up
		e.must(t, 201, e.deposit(t, alice, sub, files), "warm-up deposit")
	}
	deposit := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		e.must(t, 201, e.deposit(t, alice, sub, files), "deposit")
		deposit[i] = time.Since(start)
	}
	dir := filepath.Join(e.srv.cmd.Dir, "var", "bench-baseline")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	baseline := make([]time.Duration, n)
	for i := range n {
		content := make([]byte, len(pdf))
		_, _ = rand.Read(content)
		start := time.Now()
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		d, _ := os.Open(dir)
		_ = d.Sync()
		d.Close()
		baseline[i] = time.Since(start)
	}
	// Heap in use while 8 deposits run at once, against idle.
	heap := func() float64 {
		resp, err := http.Get(e.srv.base + "/metrics")
		if err != nil {
			return 0
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var v float64
		for _, line := range splitLines(string(body)) {
			if _, err := fmt.Sscanf(line, "go_memstats_heap_inuse_bytes %g", &v); err == nil {
				return v
			}
		}
		return 0
	}
	idle := heap()
	var peak float64
	var wg sync.WaitGroup
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
				peak = max(peak, heap())
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				e.deposit(t, alice, sub, files)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	t.Logf("1 MiB deposit, %d sequential: p50 %v  p95 %v  p99 %v  max %v", n, q(deposit, .5), q(deposit, .95), q(deposit, .99), q(deposit, 1))
	t.Logf("baseline write+fsync 1 MiB, %d: p50 %v  p95 %v  p99 %v  max %v", n, q(baseline, .5), q(baseline, .95), q(baseline, .99), q(baseline, 1))
	t.Logf("heap in use: idle %.1f MiB, peak with 8 concurrent deposits %.1f MiB (%.2f MiB per upload)", idle/(1<<20), peak/(1<<20), (peak-idle)/8/(1<<20))
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
