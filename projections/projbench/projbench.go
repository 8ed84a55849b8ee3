// Package projbench measures the projection runtime: how fast streamactivity is rebuilt from a pre-filled event
// store into SQLite and into PostgreSQL, beside a raw bulk insert of the same number of rows of the same shape into
// the same database in the same run (a prepared multi-row INSERT in one transaction on SQLite, COPY on PostgreSQL);
// and how long a read waits for its own write (an append, then Runner.WaitFor on its commit position) at moderate
// load. With Config.Sealed, the same run also fills a second event store with the same events, their personal field
// sealed through a real key store (issue 10), and rebuilds from it: the cost of sealing on append and of opening on a
// rebuild, beside the clear figures.
//
// The package never touches the event store directly (projections may not import its client): the caller hands in
// a Source to read from and an Append function to write with, over the embedded node or a real cluster
// (`dossier bench projections` wires them).
package projbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// EventType is the type name of every benchmark event.
const EventType = "ProjectionBenchRecorded"

// Category is the stream category of the benchmark's streams.
const Category = "projbench"

// EventSize is the approximate size in bytes of a benchmark event's JSON payload: a typical Dossier domain event.
const EventSize = 250

// Goals of issue 3, item 9.
const (
	GoalRebuildRate  = 50_000.0              // events/s
	GoalRebuildRatio = 0.25                  // rebuild events/s ÷ raw rows/s
	GoalRYWP50       = 10 * time.Millisecond // read-your-writes wait, p50
	GoalRYWP99       = 50 * time.Millisecond // and p99
)

// GoalSealedRebuildRatio is issue 10's goal: a rebuild from a log whose personal fields are sealed runs at no less
// than 85 % of the rebuild from the same log in clear.
const GoalSealedRebuildRatio = 0.85

// Recorded is the benchmark's event: shaped like a domain event, decoded by the source like any other. Note is a
// free text a member wrote, hence personal: sealed when the registry has a Sealer (see event.Sealer).
type Recorded struct {
	RequestID   string `json:"request_id" personal:"no"`
	Service     string `json:"service" personal:"no"`
	Channel     string `json:"channel" personal:"no"`
	Seq         int    `json:"seq"`
	SubmittedAt string `json:"submitted_at" personal:"no"`
	Note        string `json:"note" personal:"yes"`
}

// Definitions returns the benchmark's event definitions, for the registry of the source's codec.
func Definitions() []event.Definition {
	return []event.Definition{event.Define[Recorded](EventType)}
}

// NewRecorded returns the seq-th benchmark event, about EventSize bytes of JSON.
func NewRecorded(seq int) Recorded {
	r := Recorded{
		RequestID: "7f1c9a52-3d1e-4b7a-9c55-2f6d0e8b1a43", Service: "attestation-de-droits", Channel: "portal",
		Seq: seq, SubmittedAt: "2025-03-14T09:26:53.589Z",
	}
	b, _ := json.Marshal(r)
	if pad := EventSize - len(b); pad > 0 {
		r.Note = strings.Repeat("x", pad)
	}
	return r
}

// Append appends events to stream (any expected revision) and returns where they landed. Over the kurrentdb adapter:
//
//	func(ctx context.Context, s event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
//		return store.Append(ctx, s, esdb.Any{}, m, evs...)
//	}
type Append func(ctx context.Context, stream event.StreamID, meta event.Metadata, events ...any) (event.Commit, error)

func benchMeta() event.Metadata {
	cmd := uuid.New()
	return event.Metadata{
		CorrelationID: uuid.New(), CausationID: cmd, CommandID: cmd,
		Actor:      event.Actor{ID: "bench/projections", Role: event.RoleSystem},
		OccurredAt: time.Now().UTC(),
	}
}

// FillOptions configure Fill.
type FillOptions struct {
	Events  int // total events (default 100,000)
	Streams int // spread over this many streams (default 10,000)
	Writers int // concurrent appenders (default 16)
}

