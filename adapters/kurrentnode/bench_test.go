package kurrentnode_test

// Go benchmarks of the embedded node, through the official client, running the same code as
// `dossier bench eventstore` (package nodebench). One op is one durable append (or one write+fdatasync for
// the baseline); BenchmarkReadAll's op is one full read of a pre-filled $all. For the side-by-side table
// with medians and goals, run `go run ./cmd/dossier bench eventstore`; BENCHMARKS.md has the figures.
//
//	go test -run '^$' -bench . -benchtime 5s ./adapters/kurrentnode/
//	go test -run '^$' -bench Append10 -benchtime 5s -cpuprofile cpu.out ./adapters/kurrentnode/

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentnode/nodebench"
	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
)

func startBenchNode(b *testing.B, inMemory bool) *nodebench.Node {
	b.Helper()
	n, err := nodebench.StartNode(b.Context(), b.TempDir(), inMemory, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return n
}

func benchAppends(b *testing.B, writers int, inMemory bool) {
	n := startBenchNode(b, inMemory)
	// Warm up (streams created, connection and buffers warm) outside the timer.
	if _, err := nodebench.Appends(b.Context(), n.Client, nodebench.AppendOptions{Writers: writers, Count: 20 * writers}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := nodebench.Appends(b.Context(), n.Client, nodebench.AppendOptions{Writers: writers, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportLatency(b, res.Latency)
	b.ReportMetric(res.PerSecond, "appends/s")
}

func reportLatency(b *testing.B, l nodebench.Latencies) {
	b.ReportMetric(float64(l.P50)/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(l.P99)/float64(time.Millisecond), "p99-ms")
}

// BenchmarkAppend1Writer: one writer, one ~250-byte JSON event per durable append, node on disk.
func BenchmarkAppend1Writer(b *testing.B) { benchAppends(b, 1, false) }

// BenchmarkAppend10Writers: ten concurrent writers on their own streams, node on disk (group commit).
func BenchmarkAppend10Writers(b *testing.B) { benchAppends(b, 10, false) }

// BenchmarkAppend10WritersInMemory is the diagnostic twin of BenchmarkAppend10Writers without any fsync: the
// CPU cost of the client, gRPC and the node on this machine.
func BenchmarkAppend10WritersInMemory(b *testing.B) { benchAppends(b, 10, true) }

// BenchmarkFdatasyncBaseline: one writer appending 300 bytes to a file in the same temp dir as the node's
// data and calling fdatasync after each write.
func BenchmarkFdatasyncBaseline(b *testing.B) {
	dir := b.TempDir()
	b.ResetTimer()
	res, err := nodebench.Fdatasync(b.Context(), nodebench.FsyncOptions{Dir: dir, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportLatency(b, res.Latency)
	b.ReportMetric(res.PerSecond, "writes/s")
}

// readBenchEvents is the size of the store BenchmarkReadAll and BenchmarkCatchUp read.
const readBenchEvents = 100_000

func filledNode(b *testing.B) *nodebench.Node {
	n := startBenchNode(b, false)
	if _, err := nodebench.Fill(b.Context(), n.Client, nodebench.FillOptions{Events: readBenchEvents}); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkReadAll: one op reads the whole pre-filled $all (100k events) forwards in one request.
func BenchmarkReadAll(b *testing.B) {
	n := filledNode(b)
	b.ResetTimer()
	var events int
	var elapsed time.Duration
	for range b.N {
		res, err := nodebench.ReadAll(b.Context(), n.Client)
		if err != nil {
			b.Fatal(err)
		}
		if res.Events != readBenchEvents {
			b.Fatalf("read %d events, want %d", res.Events, readBenchEvents)
		}
		events += res.Events
		elapsed += res.Elapsed
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}

// BenchmarkCatchUp: one op is a catch-up subscription to $all from the start through the pre-filled store.
func BenchmarkCatchUp(b *testing.B) {
	n := filledNode(b)
	b.ResetTimer()
	var events int
	var elapsed time.Duration
	for range b.N {
		res, err := nodebench.CatchUp(b.Context(), n.Client, readBenchEvents)
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		elapsed += res.Elapsed
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}

// BenchmarkPostgres10Clients is the PostgreSQL baseline: one INSERT+COMMIT per event, ten clients. The
// server is DOSSIER_TEST_POSTGRES_URL, else a throwaway one from pgtemp.
func BenchmarkPostgres10Clients(b *testing.B) {
	url := os.Getenv("DOSSIER_TEST_POSTGRES_URL")
	if url == "" {
		pg, err := pgtemp.Start(context.Background(), pgtemp.Options{})
		if err != nil {
			b.Skipf("no PostgreSQL for the baseline (set DOSSIER_TEST_POSTGRES_URL): %v", err)
		}
		b.Cleanup(func() { pg.Stop() })
		url = pg.DSN()
	}
	// ns/op includes connecting and creating the table; inserts/s covers the inserts only.
	b.ResetTimer()
	res, err := nodebench.Postgres(b.Context(), nodebench.PostgresOptions{URL: url, Clients: 10, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportLatency(b, res.Latency)
	b.ReportMetric(res.PerSecond, "inserts/s")
}
