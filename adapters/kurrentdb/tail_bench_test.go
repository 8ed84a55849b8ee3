package kurrentdb

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
)

// BenchmarkSharedTail: 37 Runs (as many as `dossier serve` starts: 16 projections, 21 reaction handlers) follow a
// stream of appends on one Source, with the shared tail off (one subscription per Run, as before session 7) and on,
// and with no Run at all (the cost of the appends alone), alternated within each iteration (each first in turn). Figures are this
// process's CPU time (getrusage; the embedded node runs in this process too) per appended event, medians over the
// iterations; net figures subtract the appends-only cost. Run with a fixed count of iterations:
//
//	go test ./adapters/kurrentdb -run '^$' -bench SharedTail -benchtime 5x
func BenchmarkSharedTail(b *testing.B) {
	const (
		runs     = 37
		commands = 40
		perCmd   = 50 // events per command
	)
	node, err := kurrentnode.Start(kurrentnode.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	codec := testCodec(b)
	measure := func(n int, opts ...SourceOption) time.Duration {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		client, err := Connect(ctx, node.ConnectionString(), WithLogger(testLogger()))
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close() // ends the tail too
		store, source := NewStore(client, codec), NewSource(client, codec, opts...)
		head, err := client.Head(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var delivered, caughtUp atomic.Int64
		ended := make(chan error, n)
		for range n {
			go func() {
				ended <- source.Run(ctx, head, func(_ context.Context, d event.Delivery) error {
					if d.CaughtUp {
						caughtUp.Add(1)
					} else {
						delivered.Add(1)
					}
					return nil
				})
			}()
		}
		for caughtUp.Load() < int64(n) {
			time.Sleep(5 * time.Millisecond)
		}
		streams := []event.StreamID{newStream(), newStream(), newStream(), newStream()}
		events := make([]any, perCmd)
		for i := range events {
			events[i] = noted{Text: "benchmark"}
		}
		cpu0 := processCPU(b)
		for i := range commands {
			meta := testMeta(uuid.New())
			if _, err := store.Update(ctx, streams[i%len(streams)], event.Command{Metadata: meta}, emit(events...)); err != nil {
				b.Fatal(err)
			}
		}
		for delivered.Load() < int64(n*commands*perCmd) {
			time.Sleep(time.Millisecond)
		}
		took := processCPU(b) - cpu0
		cancel()
		for range n {
			<-ended
		}
		return took / (commands * perCmd)
	}
	var none, off, on []time.Duration
	for i := 0; i < b.N; i++ {
		steps := []func(){ // in turn first, so that warm-up favours none of them
			func() { none = append(none, measure(0)) },
			func() { off = append(off, measure(runs, WithTail(0))) },
			func() { on = append(on, measure(runs)) },
		}
		for k := range steps {
			steps[(i+k)%len(steps)]()
		}
		b.Logf("iteration %d: CPU per appended event: appends only %s, %d Runs tail off %s, tail on %s", i, none[i], runs, off[i], on[i])
	}
	mn, moff, mon := median(none), median(off), median(on)
	b.ReportMetric(float64(moff.Nanoseconds())/1e3, "off-cpu-µs/event")
	b.ReportMetric(float64(mon.Nanoseconds())/1e3, "on-cpu-µs/event")
	b.ReportMetric(float64(mn.Nanoseconds())/1e3, "append-cpu-µs/event")
	b.ReportMetric(float64(mon)/float64(moff), "on/off")
	if moff > mn {
		b.ReportMetric(float64(mon-mn)/float64(moff-mn), "net-on/off")
	}
	fmt.Printf("shared tail: median CPU per appended event, %d Runs: tail off %s, on %s (on/off %.2f); appends alone %s\n",
		runs, moff, mon, float64(mon)/float64(moff), mn)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
