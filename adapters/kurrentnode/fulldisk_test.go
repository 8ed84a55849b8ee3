package kurrentnode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// fullFile injects the faults of a disk (issue 12 item 2) into the log: while full, every write past the first
// segment's header writes half its bytes and fails with ENOSPC (as a full tmpfs or ext4 does); failSync makes the
// next fdatasync fail with EIO after its write went through.
type fullFile struct {
	logFile
	mu       sync.Mutex
	full     bool
	failSync bool
	writes   int // writes attempted while full
}

func (f *fullFile) set(fn func(f *fullFile)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full && off > 0 {
		f.writes++
		n, _ := f.logFile.WriteAt(p[:len(p)/2], off)
		return n, &os.PathError{Op: "write", Path: "events.log", Err: syscall.ENOSPC}
	}
	return f.logFile.WriteAt(p, off)
}

func (f *fullFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failSync {
		f.failSync = false
		return &os.PathError{Op: "fdatasync", Path: "events.log", Err: syscall.EIO}
	}
	return f.logFile.Sync()
}

// TestFullDiskRefusesWritesThenResumes: a write that fails with ENOSPC is answered as failed, the log is cut back
// to exactly its acknowledged groups, later writes are refused (ErrWritesRefused) while the disk stays full, and
// once space returns the node's own probe lifts the refusal — no append needed, no restart — and appends are
// acknowledged again. A restart then serves exactly the acknowledged events.
func TestFullDiskRefusesWritesThenResumes(t *testing.T) {
	dir := t.TempDir()
	stream := "member-" + uuid.NewString()
	df := &fullFile{}
	n, c := startNode(t, Options{Dir: dir, wrapLog: func(f logFile) logFile { df.logFile = f; return df }})
	acked := appendN(t, c, stream, 3)
	size := func() int64 { fi, _ := os.Stat(filepath.Join(dir, firstSegment)); return fi.Size() }
	good := size()

	df.set(func(f *fullFile) { f.full = true })
	failed := event("Failed", `{"lost":true}`)
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, failed); err == nil {
		t.Fatal("append acknowledged although its write failed with ENOSPC")
	}
	if err := n.WritesRefused(); !errors.Is(err, ErrWritesRefused) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("after ENOSPC: WritesRefused() = %v, want ErrWritesRefused wrapping ENOSPC", err)
	}
	if got := size(); got != good {
		t.Errorf("log is %d bytes after the failed write, want it cut back to %d", got, good)
	}
	// While the disk stays full, appends are refused and the probes keep failing (and cut their bytes back).
	time.Sleep(3 * probeMin)
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, event("Refused", `{}`)); err == nil {
		t.Fatal("append acknowledged while the disk is full")
	}
	var probes int
	df.set(func(f *fullFile) { probes = f.writes })
	if probes < 2 {
		t.Errorf("%d writes attempted while full, want the failed group and at least one probe", probes)
	}
	if err := n.WritesRefused(); !errors.Is(err, ErrWritesRefused) {
		t.Fatalf("disk still full: WritesRefused() = %v, want ErrWritesRefused", err)
	}
	if got := size(); got != good {
		t.Errorf("log is %d bytes while full, want %d (a probe's bytes left behind?)", got, good)
	}

	// Space returns: the refusal lifts by itself.
	df.set(func(f *fullFile) { f.full = false })
	deadline := time.Now().Add(5 * probeMax)
	for n.WritesRefused() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused %s after space returned: %v", 5*probeMax, n.WritesRefused())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := size(); got != good {
		t.Errorf("log is %d bytes after the probe, want %d", got, good)
	}
	after := appendN(t, c, stream, 2)
	want := append(slices.Clone(acked), after...)
	c.Close()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	_, c2 := startNode(t, Options{Dir: dir})
	var got []uuid.UUID
	for _, e := range readAllEvents(t, c2, stream) {
		got = append(got, e.EventID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after restart: %v, want exactly the acknowledged %v (not the failed %v)", got, want, failed.EventID)
	}
}

// TestFailedSyncStaysRefusedUntilRestart: an fdatasync that fails (EIO) leaves what the disk holds unknown, so
// the node never retries on its own: writes stay refused (not ErrWritesRefused) although the disk works again,
// until a restart, which serves exactly the acknowledged events and writes on.
func TestFailedSyncStaysRefusedUntilRestart(t *testing.T) {
	dir := t.TempDir()
	stream := "member-" + uuid.NewString()
	df := &fullFile{}
	n, c := startNode(t, Options{Dir: dir, wrapLog: func(f logFile) logFile { df.logFile = f; return df }})
	acked := appendN(t, c, stream, 3)
	df.set(func(f *fullFile) { f.failSync = true })
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, event("Failed", `{}`)); err == nil {
		t.Fatal("append acknowledged although its fdatasync failed")
	}
	time.Sleep(3 * probeMax / 2)
	err := n.WritesRefused()
	if err == nil || errors.Is(err, ErrWritesRefused) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("after a failed fdatasync: WritesRefused() = %v, want a refusal until restart wrapping EIO", err)
	}
	if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, event("After", `{}`)); err == nil {
		t.Fatal("append acknowledged after a failed fdatasync: writes must be refused until a restart")
	}
	c.Close()
	n.Close()

	n2, c2 := startNode(t, Options{Dir: dir})
	if err := n2.WritesRefused(); err != nil {
		t.Fatalf("after restart: WritesRefused() = %v", err)
	}
	more := appendN(t, c2, stream, 1)
	var got []uuid.UUID
	for _, e := range readAllEvents(t, c2, stream) {
		got = append(got, e.EventID)
	}
	if want := append(slices.Clone(acked), more...); !slices.Equal(got, want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
}
