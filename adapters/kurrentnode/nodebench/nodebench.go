// Package nodebench measures the embedded event store (adapters/kurrentnode) through the official KurrentDB
// client, next to the baselines its goals are stated against: the raw write+fdatasync rate of the same disk
// and PostgreSQL committing one row per event.
//
// Every measurement is a function that takes a context and a small options struct and returns a typed
// result; Run strings them together in rounds and keeps the medians. The `dossier bench eventstore` command
// and the Go benchmarks in adapters/kurrentnode call the same functions, so the figures in BENCHMARKS.md
// and `go test -bench` measure the same code.
package nodebench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

const (
	// EventSize is the size in bytes of the JSON payload of every benchmark event, the size of a typical
	// Dossier domain event.
	EventSize = 250
	// BaselineRecordSize is what the fdatasync baseline appends per write: the event plus the few dozen
	// bytes of framing any log adds.
	BaselineRecordSize = 300
	// EventType is the type of every benchmark event.
	EventType = "BenchmarkEventRecorded"
)

// Latencies summarises a set of operation latencies.
type Latencies struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// summarize sorts ds in place and returns its percentiles (nearest rank).
func summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	slices.Sort(ds)
	return Latencies{Count: len(ds), P50: percentile(ds, 50), P99: percentile(ds, 99), Max: ds[len(ds)-1]}
}

// percentile returns the nearest-rank p-th percentile of sorted ds (p in (0, 100]).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// runLoops runs every op in a loop of its own until the deadline (if d > 0) or until count operations were
// started, all loops together (if count > 0). It returns the latencies op reported (none unless record), loop by
// loop, and the time the whole run took; the first error stops every loop and is returned.
func runLoops(ctx context.Context, ops []func(context.Context) (time.Duration, error), d time.Duration, count int,
	record bool) ([]time.Duration, time.Duration, error) {
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
	lats := make([][]time.Duration, len(ops))
	for i, op := range ops {
		wg.Go(func() {
			for ctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				if count > 0 && started.Add(1) > int64(count) {
					return
				}
				lat, err := op(ctx)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if record {
					lats[i] = append(lats[i], lat)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if firstErr != nil {
		return nil, 0, firstErr
	}
	return slices.Concat(lats...), elapsed, nil
}

// rate returns n operations over d as a per-second figure.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Payload returns a JSON document of exactly EventSize bytes shaped like a Dossier domain event, made
// unique by seq.
func Payload(seq int) []byte {
	doc := struct {
		RequestID   string `json:"requestId"`
		MemberID    string `json:"memberId"`
		Service     string `json:"service"`
		Channel     string `json:"channel"`
		Seq         int    `json:"seq"`
		SubmittedAt string `json:"submittedAt"`
		Note        string `json:"note"`
	}{
		RequestID:   "7f1c9a52-3d1e-4b7a-9c55-2f6d0e8b1a43",
		MemberID:    "0b8e2d4f-6a1c-4e3b-8f7d-5c2a9e1b3d60",
		Service:     "attestation-de-droits",
		Channel:     "portal",
		Seq:         seq,
		SubmittedAt: "2025-03-14T09:26:53.589Z",
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // a fixed struct of strings and an int always marshals
	}
	if pad := EventSize - len(b); pad > 0 {
		doc.Note = strings.Repeat("x", pad)
		b, _ = json.Marshal(doc)
	}
	return b
}

// eventData wraps Payload(seq) as one event for the client.
func eventData(seq int) esdb.EventData {
	return esdb.EventData{
		EventID:     uuid.New(),
		EventType:   EventType,
		ContentType: esdb.ContentTypeJson,
		Data:        Payload(seq),
	}
}

// median returns the median of xs (the mean of the two middle values for an even count); 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// streamName returns a fresh stream id of the given dash-free category.
func streamName(category string) string { return fmt.Sprintf("%s-%s", category, uuid.New()) }
