package nodebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// FillOptions configure Fill.
type FillOptions struct {
	// Events is the number of events to write.
	Events int
	// PerAppend is the number of events per append request (default 100).
	PerAppend int
	// Streams is the number of streams they are spread over, filled concurrently (default 10).
	Streams int
}

// FillResult is the outcome of Fill.
type FillResult struct {
	Events  int           `json:"events"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Fill writes opts.Events benchmark events, in batches, so a read benchmark has something to read.
func Fill(ctx context.Context, client *esdb.Client, opts FillOptions) (FillResult, error) {
	if opts.PerAppend <= 0 {
		opts.PerAppend = 100
	}
	if opts.Streams <= 0 {
		opts.Streams = 10
	}
	begin := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for s := range opts.Streams {
		n := opts.Events / opts.Streams
		if s < opts.Events%opts.Streams {
			n++
		}
		wg.Go(func() {
			stream := streamName("benchfill")
			var next esdb.ExpectedRevision = esdb.NoStream{}
			for done := 0; done < n; {
				k := min(opts.PerAppend, n-done)
				batch := make([]esdb.EventData, k)
				for i := range batch {
					batch[i] = eventData(done + i)
				}
				wr, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: next}, batch...)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("nodebench: fill %s: %w", stream, err))
					mu.Unlock()
					return
				}
				next = esdb.StreamRevision{Value: wr.NextExpectedVersion}
				done += k
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return FillResult{}, err
	}
	return FillResult{Events: opts.Events, Elapsed: time.Since(begin)}, nil
}

// ReadResult is the outcome of ReadAll and CatchUp.
type ReadResult struct {
	Events    int           `json:"events"`
	Bytes     int64         `json:"bytes"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
}

// ReadAll reads $all forwards from the start to the end in one read request, as a projection rebuild
// would, and counts the events.
func ReadAll(ctx context.Context, client *esdb.Client) (ReadResult, error) {
	begin := time.Now()
	rs, err := client.ReadAll(ctx, esdb.ReadAllOptions{From: esdb.Start{}, Direction: esdb.Forwards}, ^uint64(0))
	if err != nil {
		return ReadResult{}, fmt.Errorf("nodebench: read $all: %w", err)
	}
	defer rs.Close()
	var res ReadResult
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ReadResult{}, fmt.Errorf("nodebench: read $all after %d events: %w", res.Events, err)
		}
		res.Events++
		res.Bytes += int64(len(ev.Event.Data))
	}
	res.Elapsed = time.Since(begin)
	res.PerSecond = rate(res.Events, res.Elapsed)
	return res, nil
}

// CatchUp subscribes to $all from the start and measures how fast the first `events` events arrive
// (pass the number of events in the store to time the whole catch-up).
func CatchUp(ctx context.Context, client *esdb.Client, events int) (ReadResult, error) {
	if events <= 0 {
		return ReadResult{}, errors.New("nodebench: CatchUp needs a positive number of events")
	}
	begin := time.Now()
	sub, err := client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		return ReadResult{}, fmt.Errorf("nodebench: subscribe to $all: %w", err)
	}
	defer sub.Close()
	var res ReadResult
	for res.Events < events {
		msg := sub.Recv()
		switch {
		case msg.EventAppeared != nil:
			res.Events++
			res.Bytes += int64(len(msg.EventAppeared.Event.Data))
		case msg.SubscriptionDropped != nil:
			return ReadResult{}, fmt.Errorf("nodebench: catch-up subscription dropped after %d events: %w", res.Events, msg.SubscriptionDropped.Error)
		}
	}
	res.Elapsed = time.Since(begin)
	res.PerSecond = rate(res.Events, res.Elapsed)
	return res, nil
}

// LiveOptions configure Live.
type LiveOptions struct {
	// Duration bounds the measurement; Count bounds the number of samples. At least one must be set.
	Duration time.Duration
	Count    int
}

// LiveResult is the outcome of Live.
type LiveResult struct {
	Samples int `json:"samples"`
	// Delivery is the time from the start of an append to the arrival of its event on a live
	// subscription to $all; it includes the append's sync.
	Delivery Latencies `json:"delivery"`
	// Ack is the time from the start of the same appends to their acknowledgement.
	Ack Latencies `json:"ack"`
}

// Live measures live delivery: with a subscription to $all already caught up at the end, one writer appends
// one event at a time and waits for the subscription to deliver it before the next.
func Live(ctx context.Context, client *esdb.Client, opts LiveOptions) (LiveResult, error) {
	if opts.Duration <= 0 && opts.Count <= 0 {
		return LiveResult{}, errors.New("nodebench: Live needs a duration or a count")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.End{}})
	if err != nil {
		return LiveResult{}, fmt.Errorf("nodebench: subscribe to $all: %w", err)
	}
	defer sub.Close()
	type arrival struct {
		id  string
		at  time.Time
		err error
	}
	arrivals := make(chan arrival, 16)
	go func() {
		defer close(arrivals)
		for {
			msg := sub.Recv()
			var a arrival
			switch {
			case msg.EventAppeared != nil:
				a = arrival{id: msg.EventAppeared.Event.EventID.String(), at: time.Now()}
			case msg.SubscriptionDropped != nil:
				a = arrival{err: msg.SubscriptionDropped.Error}
			default:
				continue
			}
			select {
			case arrivals <- a:
			case <-ctx.Done():
				return
			}
			if a.err != nil {
				return
			}
		}
	}()

	stream := streamName("benchlive")
	var next esdb.ExpectedRevision = esdb.NoStream{}
	var delivery, ack []time.Duration
	deadline := time.Now().Add(opts.Duration)
	for i := 0; ; i++ {
		if opts.Count > 0 && i >= opts.Count {
			break
		}
		if opts.Duration > 0 && !time.Now().Before(deadline) {
			break
		}
		ev := eventData(i)
		start := time.Now()
		wr, err := client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: next}, ev)
		if err != nil {
			return LiveResult{}, fmt.Errorf("nodebench: append to %s: %w", stream, err)
		}
		ack = append(ack, time.Since(start))
		next = esdb.StreamRevision{Value: wr.NextExpectedVersion}
		want := ev.EventID.String()
		for got := false; !got; {
			select {
			case a, ok := <-arrivals:
				if !ok {
					return LiveResult{}, errors.New("nodebench: live subscription ended")
				}
				if a.err != nil {
					return LiveResult{}, fmt.Errorf("nodebench: live subscription dropped: %w", a.err)
				}
				if a.id == want {
					delivery = append(delivery, a.at.Sub(start))
					got = true
				}
			case <-time.After(10 * time.Second):
				return LiveResult{}, fmt.Errorf("nodebench: event %d not delivered within 10s", i)
			case <-ctx.Done():
				return LiveResult{}, ctx.Err()
			}
		}
	}
	return LiveResult{Samples: len(delivery), Delivery: summarize(delivery), Ack: summarize(ack)}, nil
}
