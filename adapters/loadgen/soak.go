package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Probe says where the soak reads the server's figures: its process (Linux /proc), its Prometheus /metrics, its
// read-model database file and its events directory. Empty fields are not measured.
type Probe struct {
	PID       int
	Metrics   string // http://127.0.0.1:port/metrics (loopback only)
	DBPath    string // the SQLite read-model file; its -wal and -shm files count with it
	EventsDir string
}

// Sample is one reading of the server during a soak. Sizes in bytes; an error says which reading failed (the others
// are still there).
type Sample struct {
	Sec      float64 `json:"seconds"`
	Requests int     `json:"requests"`
	Commands int     `json:"commands"`
	// Unexpected counts the unexpected answers so far (5xx, refused reads, transport errors).
	Unexpected int `json:"unexpected"`
	// Ready is the server's GET /readyz at the sample (200).
	Ready      bool  `json:"ready"`
	RSS        int64 `json:"rss_bytes"`
	OpenFiles  int   `json:"open_files"`
	Goroutines int   `json:"goroutines"`
	Heap       int64 `json:"heap_bytes"`
	// HeapGoal is the heap size the next collection starts at (go_memstats_next_gc_bytes): twice the heap live after
	// the last collection under GOGC=100, so a steadier trace of the live heap than Heap, which holds garbage too.
	HeapGoal int64  `json:"heap_goal_bytes"`
	DB       int64  `json:"db_bytes"`
	Events   int64  `json:"events_bytes"`
	Errors   string `json:"errors,omitempty"`
}

