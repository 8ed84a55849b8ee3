package projbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// Config configures Run.
type Config struct {
	// Source reads the event store that Append writes to. Both are required.
	Source projections.Source
	Append Append
	// Fill sizes the pre-filled log (default 100,000 events over 10,000 streams).
	Fill FillOptions
	// Rounds of the rebuild and raw-insert measurements; the report gives medians (default 3).
	Rounds int
	// Dir is the parent of the SQLite files ("" : the system temp dir).
	Dir string
	// PostgresURL is the server of the PostgreSQL figures ("" leaves them out, with PostgresNote saying why).
	PostgresURL  string
	PostgresNote string
	// RYW configures the read-your-writes measurement.
	RYW RYWOptions
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
	// Sealed, when set, wires a second, empty event store whose codec seals and opens personal fields with sealer:
	// an Append and a Source over it. Run fills it with the same events through a real key store (see KeyStore, on
	// a SQLite database under Dir), then reads it and rebuilds from it in every round beside the clear store, each
	// read and rebuild through a new key-store handle (cold key cache, as a freshly started process).
	Sealed func(sealer event.Sealer) (Append, projections.Source)
}

// Round is one round's figures for one dialect.
type Round struct {
	Rebuild Rate `json:"rebuild"`
	Raw     Rate `json:"raw"`
	// SealedRebuild is the rebuild from the sealed store (Config.Sealed), in a database of its own.
	SealedRebuild *Rate `json:"sealed_rebuild,omitempty"`
}

