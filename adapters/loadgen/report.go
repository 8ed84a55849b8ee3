package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is what one run measured. Figures in milliseconds and per second; JSON is the same data as the table.
type Report struct {
	Target   string  `json:"target"`
	Note     string  `json:"note,omitempty"` // where the server's read models live, given by the caller
	Machine  Machine `json:"machine"`
	Members  int     `json:"members"`
	Staff    int     `json:"caseworkers"`
	SetupSec float64 `json:"setup_seconds"`
	// Setup holds the calls that created the members and staff (registration, activation, logins, queue grants).
	Setup []RouteStats `json:"setup"`
	// Baseline is GET /healthz and the authenticated GET /v1/me, each alone at the same concurrency.
	Baseline Baseline `json:"baseline"`
	// Mix is the journeys' phase: every route they called, and GET /healthz probed beside them.
	Mix      []RouteStats `json:"mix"`
	MixSec   float64      `json:"mix_seconds"`
	Reads    Totals       `json:"reads"`
	Commands Totals       `json:"commands"`
	// Unexpected counts answers no journey expects (a 5xx, a refused read, a transport error), over every phase.
	Unexpected int `json:"unexpected_errors"`
	// ErrorSamples are a few of them (method, route, status, code), never a body.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// ErrorKinds counts every unexpected answer by route, status and code.
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	// LoginsGivenUp counts the members' logins of the mix refused (429/503) loginAttempts times in a row; each such
	// member then sat out loginSkippedSteps steps, counted in StepsSkipped.
	LoginsGivenUp int `json:"logins_given_up"`
	StepsSkipped  int `json:"steps_skipped"`
	// ServerCPUSec is the CPU time the server process used during the mix, when the caller knows its pid.
	ServerCPUSec float64 `json:"server_cpu_seconds,omitempty"`
	// LoadCPUSec is the CPU time this generator used during the mix.
	LoadCPUSec float64 `json:"generator_cpu_seconds,omitempty"`
	// Goals compares the run with issue 12's goals for one 2-core machine.
	Goals []Goal `json:"goals"`
}

// Goal is one of issue 12's goals beside what the run measured. Factor is how far the measure is from the goal
// (goal ÷ measured for a floor, measured ÷ goal for a ceiling): above 1, the goal is missed by that factor.
type Goal struct {
	Name     string  `json:"name"`
	Goal     float64 `json:"goal"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
	Factor   float64 `json:"factor"`
}

// goals are issue 12's goals: 1,000 reads/s and 100 commands/s with p99 ≤ 100 ms and no errors, and an
// authenticated database-backed GET at ≥ 0.3× the /healthz rate. The rates of a closed-loop run are what the server
// sustained at that concurrency; with --rate they cannot exceed the rate asked.
func (r *Report) goals() []Goal {
	floor := func(name string, goal, got float64) Goal {
		g := Goal{Name: name, Goal: goal, Measured: got, Met: got >= goal}
		if got > 0 {
			g.Factor = goal / got
		}
		return g
	}
	ceiling := func(name string, goal, got float64) Goal {
		return Goal{Name: name, Goal: goal, Measured: got, Met: got <= goal, Factor: got / goal}
	}
	return []Goal{
		floor("reads per second", 1000, r.Reads.Rate),
		floor("commands per second", 100, r.Commands.Rate),
		ceiling("p99 of reads, ms", 100, r.Reads.P99ms),
		ceiling("p99 of commands, ms", 100, r.Commands.P99ms),
		floor("GET /v1/me rate ÷ GET /healthz rate", 0.3, r.Baseline.Ratio),
		{Name: "unexpected errors", Goal: 0, Measured: float64(r.Unexpected), Met: r.Unexpected == 0},
	}
}

// Machine says where the figures come from.
type Machine struct {
	OS          string  `json:"os"`
	Arch        string  `json:"arch"`
	CPUs        int     `json:"cpus"`
	GoVersion   string  `json:"go_version"`
	LoadBefore  string  `json:"load_average_before"`
	LoadAfter   string  `json:"load_average_after"`
	Concurrency int     `json:"concurrency"`
	RateLimit   float64 `json:"rate_limit_per_second"` // 0: unlimited (closed loop)
}

// Baseline compares the authenticated database-backed GET with GET /healthz on the same server in the same run.
type Baseline struct {
	Clients int        `json:"clients"`
	Healthz RouteStats `json:"healthz"`
	Me      RouteStats `json:"me"`
	// Ratio is the rate of GET /v1/me over the rate of GET /healthz (the goal is ≥ 0.3).
	Ratio float64 `json:"ratio"`
}

// Totals sums a kind of request over the mix.
type Totals struct {
	Count  int     `json:"count"`
	Rate   float64 `json:"rate_per_second"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	Errors int     `json:"unexpected_errors"`
}

