package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/msa-dossier/dossier/adapters/loadgen"
)

// BenchSoakCmd is `dossier bench soak`: the mixed load of `bench http` on the embedded default for a long while,
// sampling the server's resident memory and open files (/proc/PID), goroutines and heap (its /metrics), the size of
// its read-model database and of its events directory; it prints the curve as numbers and a verdict per series.
type BenchSoakCmd struct {
	Duration    time.Duration `default:"30m" help:"Length of the mixed load."`
	SampleEvery time.Duration `name:"sample-every" default:"30s" help:"Time between two samples."`
	Threshold   float64       `default:"0.25" help:"A series grows when the mean of its last third of samples exceeds that of its first third by more than this share (the database and events: their bytes per command)."`
	Target      string        `help:"A running server on the embedded default (http://127.0.0.1:PORT; loopback only). Default: start dossier serve for the run."`
	ServerDir   string        `name:"server-dir" type:"path" help:"With --target: the running server's working directory (its ./var holds the database and the events)."`
	ServerPID   int           `name:"server-pid" help:"With --target: the running server's process id (Linux /proc)."`
	Dir         string        `type:"path" help:"Parent directory of the started server's working directory (default: the system temp dir)."`
	Keep        bool          `help:"Keep the started server's working directory (its log is serve.log)."`
	Members     int           `default:"20" help:"Members (each one journey, from its own loopback address)."`
	Caseworkers int           `default:"4" help:"Caseworkers working the queue."`
	Rate        float64       `default:"50" help:"Requests per second over all journeys (0: closed loop)."`
	Think       time.Duration `default:"0s" help:"Pause of each journey between two requests."`
	Submit      float64       `default:"0.1" help:"Share of a member's steps that submit a request."`
	Relogin     float64       `default:"0.01" help:"Share of a member's steps that log out and log in again."`
	Deposit     float64       `default:"0.02" help:"Share of a member's steps that deposit a document (one small PNG)."`
	Book        float64       `default:"0.01" help:"Share of a member's steps that book an appointment (or cancel the one booked; a supervisor publishes the caseworkers' availability at the setup)."`
	JSON        bool          `name:"json" help:"Print the report (every sample) as JSON instead of the tables."`
}

// Run starts (or takes) the server, runs the load with the sampler beside it and prints the report.
func (c *BenchSoakCmd) Run(ctx context.Context, logger *slog.Logger) error {
	if c.SampleEvery <= 0 || c.Duration < 3*c.SampleEvery {
		return errors.New("bench soak: --duration must hold at least three --sample-every")
	}
	if c.Target != "" && c.ServerPID <= 0 {
		return errors.New("bench soak: --target needs --server-pid (the memory and open files are read in /proc)")
	}
	load := BenchHTTPCmd{Target: c.Target, ServerDir: c.ServerDir, ServerPID: c.ServerPID, Dir: c.Dir, Keep: c.Keep,
		Members: c.Members, Caseworkers: c.Caseworkers, Duration: c.Duration, Rate: c.Rate, Think: c.Think, Submit: c.Submit,
		Relogin: c.Relogin, Deposit: c.Deposit, Book: c.Book, Baseline: 2 * time.Second, BaselineClients: 4}
	var sampler *loadgen.Sampler
	rep, err := load.run(ctx, logger, func(pid int, dir, target string) func(context.Context, func() (int, int, int)) {
		sampler = &loadgen.Sampler{Every: c.SampleEvery, Probe: loadgen.Probe{PID: pid, Metrics: target + "/metrics",
			DBPath: filepath.Join(dir, "var", "dossier.db"), EventsDir: filepath.Join(dir, "var", "events")},
			OnTake: func(s loadgen.Sample) {
				logger.Info("bench soak: sample", "seconds", int(s.Sec), "requests", s.Requests, "unexpected", s.Unexpected, "ready", s.Ready, "rss_mib", s.RSS>>20,
					"heap_mib", s.Heap>>20, "goroutines", s.Goroutines, "open_files", s.OpenFiles, "db_mib", s.DB>>20,
					"events_mib", s.Events>>20)
			}}
		return sampler.Run
	})
	if err != nil {
		return err
	}
	if sampler == nil {
		return fmt.Errorf("bench soak: the sampler never ran")
	}
	return printBenchReport(&loadgen.SoakReport{Load: rep, EverySec: c.SampleEvery.Seconds(), Threshold: c.Threshold,
		Samples: sampler.Samples, Trends: loadgen.Trends(sampler.Samples, c.Threshold)}, c.JSON)
}
