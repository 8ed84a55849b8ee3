package acceptance

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/msa-dossier/dossier/adapters/loadgen"
	"github.com/msa-dossier/dossier/tests/testbin"
)

// TestBenchSoakShort is the soak of issue 12 in short (about 40 s of load; the 30-minute run is `dossier bench soak`,
// figures in BENCHMARKS.md): the mixed load runs against the serve it starts on the embedded default while every
// series is sampled from the real process, its /metrics and its files. It checks that every sample read every
// series, that the samples follow the load, and that each series got a verdict. Growth is not asserted here: 40 s is
// all warm-up, and growth is what the long run is for.
func TestBenchSoakShort(t *testing.T) {
	cmd := exec.Command(testbin.Dossier(t), "bench", "soak", "--duration", "40s", "--sample-every", "5s", "--members", "3",
		"--caseworkers", "2", "--rate", "30", "--submit", "0.3", "--deposit", "0.05", "--book", "0.05", "--dir", t.TempDir(), "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench soak: %v\n%s", err, stderr.String())
	}
	var rep loadgen.SoakReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if rep.Load == nil || rep.Load.Unexpected != 0 || rep.Load.Commands.Count < 1 {
		t.Fatalf("load: %+v", rep.Load)
	}
	// The journeys deposit documents (--deposit) and book appointments (--book), through the real routes.
	for _, route := range []string{"POST /v1/document-submissions", "GET /v1/appointment-slots", "POST /v1/appointments"} {
		done := false
		for _, r := range rep.Load.Mix {
			done = done || (r.Route == route && r.Count > r.Expected && r.Errors == 0)
		}
		if !done {
			t.Fatalf("no successful %s in the mix: %+v", route, rep.Load.Mix)
		}
	}
	if len(rep.Samples) < 6 || rep.EverySec != 5 {
		t.Fatalf("%d samples every %v s", len(rep.Samples), rep.EverySec)
	}
	for i, s := range rep.Samples {
		if s.Errors != "" || s.RSS <= 0 || s.OpenFiles <= 0 || s.Goroutines <= 0 || s.Heap <= 0 || s.HeapGoal <= 0 ||
			s.DB <= 0 || s.Events <= 0 {
			t.Fatalf("sample %d: %+v", i, s)
		}
		if i > 0 {
			p := rep.Samples[i-1]
			if s.Sec <= p.Sec || s.Requests < p.Requests || s.Commands < p.Commands || s.Events < p.Events {
				t.Fatalf("samples %d and %d out of order: %+v %+v", i-1, i, p, s)
			}
		}
	}
	if last := rep.Samples[len(rep.Samples)-1]; last.Events <= rep.Samples[0].Events || last.Commands <= rep.Samples[0].Commands {
		t.Fatalf("the events did not grow with the commands: %+v → %+v", rep.Samples[0], last)
	}
	want := []string{"rss bytes", "heap bytes", "heap goal bytes", "goroutines", "open files", "read-model db bytes", "events bytes"}
	if len(rep.Trends) != len(want) {
		t.Fatalf("trends %+v", rep.Trends)
	}
	for i, tr := range rep.Trends {
		if tr.Series != want[i] || tr.Verdict == "" || tr.Verdict == loadgen.TooShort || tr.Unmeasured {
			t.Fatalf("trend %d: %+v", i, tr)
		}
	}
}