// RouteStats are one route's figures: Route is the method and the path pattern (never an id).
type RouteStats struct {
	Route string `json:"route"`
	Totals
	// Expected counts answers outside 2xx the journey expects (nothing to claim, a lost race): not errors.
	Expected int `json:"expected_refusals"`
}

// recorder collects latencies per route.
type recorder struct {
	mu     sync.Mutex
	routes map[string]*samples
	// unexpected keeps a few descriptions of the unexpected answers.
	unexpected []string
	nUnexp     int
	// kinds counts the unexpected answers by route, status and code (never a body).
	kinds map[string]int
	// loginsGivenUp counts the members' logins that gave up after loginAttempts; stepsSkipped the steps those
	// members sat out (loginSkippedSteps each).
	loginsGivenUp, stepsSkipped int
}

func (r *recorder) loginGaveUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loginsGivenUp++
}

func (r *recorder) stepSkipped() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stepsSkipped++
}

type samples struct {
	lat      []time.Duration
	errors   int
	expected int
}

func newRecorder() *recorder { return &recorder{routes: map[string]*samples{}} }

func (r *recorder) add(route string, d time.Duration, outcome outcome, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.routes[route]
	if s == nil {
		s = &samples{}
		r.routes[route] = s
	}
	s.lat = append(s.lat, d)
	switch outcome {
	case unexpected:
		s.errors++
		r.nUnexp++
		if r.kinds == nil {
			r.kinds = map[string]int{}
		}
		r.kinds[route+": "+detail]++
		if len(r.unexpected) < 20 {
			r.unexpected = append(r.unexpected, route+": "+detail)
		}
	case expectedRefusal:
		s.expected++
	}
}

// stats returns the figures of every route, sorted by route, over elapsed.
func (r *recorder) stats(elapsed time.Duration) []RouteStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RouteStats, 0, len(r.routes))
	for route, s := range r.routes {
		out = append(out, RouteStats{Route: route, Totals: totals(s.lat, s.errors, elapsed), Expected: s.expected})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// sum returns the totals of the routes keep selects.
func (r *recorder) sum(elapsed time.Duration, keep func(route string) bool) Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	var (
		all    []time.Duration
		errors int
	)
	for route, s := range r.routes {
		if keep(route) {
			all = append(all, s.lat...)
			errors += s.errors
		}
	}
	return totals(all, errors, elapsed)
}

// unexpectedSoFar is the number of unexpected answers so far.
func (r *recorder) unexpectedSoFar() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nUnexp
}

// count is the number of calls of the routes keep selects so far.
func (r *recorder) count(keep func(route string) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for route, s := range r.routes {
		if keep(route) {
			n += len(s.lat)
		}
	}
	return n
}

