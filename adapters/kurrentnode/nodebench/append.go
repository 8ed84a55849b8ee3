package nodebench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// AppendOptions configure Appends.
type AppendOptions struct {
	// Writers is the number of concurrent writers; each appends to its own stream, one event per append,
	// with the exact expected revision (as Dossier's command handlers do).
	Writers int
	// Duration bounds the measurement; Count bounds the number of appends (all writers together). At least
	// one must be set; the measurement stops at whichever comes first.
	Duration time.Duration
	Count    int
	// Warmup runs appends for this long before measuring (streams created, connections and buffers warm).
	Warmup time.Duration
}

// AppendResult is the outcome of Appends.
type AppendResult struct {
	Writers   int           `json:"writers"`
	Appends   int           `json:"appends"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
	Latency   Latencies     `json:"latency"`
}

// Appends measures durable appends through client: every append is acknowledged by the node only once it
// is on disk, so each writer waits for a sync per append (shared with the other writers by group commit).
func Appends(ctx context.Context, client *esdb.Client, opts AppendOptions) (AppendResult, error) {
	if opts.Writers < 1 {
		return AppendResult{}, errors.New("nodebench: Appends needs at least one writer")
	}
	if opts.Duration <= 0 && opts.Count <= 0 {
		return AppendResult{}, errors.New("nodebench: Appends needs a duration or a count")
	}
	writers := make([]*appendWriter, opts.Writers)
	for i := range writers {
		writers[i] = &appendWriter{client: client, stream: streamName("benchwriter"), next: esdb.NoStream{}}
	}
	if opts.Warmup > 0 {
		if _, err := runWriters(ctx, writers, opts.Warmup, 0, false); err != nil {
			return AppendResult{}, fmt.Errorf("nodebench: warm-up: %w", err)
		}
	}
	res, err := runWriters(ctx, writers, opts.Duration, opts.Count, true)
	if err != nil {
		return AppendResult{}, err
	}
	res.Writers = opts.Writers
	return res, nil
}

type appendWriter struct {
	client *esdb.Client
	stream string
	next   esdb.ExpectedRevision
	seq    int
}

func (w *appendWriter) append(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	wr, err := w.client.AppendToStream(ctx, w.stream, esdb.AppendToStreamOptions{ExpectedRevision: w.next}, eventData(w.seq))
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("nodebench: append to %s: %w", w.stream, err)
	}
	w.seq++
	w.next = esdb.StreamRevision{Value: wr.NextExpectedVersion}
	return d, nil
}

// runWriters runs every writer until the deadline (if d > 0) or until count appends were started (if
// count > 0).
func runWriters(ctx context.Context, writers []*appendWriter, d time.Duration, count int, record bool) (AppendResult, error) {
	ops := make([]func(context.Context) (time.Duration, error), len(writers))
	for i, w := range writers {
		ops[i] = w.append
	}
	all, elapsed, err := runLoops(ctx, ops, d, count, record)
	if err != nil {
		return AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	return AppendResult{Appends: len(all), Elapsed: elapsed, PerSecond: rate(len(all), elapsed), Latency: summarize(all)}, nil
}
