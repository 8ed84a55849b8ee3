package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestTrendsJudgeEachSeries: a level that climbs steadily grows, a noisy flat one is steady; storage that grows by
// the same bytes per command is proportional to the data, storage whose bytes per command climb grows faster.
func TestTrendsJudgeEachSeries(t *testing.T) {
	var samples []Sample
	for i := range 12 {
		noise := int64(i%2) * 3 << 20 // ±3 MiB around 100 MiB
		samples = append(samples, Sample{Sec: float64(i * 30), Commands: 1000 * i,
			RSS:        100<<20 + noise,            // flat
			Heap:       50<<20 + int64(i)*10<<20,   // +10 MiB a sample: from ~65 to ~145 MiB
			HeapGoal:   80 << 20,                   // flat
			Goroutines: 300 + i%3,                  // flat
			OpenFiles:  90 + i*5,                   // a leak: 90 → 145
			DB:         4<<20 + int64(i)*1000*2000, // 2,000 bytes per command throughout
			Events:     int64(i*i) * 1000 * 500,    // bytes per command climbing
		})
	}
	got := map[string]Trend{}
	for _, tr := range Trends(samples, 0.25) {
		got[tr.Series] = tr
	}
	for series, want := range map[string]string{"rss bytes": Steady, "heap bytes": Grows, "heap goal bytes": Steady,
		"goroutines": Steady, "open files": Grows, "read-model db bytes": Proportional, "events bytes": FasterThanData} {
		if got[series].Verdict != want {
			t.Errorf("%s: %+v, want %s", series, got[series], want)
		}
	}
	if db := got["read-model db bytes"]; db.First != 2000 || db.Last != 2000 {
		t.Errorf("db bytes per command %+v, want 2000 in both thirds", db)
	}
	if tr := Trends(samples[:2], 0.25); tr[0].Verdict != TooShort {
		t.Errorf("two samples judged: %+v", tr[0])
	}
	none := make([]Sample, 6)
	if tr := Trends(none, 0.25); tr[0].Verdict != "not measured" {
		t.Errorf("zeros judged: %+v", tr[0])
	}
}

// TestSamplerSeesAGoroutineLeak samples this very process (its /proc entry, and a real Prometheus Go collector served
// on loopback) while goroutines leak on purpose: the goroutine series grows, the sizes are read from real files.
func TestSamplerSeesAGoroutineLeak(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "dossier.db")
	events := filepath.Join(dir, "events")
	if err := os.MkdirAll(filepath.Join(events, "chunks"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, n int) {
		if err := os.WriteFile(path, bytes.Repeat([]byte{1}, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(db, 4096)
	write(db+"-wal", 1000)
	write(filepath.Join(events, "chunks", "0"), 700)

	stop := make(chan struct{})
	defer close(stop)
	s := &Sampler{Every: 20 * time.Millisecond, Probe: Probe{PID: os.Getpid(), Metrics: srv.URL + "/metrics", DBPath: db,
		EventsDir: events}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	leaked := 0
	s.OnTake = func(Sample) { // each sample, 200 more goroutines that never end
		for range 200 {
			leaked++
			go func() { <-stop }()
		}
	}
	s.Run(ctx, func() (int, int, int) { return leaked, leaked, 0 })
	if len(s.Samples) < 4 {
		t.Fatalf("%d samples", len(s.Samples))
	}
	first := s.Samples[0]
	if first.Errors != "" || first.RSS <= 0 || first.OpenFiles <= 0 || first.Goroutines <= 0 || first.Heap <= 0 ||
		first.HeapGoal <= 0 || first.DB != 5096 || first.Events != 700 {
		t.Fatalf("first sample %+v", first)
	}
	got := map[string]Trend{}
	for _, tr := range Trends(s.Samples, 0.25) {
		got[tr.Series] = tr
	}
	if g := got["goroutines"]; g.Verdict != Grows {
		t.Fatalf("goroutines %+v, samples %+v", g, s.Samples)
	}
	var b strings.Builder
	rep := &SoakReport{EverySec: 0.02, Threshold: 0.25, Samples: s.Samples, Trends: Trends(s.Samples, 0.25)}
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "goroutines") || !strings.Contains(b.String(), Grows) {
		t.Fatalf("%v\n%s", err, b.String())
	}
}

// TestProbeSaysWhatItCouldNotRead: a missing process, database or metrics endpoint is named in the sample, not a
// crash; metrics off loopback are refused.
func TestProbeSaysWhatItCouldNotRead(t *testing.T) {
	s := Probe{PID: 1 << 30, DBPath: filepath.Join(t.TempDir(), "none.db"), Metrics: "http://192.0.2.1:9/metrics"}.Read(context.Background())
	for _, want := range []string{"/proc/", "none.db", "loopback"} {
		if !strings.Contains(s.Errors, want) {
			t.Errorf("errors %q do not name %q", s.Errors, want)
		}
	}
}

// TestDepositBodyIsTheAPIsMultipartForm: a "submission" part in JSON first, then one PNG that decodes.
func TestDepositBodyIsTheAPIsMultipartForm(t *testing.T) {
	body, err := depositBody()
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(body.contentType)
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(body.data), params["boundary"])
	p, err := r.NextPart()
	if err != nil || p.FormName() != "submission" {
		t.Fatalf("first part %v %v", p, err)
	}
	var sub struct {
		Subject     string `json:"subject"`
		Attestation bool   `json:"attestation"`
		Documents   []struct {
			Nature string `json:"nature"`
		} `json:"documents"`
	}
	if err := json.NewDecoder(p).Decode(&sub); err != nil || sub.Subject != "other" || !sub.Attestation ||
		len(sub.Documents) != 1 || sub.Documents[0].Nature != "other" {
		t.Fatalf("submission %+v %v", sub, err)
	}
	p, err = r.NextPart()
	if err != nil || p.FormName() != "documents[0].files" || p.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("file part %v %v", p, err)
	}
	if img, err := png.Decode(p); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("png: %v", err)
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Fatalf("a third part: %v", err)
	}
}

// TestMemberLogsInAgainAfterAFailedLogin: a login that fails during a relogin (here a 503, as an overloaded server
// answers) leaves the member without a session; the journey logs in again before calling any other route, instead
// of calling them without a session for the rest of the run (the first 30-minute soak's 401 session.required). The
// server is a stand-in for the API: the journey's own behaviour is under test.
func TestMemberLogsInAgainAfterAFailedLogin(t *testing.T) {
	var (
		mu                  sync.Mutex
		logins, unauthCalls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/sessions":
			logins++
			if logins%2 == 1 { // every other login fails
				w.WriteHeader(503)
				_, _ = w.Write([]byte(`{"code":"unavailable"}`))
				return
			}
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"token":"t"}`))
		case r.Header.Get("Authorization") == "":
			unauthCalls++
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"code":"session.required"}`))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	rec := newRecorder()
	c := newClient(srv.URL, nil, rec, 5*time.Second)
	c.token, c.nir = "t", "1850375115042"
	steps := 0
	memberJourney(context.Background(), Config{Relogin: 0.3, Submit: 0.1}, c, 1, func() bool { steps++; return steps <= 200 })
	if logins < 4 || unauthCalls != 0 {
		t.Fatalf("%d logins, %d calls without a session", logins, unauthCalls)
	}
}
