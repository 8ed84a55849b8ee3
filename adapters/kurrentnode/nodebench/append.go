package nodebench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	lat    []time.Duration
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		started  atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	begin := time.Now()
	var deadline time.Time
	if d > 0 {
		deadline = begin.Add(d)
	}
	for _, w := range writers {
		w.lat = w.lat[:0]
		wg.Go(func() {
			for ctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				if count > 0 && started.Add(1) > int64(count) {
					return
				}
				lat, err := w.append(ctx)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if record {
					w.lat = append(w.lat, lat)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if firstErr != nil {
		return AppendResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	var all []time.Duration
	for _, w := range writers {
		all = append(all, w.lat...)
	}
	return AppendResult{Appends: len(all), Elapsed: elapsed, PerSecond: rate(len(all), elapsed), Latency: summarize(all)}, nil
}