// FillResult says what Fill wrote.
type FillResult struct {
	Events  int           `json:"events"`
	Streams int           `json:"streams"`
	Last    uint64        `json:"last_position"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// PerSecond is the append rate: Events ÷ Elapsed.
	PerSecond float64 `json:"per_second"`
}

// Fill appends opts.Events events, one per append, in rounds over opts.Streams streams: each round touches every
// stream once, so the global log interleaves the streams as a busy service's log does (and a batch of the
// projection touches as many distinct rows as it can).
func Fill(ctx context.Context, appendFn Append, opts FillOptions) (FillResult, error) {
	if opts.Events <= 0 {
		opts.Events = 100_000
	}
	if opts.Streams <= 0 {
		opts.Streams = 10_000
	}
	if opts.Writers <= 0 {
		opts.Writers = 16
	}
	streams := make([]event.StreamID, opts.Streams)
	for i := range streams {
		streams[i] = event.NewStreamID(Category, uuid.New())
	}
	start := time.Now()
	var last atomic.Uint64
	for round := 0; round*opts.Streams < opts.Events; round++ {
		n := min(opts.Streams, opts.Events-round*opts.Streams)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, opts.Writers)
		for range opts.Writers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n || ctx.Err() != nil {
						return
					}
					c, err := appendFn(ctx, streams[i], benchMeta(), NewRecorded(round*opts.Streams+i))
					if err != nil {
						errs <- fmt.Errorf("projbench: fill: %w", err)
						return
					}
					for {
						cur := last.Load()
						if c.Position <= cur || last.CompareAndSwap(cur, c.Position) {
							break
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return FillResult{}, err
		}
		if ctx.Err() != nil {
			return FillResult{}, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	return FillResult{Events: opts.Events, Streams: opts.Streams, Last: last.Load(), Elapsed: elapsed,
		PerSecond: rate(opts.Events, elapsed).PerSecond}, nil
}

// Rate is a throughput measurement.
type Rate struct {
	Count     int           `json:"count"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
}

func rate(n int, d time.Duration) Rate {
	r := Rate{Count: n, Elapsed: d}
	if d > 0 {
		r.PerSecond = float64(n) / d.Seconds()
	}
	return r
}

// Latencies summarises a set of durations.
type Latencies struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

func summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return Latencies{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}

// RYWOptions configure ReadYourWrites.
type RYWOptions struct {
	// Clients is the number of concurrent clients (default 4); each appends one event, waits for it, pauses Pause
	// (default 20ms: a person's command, then a read of its result), and again.
	Clients  int
	Pause    time.Duration
	Duration time.Duration // default 5s
	Streams  int           // streams the clients write to (default 1,000)
}

// RYWResult holds the read-your-writes figures.
type RYWResult struct {
	Commands int           `json:"commands"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// PerSecond is the command rate the clients sustained: the load the latencies were measured at.
	PerSecond float64 `json:"per_second"`
	// Wait is from the append's return to WaitFor's: what a read that passes the position back waits.
	Wait Latencies `json:"wait"`
	// Total is append plus wait: from the command being sent to its result being readable.
	Total Latencies `json:"total"`
}

// Waiter is the read-your-writes port (a *projections.Runner).
type Waiter interface {
	WaitFor(ctx context.Context, position uint64, projections ...string) error
}

// ReadYourWrites measures, at moderate load, how long a read waits for the read models to reflect a write: each
// client appends an event and calls WaitFor with its commit position.
func ReadYourWrites(ctx context.Context, appendFn Append, w Waiter, opts RYWOptions) (RYWResult, error) {
	if opts.Clients <= 0 {
		opts.Clients = 4
	}
	if opts.Pause <= 0 {
		opts.Pause = 20 * time.Millisecond
	}
	if opts.Duration <= 0 {
		opts.Duration = 5 * time.Second
	}
	if opts.Streams <= 0 {
		opts.Streams = 1000
	}
	streams := make([]event.StreamID, opts.Streams)
	for i := range streams {
		streams[i] = event.NewStreamID(Category, uuid.New())
	}
	var mu sync.Mutex
	var waits, totals []time.Duration
	var firstErr error
	start := time.Now()
	deadline := start.Add(opts.Duration)
	var wg sync.WaitGroup
	for c := range opts.Clients {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			for seq := 0; time.Now().Before(deadline) && ctx.Err() == nil; seq++ {
				sent := time.Now()
				commit, err := appendFn(ctx, streams[rnd.IntN(len(streams))], benchMeta(), NewRecorded(seq))
				if err == nil {
					appended := time.Now()
					wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err = w.WaitFor(wctx, commit.Position)
					cancel()
					done := time.Now()
					mu.Lock()
					waits = append(waits, done.Sub(appended))
					totals = append(totals, done.Sub(sent))
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("projbench: read your writes: %w", err)
					}
					mu.Unlock()
					return
				}
				time.Sleep(opts.Pause)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return RYWResult{}, firstErr
	}
	if ctx.Err() != nil {
		return RYWResult{}, ctx.Err()
	}
	return RYWResult{
		Commands: len(waits), Elapsed: elapsed, PerSecond: rate(len(waits), elapsed).PerSecond,
		Wait: summarize(waits), Total: summarize(totals),
	}, nil
}

var errNoEvents = errors.New("projbench: the rebuild applied no events: is the store filled?")

// rebuildStarted logs the start of a measurement.
func logStep(logger *slog.Logger, msg string, args ...any) {
	logger.Info("bench projections: "+msg, args...)
}

var _ Waiter = (*projections.Runner)(nil)