// DialectReport holds the figures of one dialect.
type DialectReport struct {
	Dialect string  `json:"dialect"`
	Note    string  `json:"note,omitempty"`
	Rounds  []Round `json:"rounds,omitempty"`
	// Medians over the rounds.
	Rebuild float64 `json:"rebuild_events_per_second"`
	Raw     float64 `json:"raw_rows_per_second"`
	Ratio   float64 `json:"ratio"`
	// SealedRebuild is the median rebuild rate from the sealed store, SealedRatio SealedRebuild ÷ Rebuild (goal:
	// GoalSealedRebuildRatio); zero without Config.Sealed.
	SealedRebuild float64 `json:"sealed_rebuild_events_per_second,omitempty"`
	SealedRatio   float64 `json:"sealed_ratio,omitempty"`
	// RYW is measured once, after the rounds.
	RYW *RYWResult `json:"read_your_writes,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	Fill   FillResult `json:"fill"`
	Rounds int        `json:"rounds"`
	// Read is the rate of reading and decoding the whole log with no projection, once per round; ReadMedian its
	// median. It bounds every rebuild figure.
	Read       []Rate          `json:"read"`
	ReadMedian float64         `json:"read_events_per_second"`
	Dialects   []DialectReport `json:"dialects"`
	// With Config.Sealed: the fill of the sealed store (same events, personal field sealed), SealedFillRatio its
	// append rate ÷ the clear fill's, and the reads of the sealed log (decoding and opening every event).
	SealedFill       *FillResult `json:"sealed_fill,omitempty"`
	SealedFillRatio  float64     `json:"sealed_fill_ratio,omitempty"`
	SealedRead       []Rate      `json:"sealed_read,omitempty"`
	SealedReadMedian float64     `json:"sealed_read_events_per_second,omitempty"`
}

func (c *Config) setDefaults() {
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Fill.Events <= 0 {
		c.Fill.Events = 100_000
	}
	if c.Fill.Streams <= 0 {
		c.Fill.Streams = 10_000
	}
}

// Run fills the store (and the sealed one, with Config.Sealed), then for SQLite and (if configured) PostgreSQL
// measures Rounds rebuilds and raw inserts (and rebuilds from the sealed store), each in a fresh database, and
// read-your-writes latency once, on the clear store.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Source == nil || cfg.Append == nil {
		return nil, errors.New("projbench: Config needs a Source and an Append")
	}
	cfg.setDefaults()
	log := cfg.Logger
	logStep(log, "filling the event store", "events", cfg.Fill.Events, "streams", cfg.Fill.Streams)
	fill, err := Fill(ctx, cfg.Append, cfg.Fill)
	if err != nil {
		return nil, err
	}
	logStep(log, "filled", "in", fill.Elapsed.Round(time.Millisecond), "events_per_s", int(fill.PerSecond))
	rep := &Report{Fill: fill, Rounds: cfg.Rounds}
	var sealedSource func() (projections.Source, error)
	if cfg.Sealed != nil {
		keys, err := NewKeyStore(ctx, cfg.Dir)
		if err != nil {
			return nil, err
		}
		defer keys.Close()
		h, err := keys.Handle()
		if err != nil {
			return nil, err
		}
		sealedAppend, _ := cfg.Sealed(h)
		logStep(log, "filling the sealed event store", "events", cfg.Fill.Events, "streams", cfg.Fill.Streams)
		sf, err := Fill(ctx, sealedAppend, cfg.Fill)
		if err != nil {
			return nil, fmt.Errorf("projbench: sealed store: %w", err)
		}
		logStep(log, "filled the sealed store", "in", sf.Elapsed.Round(time.Millisecond), "events_per_s", int(sf.PerSecond))
		rep.SealedFill = &sf
		if fill.PerSecond > 0 {
			rep.SealedFillRatio = sf.PerSecond / fill.PerSecond
		}
		sealedSource = func() (projections.Source, error) {
			h, err := keys.Handle()
			if err != nil {
				return nil, err
			}
			_, src := cfg.Sealed(h)
			return src, nil
		}
	}
	rows := RawRows(cfg.Fill.Events, cfg.Fill.Streams)
	for range cfg.Rounds {
		r, err := ReadRate(ctx, cfg.Source)
		if err != nil {
			return nil, err
		}
		logStep(log, "read the log", "events_per_s", int(r.PerSecond))
		rep.Read = append(rep.Read, r)
		if sealedSource == nil {
			continue
		}
		src, err := sealedSource()
		if err != nil {
			return nil, err
		}
		if r, err = ReadRate(ctx, src); err != nil {
			return nil, fmt.Errorf("projbench: sealed store: %w", err)
		}
		logStep(log, "read the sealed log", "events_per_s", int(r.PerSecond))
		rep.SealedRead = append(rep.SealedRead, r)
	}
	rep.ReadMedian = median(rep.Read, func(r Rate) float64 { return r.PerSecond })
	rep.SealedReadMedian = median(rep.SealedRead, func(r Rate) float64 { return r.PerSecond })

	sqlite, err := NewSQLiteTarget(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer sqlite.Close()
	targets := []*Target{sqlite}
	pgReport := DialectReport{Dialect: string(sqldb.Postgres), Note: cfg.PostgresNote}
	if cfg.PostgresURL != "" {
		pg, err := NewPostgresTarget(ctx, cfg.PostgresURL)
		if err != nil {
			return nil, err
		}
		defer pg.Close()
		targets = append(targets, pg)
	}
	// Every rebuild first, on the log as filled; then the read-your-writes runs, which append to it.
	for _, tg := range targets {
		dr, err := measure(ctx, cfg, tg, rows, sealedSource)
		if err != nil {
			return nil, fmt.Errorf("projbench: %s: %w", tg.Dialect, err)
		}
		if tg.Dialect == sqldb.Postgres {
			dr.Note = cfg.PostgresNote
		}
		rep.Dialects = append(rep.Dialects, dr)
	}
	for i, tg := range targets {
		ryw, err := measureRYW(ctx, cfg, tg)
		if err != nil {
			return nil, fmt.Errorf("projbench: %s: read your writes: %w", tg.Dialect, err)
		}
		rep.Dialects[i].RYW = &ryw
	}
	if cfg.PostgresURL == "" {
		rep.Dialects = append(rep.Dialects, pgReport)
	}
	return rep, nil
}

// measure runs cfg.Rounds rounds on tg: a rebuild from the clear store and the raw insert in a fresh database, then,
// when sealedSource is set, a rebuild from the sealed store in another fresh database.
func measure(ctx context.Context, cfg Config, tg *Target, rows [][]any,
	sealedSource func() (projections.Source, error)) (DialectReport, error) {
	dr := DialectReport{Dialect: string(tg.Dialect)}
	for i := range cfg.Rounds {
		db, drop, err := tg.Open(ctx)
		if err != nil {
			return dr, err
		}
		rebuild, err := RebuildRate(ctx, db, cfg.Source)
		if err != nil {
			drop()
			return dr, err
		}
		raw, err := RawInsert(ctx, db, rows)
		drop()
		if err != nil {
			return dr, err
		}
		round := Round{Rebuild: rebuild, Raw: raw}
		if sealedSource != nil {
			sealed, err := sealedRebuild(ctx, tg, sealedSource)
			if err != nil {
				return dr, fmt.Errorf("sealed store: %w", err)
			}
			round.SealedRebuild = &sealed
		}
		logStep(cfg.Logger, "round", "dialect", tg.Dialect, "round", i+1,
			"rebuild_events_per_s", int(rebuild.PerSecond), "raw_rows_per_s", int(raw.PerSecond),
			"sealed_rebuild_events_per_s", int(round.sealedPerSecond()))
		dr.Rounds = append(dr.Rounds, round)
	}
	dr.Rebuild = median(dr.Rounds, func(r Round) float64 { return r.Rebuild.PerSecond })
	dr.Raw = median(dr.Rounds, func(r Round) float64 { return r.Raw.PerSecond })
	if dr.Raw > 0 {
		dr.Ratio = dr.Rebuild / dr.Raw
	}
	if sealedSource != nil {
		dr.SealedRebuild = median(dr.Rounds, Round.sealedPerSecond)
		if dr.Rebuild > 0 {
			dr.SealedRatio = dr.SealedRebuild / dr.Rebuild
		}
	}
	return dr, nil
}

// sealedRebuild rebuilds from the sealed store into a fresh database of tg.
func sealedRebuild(ctx context.Context, tg *Target, sealedSource func() (projections.Source, error)) (Rate, error) {
	src, err := sealedSource()
	if err != nil {
		return Rate{}, err
	}
	db, drop, err := tg.Open(ctx)
	if err != nil {
		return Rate{}, err
	}
	defer drop()
	return RebuildRate(ctx, db, src)
}

func (r Round) sealedPerSecond() float64 {
	if r.SealedRebuild == nil {
		return 0
	}
	return r.SealedRebuild.PerSecond
}

// measureRYW runs a Runner on a fresh database, lets it catch up with the filled log, then measures.
func measureRYW(ctx context.Context, cfg Config, tg *Target) (RYWResult, error) {
	db, drop, err := tg.Open(ctx)
	if err != nil {
		return RYWResult{}, err
	}
	defer drop()
	r, err := projections.NewRunner(db, cfg.Source, projections.Options{Logger: cfg.Logger}, streamactivity.New())
	if err != nil {
		return RYWResult{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		cancel()
		<-done
	}()
	logStep(cfg.Logger, "read-your-writes: catching up", "dialect", tg.Dialect)
	for r.Ready() != nil {
		select {
		case err := <-done:
			done <- err
			return RYWResult{}, fmt.Errorf("runner ended: %w", err)
		case <-ctx.Done():
			return RYWResult{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	logStep(cfg.Logger, "read-your-writes: measuring", "dialect", tg.Dialect)
	res, err := ReadYourWrites(ctx, cfg.Append, r, cfg.RYW)
	if err != nil {
		return RYWResult{}, err
	}
	logStep(cfg.Logger, "read-your-writes", "dialect", tg.Dialect, "p50", res.Wait.P50, "p99", res.Wait.P99,
		"commands_per_s", int(res.PerSecond))
	return res, nil
}

func median[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// WriteText writes the report as a table, with the goals.
func (rep *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Projection rebuild (streamactivity) from %d events over %d streams; medians of %d rounds.\n\n",
		rep.Fill.Events, rep.Fill.Streams, rep.Rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Measurement\tFigure\tPer round\tGoal\tMet")
	reads := make([]string, len(rep.Read))
	for i, r := range rep.Read {
		reads[i] = formatCount(r.PerSecond)
	}
	fmt.Fprintf(tw, "event store: read + decode the log, no projection, events/s\t%s\t%s\t\t\n",
		formatCount(rep.ReadMedian), strings.Join(reads, " · "))
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	if rep.SealedFill != nil {
		sreads := make([]string, len(rep.SealedRead))
		for i, r := range rep.SealedRead {
			sreads[i] = formatCount(r.PerSecond)
		}
		fmt.Fprintf(tw, "event store: read + decode + open the sealed log, events/s\t%s\t%s\t\t\n",
			formatCount(rep.SealedReadMedian), strings.Join(sreads, " · "))
		if rep.ReadMedian > 0 {
			fmt.Fprintf(tw, "event store: read, sealed ÷ clear\t%.2f×\t\t\t\n", rep.SealedReadMedian/rep.ReadMedian)
		}
		fmt.Fprintf(tw, "event store: fill (appends), clear / sealed, events/s\t%s / %s\t\t\t\n",
			formatCount(rep.Fill.PerSecond), formatCount(rep.SealedFill.PerSecond))
		fmt.Fprintf(tw, "event store: fill, sealed ÷ clear\t%.2f×\t\t\t\n", rep.SealedFillRatio)
	}
	for _, d := range rep.Dialects {
		if len(d.Rounds) == 0 {
			fmt.Fprintf(tw, "%s\t—\t%s\t\t\n", d.Dialect, d.Note)
			continue
		}
		per := func(f func(Round) Rate) string {
			parts := make([]string, len(d.Rounds))
			for i, r := range d.Rounds {
				parts[i] = formatCount(f(r).PerSecond)
			}
			return strings.Join(parts, " · ")
		}
		fmt.Fprintf(tw, "%s: rebuild, events/s\t%s\t%s\t≥ %s\t%s\n", d.Dialect, formatCount(d.Rebuild),
			per(func(r Round) Rate { return r.Rebuild }), formatCount(GoalRebuildRate), met(d.Rebuild >= GoalRebuildRate))
		raw := "prepared multi-row INSERT, 1 tx"
		if d.Dialect == string(sqldb.Postgres) {
			raw = "COPY, 1 tx"
		}
		fmt.Fprintf(tw, "%s: raw bulk insert (%s), rows/s\t%s\t%s\t\t\n", d.Dialect, raw, formatCount(d.Raw),
			per(func(r Round) Rate { return r.Raw }))
		fmt.Fprintf(tw, "%s: rebuild ÷ raw\t%.2f×\t\t≥ %.2f×\t%s\n", d.Dialect, d.Ratio, GoalRebuildRatio,
			met(d.Ratio >= GoalRebuildRatio))
		if rep.ReadMedian > 0 {
			fmt.Fprintf(tw, "%s: rebuild ÷ read of the log\t%.2f×\t\t\t\n", d.Dialect, d.Rebuild/rep.ReadMedian)
		}
		if d.SealedRebuild > 0 {
			fmt.Fprintf(tw, "%s: rebuild from the sealed log, events/s\t%s\t%s\t\t\n", d.Dialect,
				formatCount(d.SealedRebuild), per(func(r Round) Rate {
					if r.SealedRebuild == nil {
						return Rate{}
					}
					return *r.SealedRebuild
				}))
			ratios := make([]string, len(d.Rounds))
			for i, r := range d.Rounds {
				ratios[i] = fmt.Sprintf("%.2f", r.sealedPerSecond()/r.Rebuild.PerSecond)
			}
			fmt.Fprintf(tw, "%s: rebuild sealed ÷ clear\t%.2f×\t%s\t≥ %.2f×\t%s\n", d.Dialect, d.SealedRatio,
				strings.Join(ratios, " · "), GoalSealedRebuildRatio, met(d.SealedRatio >= GoalSealedRebuildRatio))
		}
		if d.RYW != nil {
			y := d.RYW
			fmt.Fprintf(tw, "%s: read-your-writes wait p50 / p99 (at %s commands/s)\t%s / %s\t\t≤ %s / %s\t%s\n",
				d.Dialect, formatCount(y.PerSecond), formatMs(y.Wait.P50), formatMs(y.Wait.P99),
				formatMs(GoalRYWP50), formatMs(GoalRYWP99), met(y.Wait.P50 <= GoalRYWP50 && y.Wait.P99 <= GoalRYWP99))
			fmt.Fprintf(tw, "%s: append + wait p50 / p99\t%s / %s\t\t\t\n", d.Dialect, formatMs(y.Total.P50),
				formatMs(y.Total.P99))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFill: %d appends (one event each) in %s. Rebuild: from the first event to the switch-in, with\n"+
		"migrations and every commit; raw: the same number of rows of the same shape, one transaction.\n",
		rep.Fill.Events, rep.Fill.Elapsed.Round(time.Millisecond))
	if rep.SealedFill != nil {
		fmt.Fprintf(w, "Sealed: the same events in a second store, their personal field (the note) sealed with AES-256-GCM\n"+
			"under one data key per stream (a real key store on SQLite; %d appends in %s); every read and\n"+
			"rebuild of it through a new key-store handle (cold cache: each key read and unwrapped once).\n",
			rep.SealedFill.Events, rep.SealedFill.Elapsed.Round(time.Millisecond))
	}
	for _, d := range rep.Dialects {
		if d.Note != "" && len(d.Rounds) > 0 {
			fmt.Fprintf(w, "%s: %s.\n", d.Dialect, d.Note)
		}
	}
	return nil
}

func formatCount(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.0fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func formatMs(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
