package nodebench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// FsyncOptions configure Fdatasync.
type FsyncOptions struct {
	// Dir is where the scratch file is created (the disk the node's data lives on).
	Dir string
	// Duration bounds the measurement; Count bounds the number of writes. At least one must be set.
	Duration time.Duration
	Count    int
}

// FsyncResult is the outcome of Fdatasync.
type FsyncResult struct {
	Writes    int           `json:"writes"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
	Latency   Latencies     `json:"latency"`
}

// Fdatasync is the disk baseline: one writer appending BaselineRecordSize bytes to a new file in opts.Dir
// and calling fdatasync after each write, as a naive log that syncs every record would. The file grows
// with every write, like the node's log, so each sync also carries the new file size.
func Fdatasync(ctx context.Context, opts FsyncOptions) (FsyncResult, error) {
	if opts.Duration <= 0 && opts.Count <= 0 {
		return FsyncResult{}, errors.New("nodebench: Fdatasync needs a duration or a count")
	}
	f, err := os.CreateTemp(opts.Dir, "fdatasync-baseline-")
	if err != nil {
		return FsyncResult{}, fmt.Errorf("nodebench: fdatasync baseline file: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// Make the file's creation durable first, so the loop measures appends only.
	if err := f.Sync(); err != nil {
		return FsyncResult{}, fmt.Errorf("nodebench: fsync: %w", err)
	}
	rec := make([]byte, BaselineRecordSize)
	copy(rec, Payload(0))
	rec[len(rec)-1] = '\n'
	var lat []time.Duration
	begin := time.Now()
	deadline := begin.Add(opts.Duration)
	for i := 0; ; i++ {
		if opts.Count > 0 && i >= opts.Count {
			break
		}
		if opts.Duration > 0 && !time.Now().Before(deadline) {
			break
		}
		if i%64 == 0 && ctx.Err() != nil {
			return FsyncResult{}, ctx.Err()
		}
		start := time.Now()
		if _, err := f.Write(rec); err != nil {
			return FsyncResult{}, fmt.Errorf("nodebench: write: %w", err)
		}
		if err := datasync(f); err != nil {
			return FsyncResult{}, fmt.Errorf("nodebench: fdatasync: %w", err)
		}
		lat = append(lat, time.Since(start))
	}
	elapsed := time.Since(begin)
	return FsyncResult{Writes: len(lat), Elapsed: elapsed, PerSecond: rate(len(lat), elapsed), Latency: summarize(lat)}, nil
}
