package nodebench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Goals are the targets the figures are judged against (issue 2, item 5).
const (
	GoalAppendVsFsync    = 5.0                   // 10-writer appends/s ÷ single-writer fdatasync/s
	GoalAppendVsPostgres = 2.0                   // 10-writer appends/s ÷ PostgreSQL 10-client inserts/s
	GoalAppendP99        = 10 * time.Millisecond // p99 append latency, 1 and 10 writers
	GoalReadAll          = 100_000.0             // $all events/s
)

// Config configures Run.
type Config struct {
	// Dir is the parent of the data directories (the disk under test); "" means os.TempDir().
	Dir string
	// Rounds is the number of rounds; the report gives the median of each figure (default 5).
	Rounds int
	// Duration is the length of each timed measurement in a round (default 5s).
	Duration time.Duration
	// Warmup precedes each append and insert measurement (default Duration/10, at most 1s).
	Warmup time.Duration
	// ReadEvents is the size of the pre-filled store the read and catch-up figures are measured on
	// (default 100,000).
	ReadEvents int
	// Writers is the number of concurrent writers of the multi-writer figures (default 10).
	Writers int
	// PostgresURL is the server of the PostgreSQL baseline; "" skips that baseline, with PostgresNote saying
	// why in the report.
	PostgresURL  string
	PostgresNote string
	// SkipDiagnostics leaves out the in-memory append figures (which explain, but are not goals).
	SkipDiagnostics bool
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	if c.Rounds <= 0 {
		c.Rounds = 5
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Warmup <= 0 {
		c.Warmup = min(c.Duration/10, time.Second)
	}
	if c.ReadEvents <= 0 {
		c.ReadEvents = 100_000
	}
	if c.Writers <= 0 {
		c.Writers = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Round holds the figures of one round, all measured one after the other on the same machine.
type Round struct {
	Fsync       FsyncResult     `json:"fsync_baseline"`
	Append1     AppendResult    `json:"append_1_writer"`
	AppendN     AppendResult    `json:"append_n_writers"`
	Postgres    *PostgresResult `json:"postgres_baseline,omitempty"`
	ReadAll     ReadResult      `json:"read_all"`
	CatchUp     ReadResult      `json:"catch_up"`
	Live        LiveResult      `json:"live"`
	MemAppend1  *AppendResult   `json:"in_memory_append_1_writer,omitempty"`
	MemAppendN  *AppendResult   `json:"in_memory_append_n_writers,omitempty"`
	ElapsedTime time.Duration   `json:"elapsed_ns"`
}

// Report is the outcome of Run.
type Report struct {
	Machine  Machine       `json:"machine"`
	Started  time.Time     `json:"started"`
	Rounds   int           `json:"rounds"`
	Duration time.Duration `json:"duration_ns"`
	Writers  int           `json:"writers"`
	// Fill is how the read store was filled (once, before the first round).
	Fill FillResult `json:"fill"`
	// PostgresNote says why there is no PostgreSQL baseline, or which server it is.
	PostgresNote string  `json:"postgres_note,omitempty"`
	PerRound     []Round `json:"per_round"`
	// Rows are the medians, baselines, ratios and goals, in table order.
	Rows []Row `json:"rows"`
}

// Run measures everything cfg.Rounds times, each round running every measurement one after the other
// (baselines included), and returns the per-round figures and the table of medians.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	log := cfg.Logger
	rep := &Report{
		Machine: DescribeMachine(cfg.Dir), Started: time.Now().UTC(), Rounds: cfg.Rounds,
		Duration: cfg.Duration, Writers: cfg.Writers, PostgresNote: cfg.PostgresNote,
	}
	if cfg.PostgresURL != "" {
		info, err := PostgresInfo(ctx, cfg.PostgresURL)
		if err != nil {
			return nil, err
		}
		rep.Machine.Postgres = fmt.Sprintf("%s (fsync=%s, synchronous_commit=%s, wal_sync_method=%s, commit_delay=%s)",
			info.Version, info.Fsync, info.SynchronousCommit, info.WalSyncMethod, info.CommitDelay)
	}

	log.Info("bench: filling the read store", "events", cfg.ReadEvents)
	reader, err := StartNode(ctx, cfg.Dir, false, log)
	if err != nil {
		return nil, err
	}
	defer reader.Close()
	if rep.Fill, err = Fill(ctx, reader.Client, FillOptions{Events: cfg.ReadEvents}); err != nil {
		return nil, err
	}

	for r := range cfg.Rounds {
		log.Info("bench: round", "round", r+1, "of", cfg.Rounds)
		round, err := runRound(ctx, cfg, reader)
		if err != nil {
			return nil, fmt.Errorf("nodebench: round %d: %w", r+1, err)
		}
		rep.PerRound = append(rep.PerRound, round)
	}
	rep.Rows = buildRows(rep, cfg)
	return rep, nil
}

func runRound(ctx context.Context, cfg Config, reader *Node) (Round, error) {
	log := cfg.Logger
	begin := time.Now()
	var round Round
	var err error

	log.Info("bench: write+fdatasync baseline")
	if round.Fsync, err = Fdatasync(ctx, FsyncOptions{Dir: cfg.Dir, Duration: cfg.Duration}); err != nil {
		return round, err
	}

	if err := withNode(ctx, cfg, false, func(n *Node) error {
		log.Info("bench: appends", "writers", 1)
		if round.Append1, err = Appends(ctx, n.Client, AppendOptions{Writers: 1, Duration: cfg.Duration, Warmup: cfg.Warmup}); err != nil {
			return err
		}
		log.Info("bench: appends", "writers", cfg.Writers)
		if round.AppendN, err = Appends(ctx, n.Client, AppendOptions{Writers: cfg.Writers, Duration: cfg.Duration, Warmup: cfg.Warmup}); err != nil {
			return err
		}
		log.Info("bench: live subscription latency")
		round.Live, err = Live(ctx, n.Client, LiveOptions{Duration: cfg.Duration / 2})
		return err
	}); err != nil {
		return round, err
	}

	if cfg.PostgresURL != "" {
		log.Info("bench: PostgreSQL baseline", "clients", cfg.Writers)
		pg, err := Postgres(ctx, PostgresOptions{URL: cfg.PostgresURL, Clients: cfg.Writers, Duration: cfg.Duration, Warmup: cfg.Warmup})
		if err != nil {
			return round, err
		}
		round.Postgres = &pg
	}

	log.Info("bench: read $all", "events", cfg.ReadEvents)
	if round.ReadAll, err = ReadAll(ctx, reader.Client); err != nil {
		return round, err
	}
	if round.ReadAll.Events != cfg.ReadEvents {
		return round, fmt.Errorf("nodebench: read %d events from $all, the store holds %d", round.ReadAll.Events, cfg.ReadEvents)
	}
	log.Info("bench: catch-up subscription", "events", cfg.ReadEvents)
	if round.CatchUp, err = CatchUp(ctx, reader.Client, cfg.ReadEvents); err != nil {
		return round, err
	}

	if !cfg.SkipDiagnostics {
		if err := withNode(ctx, cfg, true, func(n *Node) error {
			log.Info("bench: in-memory appends (diagnostic)")
			a1, err := Appends(ctx, n.Client, AppendOptions{Writers: 1, Duration: cfg.Duration, Warmup: cfg.Warmup})
			if err != nil {
				return err
			}
			an, err := Appends(ctx, n.Client, AppendOptions{Writers: cfg.Writers, Duration: cfg.Duration, Warmup: cfg.Warmup})
			if err != nil {
				return err
			}
			round.MemAppend1, round.MemAppendN = &a1, &an
			return nil
		}); err != nil {
			return round, err
		}
	}
	round.ElapsedTime = time.Since(begin)
	return round, nil
}

// withNode runs fn against a fresh node (on disk under cfg.Dir, or in memory) and closes it.
func withNode(ctx context.Context, cfg Config, inMemory bool, fn func(*Node) error) error {
	n, err := StartNode(ctx, cfg.Dir, inMemory, cfg.Logger)
	if err != nil {
		return err
	}
	return errors.Join(fn(n), n.Close())
}