func totals(lat []time.Duration, errors int, elapsed time.Duration) Totals {
	t := Totals{Count: len(lat), Errors: errors}
	if len(lat) == 0 {
		return t
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	if elapsed > 0 {
		t.Rate = float64(len(s)) / elapsed.Seconds()
	}
	t.P50ms, t.P99ms, t.MaxMs = ms(percentile(s, 0.50)), ms(percentile(s, 0.99)), ms(s[len(s)-1])
	return t
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteText prints the report as tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dossier bench http: %s", r.Target)
	if r.Note != "" {
		fmt.Fprintf(&b, " (%s)", r.Note)
	}
	fmt.Fprintf(&b, "\nmachine: %s/%s, %d CPUs, %s; load average before %s, after %s\n", r.Machine.OS, r.Machine.Arch,
		r.Machine.CPUs, r.Machine.GoVersion, r.Machine.LoadBefore, r.Machine.LoadAfter)
	rl := "unlimited (closed loop)"
	if r.Machine.RateLimit > 0 {
		rl = fmt.Sprintf("%.0f requests/s", r.Machine.RateLimit)
	}
	fmt.Fprintf(&b, "%d members, %d caseworkers (set up in %.1f s); %d concurrent journeys, rate %s\n\n",
		r.Members, r.Staff, r.SetupSec, r.Machine.Concurrency, rl)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "route\tcount\trate/s\tp50 ms\tp99 ms\tmax ms\terrors\texpected 4xx\t\n"
	row := func(s RouteStats) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n", s.Route, s.Count, s.Rate, s.P50ms, s.P99ms, s.MaxMs,
			s.Errors, s.Expected)
	}
	fmt.Fprintf(tw, "baseline (%d clients, each route alone)\n", r.Baseline.Clients)
	fmt.Fprint(tw, header)
	row(r.Baseline.Healthz)
	row(r.Baseline.Me)
	fmt.Fprintf(tw, "ratio of the rates, GET /v1/me ÷ GET /healthz: %.2f (goal ≥ 0.3)\n\n", r.Baseline.Ratio)
	fmt.Fprintf(tw, "mix (%.1f s)\n", r.MixSec)
	fmt.Fprint(tw, header)
	for _, s := range r.Mix {
		row(s)
	}
	row(RouteStats{Route: "all reads (GET, without /healthz)", Totals: r.Reads})
	row(RouteStats{Route: "all commands", Totals: r.Commands})
	fmt.Fprint(tw, "\nsetup\n")
	fmt.Fprint(tw, header)
	for _, s := range r.Setup {
		row(s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.Reset()
	if r.ServerCPUSec > 0 || r.LoadCPUSec > 0 {
		fmt.Fprintf(&b, "\nCPU during the mix: server %.1f s, generator %.1f s (of %.1f s × %d CPUs)\n",
			r.ServerCPUSec, r.LoadCPUSec, r.MixSec, r.Machine.CPUs)
	}
	fmt.Fprintf(&b, "\ngoals (issue 12, one 2-core machine):\n")
	goals := r.Goals
	if goals == nil { // a report read back from older JSON
		goals = r.goals()
	}
	for _, g := range goals {
		verdict := "met"
		if !g.Met {
			verdict = "missed"
			if g.Factor > 0 {
				verdict = fmt.Sprintf("missed by %.1f×", g.Factor)
			}
		}
		fmt.Fprintf(&b, "  %-38s goal %-6g measured %-9.2f %s\n", g.Name, g.Goal, g.Measured, verdict)
	}
	fmt.Fprintf(&b, "unexpected errors: %d\n", r.Unexpected)
	if r.LoginsGivenUp > 0 {
		fmt.Fprintf(&b, "member logins given up: %d (steps skipped: %d)\n", r.LoginsGivenUp, r.StepsSkipped)
	}
	if len(r.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool { return r.ErrorKinds[kinds[i]] > r.ErrorKinds[kinds[j]] })
		for _, k := range kinds {
			fmt.Fprintf(&b, "  %7d × %s\n", r.ErrorKinds[k], k)
		}
	} else {
		for _, e := range r.ErrorSamples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
