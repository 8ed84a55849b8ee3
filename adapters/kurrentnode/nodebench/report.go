package nodebench

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one line of the report table: a median figure, the same figure in every round, its same-run
// baseline, the ratio of the medians and the goal.
type Row struct {
	Measurement string `json:"measurement"`
	Figure      string `json:"figure"`
	Latency     string `json:"latency,omitempty"` // p50 / p99 of the same operations
	PerRound    string `json:"per_round"`
	Baseline    string `json:"baseline,omitempty"`
	Ratio       string `json:"ratio,omitempty"`
	Goal        string `json:"goal,omitempty"`
	// Met is "yes" or "no" when the row has a goal, "" otherwise.
	Met string `json:"met,omitempty"`
	// Value is Figure as a number (per second, or seconds for latencies); RatioValue is Ratio as a number.
	Value      float64 `json:"value"`
	RatioValue float64 `json:"ratio_value,omitempty"`
}

func buildRows(rep *Report, cfg Config) []Row {
	rs := rep.PerRound
	perSec := func(f func(Round) float64) (float64, string) {
		xs := make([]float64, len(rs))
		parts := make([]string, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
			parts[i] = formatCount(xs[i])
		}
		return median(xs), strings.Join(parts, " · ")
	}
	lat := func(f func(Round) time.Duration) (time.Duration, string) {
		ds := make([]time.Duration, len(rs))
		parts := make([]string, len(rs))
		for i, r := range rs {
			ds[i] = f(r)
			parts[i] = formatMs(ds[i])
		}
		return medianDuration(ds), strings.Join(parts, " · ")
	}
	p50p99 := func(f func(Round) Latencies) string {
		p50, _ := lat(func(r Round) time.Duration { return f(r).P50 })
		p99, _ := lat(func(r Round) time.Duration { return f(r).P99 })
		return formatMs(p50) + " / " + formatMs(p99)
	}
	ratio := func(a, b float64) (float64, string) {
		if b == 0 {
			return 0, ""
		}
		return a / b, fmt.Sprintf("%.2f×", a/b)
	}
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	var rows []Row
	n := cfg.Writers

	fsync, fsyncRounds := perSec(func(r Round) float64 { return r.Fsync.PerSecond })
	rows = append(rows, Row{
		Measurement: "Disk baseline: write 300 B + fdatasync, 1 writer",
		Figure:      formatCount(fsync) + "/s", Value: fsync, PerRound: fsyncRounds,
		Latency: p50p99(func(r Round) Latencies { return r.Fsync.Latency }),
	})
	var pg float64
	if rs[0].Postgres != nil {
		var pgRounds string
		pg, pgRounds = perSec(func(r Round) float64 { return r.Postgres.PerSecond })
		rows = append(rows, Row{
			Measurement: fmt.Sprintf("PostgreSQL baseline: INSERT+COMMIT per event, %d clients", n),
			Figure:      formatCount(pg) + "/s", Value: pg, PerRound: pgRounds,
			Latency: p50p99(func(r Round) Latencies { return r.Postgres.Latency }),
		})
	} else {
		rows = append(rows, Row{
			Measurement: fmt.Sprintf("PostgreSQL baseline: INSERT+COMMIT per event, %d clients", n),
			Figure:      "not measured", PerRound: rep.PostgresNote,
		})
	}

	a1, a1Rounds := perSec(func(r Round) float64 { return r.Append1.PerSecond })
	a1p99, _ := lat(func(r Round) time.Duration { return r.Append1.Latency.P99 })
	rv, rs1 := ratio(a1, fsync)
	rows = append(rows, Row{
		Measurement: "Append through the client, 1 writer (durable)",
		Figure:      formatCount(a1) + "/s", Value: a1, PerRound: a1Rounds,
		Latency:  p50p99(func(r Round) Latencies { return r.Append1.Latency }),
		Baseline: "disk " + formatCount(fsync) + "/s", Ratio: rs1, RatioValue: rv,
		Goal: "p99 ≤ 10 ms", Met: met(a1p99 <= GoalAppendP99),
	})

	an, anRounds := perSec(func(r Round) float64 { return r.AppendN.PerSecond })
	anLatency := p50p99(func(r Round) Latencies { return r.AppendN.Latency })
	rv, rsn := ratio(an, fsync)
	rows = append(rows, Row{
		Measurement: fmt.Sprintf("Append through the client, %d writers (durable)", n),
		Figure:      formatCount(an) + "/s", Value: an, PerRound: anRounds, Latency: anLatency,
		Baseline: "disk " + formatCount(fsync) + "/s", Ratio: rsn, RatioValue: rv,
		Goal: fmt.Sprintf("≥ %g× disk", GoalAppendVsFsync), Met: met(rv >= GoalAppendVsFsync),
	})
	if pg > 0 {
		rv, rsp := ratio(an, pg)
		rows = append(rows, Row{
			Measurement: fmt.Sprintf("Append through the client, %d writers (durable)", n),
			Figure:      formatCount(an) + "/s", Value: an, PerRound: anRounds, Latency: anLatency,
			Baseline: "PostgreSQL " + formatCount(pg) + "/s", Ratio: rsp, RatioValue: rv,
			Goal: fmt.Sprintf("≥ %g× PostgreSQL", GoalAppendVsPostgres), Met: met(rv >= GoalAppendVsPostgres),
		})
	}
	anp99, anp99Rounds := lat(func(r Round) time.Duration { return r.AppendN.Latency.P99 })
	rows = append(rows, Row{
		Measurement: fmt.Sprintf("Append latency p99, %d writers", n),
		Figure:      formatMs(anp99), Value: anp99.Seconds(), PerRound: anp99Rounds,
		Goal: "p99 ≤ 10 ms", Met: met(anp99 <= GoalAppendP99),
	})

	ra, raRounds := perSec(func(r Round) float64 { return r.ReadAll.PerSecond })
	rows = append(rows, Row{
		Measurement: fmt.Sprintf("Read $all forwards, %s events, one request", formatCount(float64(cfg.ReadEvents))),
		Figure:      formatCount(ra) + " events/s", Value: ra, PerRound: raRounds,
		Goal: "≥ " + formatCount(GoalReadAll) + "/s", Met: met(ra >= GoalReadAll),
	})
	cu, cuRounds := perSec(func(r Round) float64 { return r.CatchUp.PerSecond })
	rv, rsc := ratio(cu, ra)
	rows = append(rows, Row{
		Measurement: fmt.Sprintf("Catch-up subscription to $all from the start, %s events", formatCount(float64(cfg.ReadEvents))),
		Figure:      formatCount(cu) + " events/s", Value: cu, PerRound: cuRounds,
		Baseline: "read $all " + formatCount(ra) + "/s", Ratio: rsc, RatioValue: rv,
	})
	lp99, lRounds := lat(func(r Round) time.Duration { return r.Live.Delivery.P99 })
	rows = append(rows, Row{
		Measurement: "Live subscription to $all: append start → event received (p99)",
		Figure:      formatMs(lp99), Value: lp99.Seconds(), PerRound: lRounds,
		Latency:  p50p99(func(r Round) Latencies { return r.Live.Delivery }),
		Baseline: "append ack " + p50p99(func(r Round) Latencies { return r.Live.Ack }),
	})

	if rs[0].MemAppend1 != nil {
		m1, m1Rounds := perSec(func(r Round) float64 { return r.MemAppend1.PerSecond })
		rv, rsm := ratio(m1, a1)
		rows = append(rows, Row{
			Measurement: "Diagnostic: append, 1 writer, in-memory node (no fsync)",
			Figure:      formatCount(m1) + "/s", Value: m1, PerRound: m1Rounds,
			Latency:  p50p99(func(r Round) Latencies { return r.MemAppend1.Latency }),
			Baseline: "on disk " + formatCount(a1) + "/s", Ratio: rsm, RatioValue: rv,
		})
		mn, mnRounds := perSec(func(r Round) float64 { return r.MemAppendN.PerSecond })
		rv, rsm = ratio(mn, an)
		rows = append(rows, Row{
			Measurement: fmt.Sprintf("Diagnostic: append, %d writers, in-memory node (no fsync)", n),
			Figure:      formatCount(mn) + "/s", Value: mn, PerRound: mnRounds,
			Latency:  p50p99(func(r Round) Latencies { return r.MemAppendN.Latency }),
			Baseline: "on disk " + formatCount(an) + "/s", Ratio: rsm, RatioValue: rv,
		})
	}
	return rows
}