// Read takes one sample (Sec and the request counts are the caller's).
func (p Probe) Read(ctx context.Context) Sample {
	var s Sample
	var errs []error
	if p.PID > 0 {
		rss, err := processRSS(p.PID)
		s.RSS, errs = rss, append(errs, err)
		n, err := openFiles(p.PID)
		s.OpenFiles, errs = n, append(errs, err)
	}
	if p.Metrics != "" {
		m, err := goRuntimeMetrics(ctx, p.Metrics)
		s.Goroutines, s.Heap, s.HeapGoal, errs = int(m["go_goroutines"]), int64(m["go_memstats_heap_alloc_bytes"]),
			int64(m["go_memstats_next_gc_bytes"]), append(errs, err)
	}
	if p.Metrics != "" {
		s.Ready = ready(ctx, strings.TrimSuffix(p.Metrics, "/metrics")+"/readyz")
	}
	if p.DBPath != "" {
		var n int64
		for _, suffix := range []string{"", "-wal", "-shm"} {
			st, err := os.Stat(p.DBPath + suffix)
			if err == nil {
				n += st.Size()
			} else if suffix == "" {
				errs = append(errs, err)
			}
		}
		s.DB = n
	}
	if p.EventsDir != "" {
		n, err := dirSize(p.EventsDir)
		s.Events, errs = n, append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		s.Errors = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return s
}

// processRSS is the resident set size of pid (VmRSS in /proc/PID/status).
func processRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(rest) // "12345 kB"
			if len(fs) == 2 && fs[1] == "kB" {
				kb, err := strconv.ParseInt(fs[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("loadgen: no VmRSS in /proc/%d/status", pid)
}

// openFiles counts pid's file descriptors (/proc/PID/fd).
func openFiles(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// dirSize sums the sizes of the regular files under dir (files removed while it walks are skipped).
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}

// ready reports whether GET url answers 200.
func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// runtimeGauges are the gauges of the Go collector a sample reads from /metrics.
var runtimeGauges = []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_memstats_next_gc_bytes"}

// goRuntimeMetrics reads runtimeGauges from a Prometheus text exposition; an error names those missing.
func goRuntimeMetrics(ctx context.Context, url string) (map[string]float64, error) {
	if _, err := CheckLoopback(strings.TrimSuffix(url, "/metrics")); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("loadgen: GET /metrics: %s", resp.Status)
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !slices.Contains(runtimeGauges, name) {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			got[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return got, err
	}
	var missing []string
	for _, n := range runtimeGauges {
		if _, ok := got[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return got, fmt.Errorf("loadgen: /metrics has no %s", strings.Join(missing, ", "))
	}
	return got, nil
}

// Sampler takes a sample every Every from the start of the mix to its end (the first at once, the last at the end):
// it is Config.DuringMix.
type Sampler struct {
	Probe   Probe
	Every   time.Duration
	Samples []Sample
	OnTake  func(Sample) // progress (a log line), optional
}

// Run samples until ctx ends; set it as Config.DuringMix.
func (s *Sampler) Run(ctx context.Context, sent func() (requests, commands, unexpected int)) {
	start := time.Now()
	take := func() {
		// The reading itself must not be cut by the end of the mix.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		smp := s.Probe.Read(rctx)
		smp.Sec = time.Since(start).Seconds()
		smp.Requests, smp.Commands, smp.Unexpected = sent()
		s.Samples = append(s.Samples, smp)
		if s.OnTake != nil {
			s.OnTake(smp)
		}
	}
	take()
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			take()
			return
		case <-t.C:
			take()
		}
	}
}

// Trend is a series' verdict: the mean of its last third of samples against the mean of its first third. Memory,
// goroutines and open files "grow" when the last third is above the first by more than the threshold. The database
// and the events grow with the data by design: for them the bytes written per command in the last third are compared
// with those of the first third, and they "grow faster than the data" beyond the threshold.
type Trend struct {
	Series     string  `json:"series"`
	First      float64 `json:"first_third"`
	Last       float64 `json:"last_third"`
	Growth     float64 `json:"growth"` // Last/First - 1
	PerCmd     bool    `json:"per_command,omitempty"`
	Verdict    string  `json:"verdict"`
	Unmeasured bool    `json:"unmeasured,omitempty"`
}

// Verdicts of Trend.
const (
	Steady         = "steady"
	Grows          = "grows"
	Proportional   = "proportional to the data"
	FasterThanData = "grows faster than the data"
	TooShort       = "too few samples"
)

// Trends judges every series of samples with threshold (0.25: a quarter more in the last third than in the first).
func Trends(samples []Sample, threshold float64) []Trend {
	level := func(name string, v func(Sample) float64) Trend {
		t := Trend{Series: name}
		if len(samples) < 3 {
			t.Verdict = TooShort
			return t
		}
		n := len(samples) / 3
		for _, s := range samples[:n] {
			t.First += v(s) / float64(n)
		}
		for _, s := range samples[len(samples)-n:] {
			t.Last += v(s) / float64(n)
		}
		t.Unmeasured = t.First == 0 && t.Last == 0
		t.Verdict = judge(&t, threshold, Steady, Grows)
		return t
	}
	perCommand := func(name string, v func(Sample) float64) Trend {
		t := Trend{Series: name, PerCmd: true}
		if len(samples) < 4 {
			t.Verdict = TooShort
			return t
		}
		// Thirds of the intervals between samples: from sample 0 to n, and from len-1-n to len-1.
		n := (len(samples) - 1) / 3
		rate := func(a, b Sample) float64 {
			if b.Commands == a.Commands {
				return v(b) - v(a) // nothing written: any growth is growth without data
			}
			return (v(b) - v(a)) / float64(b.Commands-a.Commands)
		}
		t.First = rate(samples[0], samples[n])
		t.Last = rate(samples[len(samples)-1-n], samples[len(samples)-1])
		t.Unmeasured = v(samples[0]) == 0 && v(samples[len(samples)-1]) == 0
		t.Verdict = judge(&t, threshold, Proportional, FasterThanData)
		return t
	}
	return []Trend{
		level("rss bytes", func(s Sample) float64 { return float64(s.RSS) }),
		level("heap bytes", func(s Sample) float64 { return float64(s.Heap) }),
		level("heap goal bytes", func(s Sample) float64 { return float64(s.HeapGoal) }),
		level("goroutines", func(s Sample) float64 { return float64(s.Goroutines) }),
		level("open files", func(s Sample) float64 { return float64(s.OpenFiles) }),
		perCommand("read-model db bytes", func(s Sample) float64 { return float64(s.DB) }),
		perCommand("events bytes", func(s Sample) float64 { return float64(s.Events) }),
	}
}

func judge(t *Trend, threshold float64, ok, bad string) string {
	if t.Unmeasured {
		return "not measured"
	}
	switch {
	case t.First > 0:
		t.Growth = t.Last/t.First - 1
	case t.Last > 0:
		t.Growth = 1 // from nothing to something
	}
	if t.Growth > threshold {
		return bad
	}
	return ok
}

// SoakReport is a soak: the load's own report, the curve of every series and its verdict.
type SoakReport struct {
	Load      *Report  `json:"load"`
	EverySec  float64  `json:"sample_every_seconds"`
	Threshold float64  `json:"threshold"`
	Samples   []Sample `json:"samples"`
	Trends    []Trend  `json:"trends"`
}

// WriteText prints the load's tables, then the curve as numbers and the verdicts.
func (r *SoakReport) WriteText(w io.Writer) error {
	if r.Load != nil {
		if err := r.Load.WriteText(w); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "\nsoak: a sample every %.0f s (sizes in MiB)\n", r.EverySec); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "s\trequests\tcommands\tunexpected\tready\trss\theap\theap goal\tgoroutines\topen files\tdb\tevents\t\n")
	mib := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%.0f\t%d\t%d\t%d\t%v\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", s.Sec, s.Requests, s.Commands, s.Unexpected, s.Ready, mib(s.RSS), mib(s.Heap),
			mib(s.HeapGoal), s.Goroutines, s.OpenFiles, mib(s.DB), mib(s.Events))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nverdicts (last third against first third, threshold %+.0f%%):\n", r.Threshold*100)
	for _, t := range r.Trends {
		unit := ""
		if t.PerCmd {
			unit = " per command"
		}
		fmt.Fprintf(&b, "  %-20s first %12.1f  last %12.1f%s  %+6.1f%%  %s\n", t.Series, t.First, t.Last, unit, t.Growth*100, t.Verdict)
	}
	for _, s := range r.Samples {
		if s.Errors != "" {
			fmt.Fprintf(&b, "sample at %.0f s: %s\n", s.Sec, s.Errors)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