// WriteText writes the machine, the table (Markdown) and how to read it.
func (rep *Report) WriteText(w io.Writer) error {
	m := rep.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s, %s\n", m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.OS, m.Kernel)
	fmt.Fprintf(&b, "Data: %s filesystem; the node, the client and the benchmark share the same %d cores and Go process.\n", m.Filesystem, m.Cores)
	if m.Postgres != "" {
		fmt.Fprintf(&b, "PostgreSQL: %s\n", m.Postgres)
	}
	if rep.PostgresNote != "" {
		fmt.Fprintf(&b, "PostgreSQL note: %s\n", rep.PostgresNote)
	}
	fmt.Fprintf(&b, "Run: %s, %d rounds of %s per timed measurement; read store pre-filled with %s events in %s.\n\n",
		rep.Started.Format(time.RFC3339), rep.Rounds, rep.Duration, formatCount(float64(rep.Fill.Events)), rep.Fill.Elapsed.Round(time.Millisecond))

	header := []string{"Measurement", "Median", "p50 / p99", "Per round", "Same-run baseline", "Ratio", "Goal", "Met"}
	cells := [][]string{header}
	for _, r := range rep.Rows {
		cells = append(cells, []string{r.Measurement, r.Figure, r.Latency, r.PerRound, r.Baseline, r.Ratio, r.Goal, r.Met})
	}
	widths := make([]int, len(header))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
	b.WriteString("\nMedians of the rounds; ratios are ratios of the medians. Latencies are medians of each round's p50 and p99.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// formatCount formats a count or rate with thousands separators and no decimals (one decimal below 10).
func formatCount(x float64) string {
	if x < 10 && x != float64(int64(x)) {
		return fmt.Sprintf("%.1f", x)
	}
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// formatMs formats a duration in milliseconds.
func formatMs(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}
