package kurrentnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// firstSegment is the first log segment's file: the whole log of a test that writes less than a segment.
var firstSegment = segName(0)

// ackedAppend is one acknowledged append: its ids and the position of its last record.
type ackedAppend struct {
	ids []uuid.UUID
	pos uint64
}

// buildLog writes n sequential appends of `events` events each to stream through the client (one group commit
// each, since they are sequential) and stops the node.
func buildLog(t *testing.T, dir, stream string, n, events int) []ackedAppend {
	t.Helper()
	node, c := startNode(t, Options{Dir: dir})
	var out []ackedAppend
	for i := 0; i < n; i++ {
		var evs []esdb.EventData
		var ids []uuid.UUID
		for k := 0; k < events; k++ {
			e := event("Counted", fmt.Sprintf(`{"i":%d,"k":%d}`, i, k))
			evs = append(evs, e)
			ids = append(ids, e.EventID)
		}
		wr, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, evs...)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ackedAppend{ids: ids, pos: wr.CommitPosition})
	}
	c.Close()
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// streamIDs returns the ids of a stream's events as recovered by a store (from its persisted index).
func streamIDs(st *store, stream string) []uuid.UUID {
	var ids []uuid.UUID
	it, err := st.db.NewIter(&pebble.IterOptions{LowerBound: revKey(stream, 0), UpperBound: revKey(stream, math.MaxInt64)})
	if err != nil {
		panic(err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		e, err := decodeRev(it.Value())
		if err != nil {
			panic(err)
		}
		ids = append(ids, e.id)
	}
	if err := it.Error(); err != nil {
		panic(err)
	}
	return ids
}

// recordCount counts the records of $all in a store's index.
func recordCount(st *store) int {
	it, err := st.db.NewIter(&pebble.IterOptions{LowerBound: allKey(0), UpperBound: allKey(math.MaxUint64)})
	if err != nil {
		panic(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

func idsOf(appends []ackedAppend) []uuid.UUID {
	var ids []uuid.UUID
	for _, a := range appends {
		ids = append(ids, a.ids...)
	}
	return ids
}

// TestTornLastGroupAtEveryByteOffset: a crash can leave the last group commit cut short at any byte, or at full
// length with its tail never written (zeros); recovery cuts exactly that group and keeps every acknowledged one.
func TestTornLastGroupAtEveryByteOffset(t *testing.T) {
	src := t.TempDir()
	stream := "member-" + uuid.NewString()
	acked := buildLog(t, src, stream, 4, 1)
	before, err := os.ReadFile(filepath.Join(src, firstSegment))
	if err != nil {
		t.Fatal(err)
	}
	// The last group: a two-event append, written and never acknowledged (the crash happens before the sync).
	last := buildLog(t, src, stream, 1, 2)
	full, err := os.ReadFile(filepath.Join(src, firstSegment))
	if err != nil {
		t.Fatal(err)
	}
	if last[0].pos >= uint64(len(full)) || len(full)-len(before) < 200 {
		t.Fatalf("last group spans %d..%d: not a small whole group", len(before), len(full))
	}
	want := idsOf(acked)
	dir := t.TempDir()
	path := filepath.Join(dir, firstSegment)
	check := func(name string, content []byte) {
		t.Helper()
		os.Remove(filepath.Join(dir, cleanFileName)) // a crash leaves no clean-stop mark
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := openStore(dir, discard(), nil)
		if err != nil {
			t.Fatalf("%s: recovery refused a torn last group: %v", name, err)
		}
		got := streamIDs(st, stream)
		st.close()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: recovered %d events %v, want the %d acknowledged ones %v", name, len(got), got, len(want), want)
		}
		if fi, _ := os.Stat(path); fi.Size() != int64(len(before)) {
			t.Fatalf("%s: log is %d bytes after recovery, want it cut back to %d", name, fi.Size(), len(before))
		}
	}
	for cut := len(before); cut < len(full); cut++ {
		check(fmt.Sprintf("cut at %d", cut), full[:cut])
		zeroed := slices.Clone(full)
		clear(zeroed[cut:])
		check(fmt.Sprintf("zeros from %d", cut), zeroed)
	}
	// And the whole group, once written, is kept.
	os.Remove(filepath.Join(dir, cleanFileName))
	if err := os.WriteFile(path, full, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(dir, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if got := streamIDs(st, stream); !slices.Equal(got, append(want, last[0].ids...)) {
		t.Fatalf("whole log: recovered %v", got)
	}
}

// flipByte flips one byte of the log file at off.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestFlippedByteIsDamageNotATornTail: one byte flipped in a record of a group in the middle, of the last but one
// group, or in a group header, makes the node refuse to start, naming the damaged group's offset and the streams
// after it; check reports the same, repair copies the file aside and cuts there, and the node then starts with
// every event before the damage. Each case runs after a clean stop and after a crash (no clean-stop mark: the
// group frames alone must tell).
func TestFlippedByteIsDamageNotATornTail(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(map[bool]string{false: "after a clean stop", true: "after a crash"}[crashed], func(t *testing.T) {
			testFlippedByte(t, crashed)
		})
	}
}

func testFlippedByte(t *testing.T, crashed bool) {
	const groups = 12
	for _, tc := range []struct {
		name  string
		group int   // index of the damaged group
		delta int64 // where in it, from the group header's start
	}{
		{"record in a middle group", groups / 2, groupHeaderSize + 40},
		{"record in the last but one group", groups - 2, groupHeaderSize + 60},
		{"header of a middle group", groups / 2, 10},
		{"header of the last but one group", groups - 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stream := "member-" + uuid.NewString()
			acked := buildLog(t, dir, stream, groups, 1)
			// Sequential single-event appends: one group each, its header just before the record.
			groupAt := int64(acked[tc.group].pos) - groupHeaderSize
			path := filepath.Join(dir, firstSegment)
			flipByte(t, path, groupAt+tc.delta)
			if crashed {
				os.Remove(filepath.Join(dir, cleanFileName))
			}

			_, err := Start(Options{Dir: dir})
			var damage *LogDamage
			if !errors.As(err, &damage) {
				t.Fatalf("node started on a log damaged at %d (err %v), want a refusal with LogDamage", groupAt, err)
			}
			if damage.Offset != groupAt || !slices.Contains(damage.Streams, stream) {
				t.Fatalf("damage at %d streams %v, want offset %d and stream %s", damage.Offset, damage.Streams, groupAt, stream)
			}
			if wantAfter := groups - tc.group - 1; damage.Events < wantAfter || damage.Events > wantAfter+1 {
				t.Errorf("damage reports %d readable events after it, want %d or %d", damage.Events, wantAfter, wantAfter+1)
			}
			if msg := err.Error(); !containsAll(msg, fmt.Sprint(groupAt), stream, "dossier node repair") {
				t.Errorf("refusal %q does not name the offset, the stream and the way out", msg)
			}

			rep, err := Check(dir)
			if err != nil || rep.Damage == nil || rep.Damage.Offset != groupAt || rep.Groups != tc.group || rep.Records != tc.group {
				t.Fatalf("check: %+v, %v; want damage at %d after %d valid groups", rep, err, groupAt, tc.group)
			}
			damaged, _ := os.ReadFile(path)
			rr, err := Repair(dir, time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC))
			if err != nil || rr.CutAt != groupAt {
				t.Fatalf("repair: %+v, %v; want a cut at %d", rr, err, groupAt)
			}
			if cp, err := os.ReadFile(rr.Copy); err != nil || string(cp) != string(damaged) {
				t.Fatalf("repair's copy %s: %d bytes, %v; want the whole damaged file (%d bytes)", rr.Copy, len(cp), err, len(damaged))
			}
			if rep, err := Check(dir); err != nil || !rep.OK() || rep.Records != tc.group {
				t.Fatalf("check after repair: %+v, %v", rep, err)
			}
			st, err := openStore(dir, discard(), nil)
			if err != nil {
				t.Fatalf("start after repair: %v", err)
			}
			defer st.close()
			if got := streamIDs(st, stream); !slices.Equal(got, idsOf(acked[:tc.group])) {
				t.Fatalf("after repair: %v, want the %d events before the damage", got, tc.group)
			}
		})
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestOldFormatIsRefusedClearly: a log written before segments (one events.log, with or without group frames)
// is not read (no production data exists), and the refusal says what to do.
func TestOldFormatIsRefusedClearly(t *testing.T) {
	for _, magic := range []string{legacyMagicV1, legacyMagicV2} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, legacyLogName), []byte(magic), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Start(Options{Dir: dir})
		if !errors.Is(err, errOldFormat) || !strings.Contains(err.Error(), "move the data directory aside") {
			t.Fatalf("start on a %q log: %v, want errOldFormat", magic, err)
		}
		if _, err := Check(dir); !errors.Is(err, errOldFormat) {
			t.Fatalf("check of a %q log: %v, want errOldFormat", magic, err)
		}
	}
}

// faultFile fails the write or the sync of the group commits after the first `ok` ones: the write fails after
// writing half its bytes, the sync after the write went through (its bytes sit in the page cache and may be on
// disk: a restart would read them back).
type faultFile struct {
	logFile
	mu        sync.Mutex
	ok        int  // group writes that succeed
	failWrite bool // fail the write (else the sync)
	writes    int
	failing   bool
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off == 0 { // the file header
		return f.logFile.WriteAt(p, off)
	}
	f.writes++
	if f.writes > f.ok {
		f.failing = true
		if f.failWrite {
			n, _ := f.logFile.WriteAt(p[:len(p)/2], off)
			return n, errors.New("injected write failure")
		}
	}
	return f.logFile.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing && !f.failWrite {
		f.failing = false
		return errors.New("injected fdatasync failure")
	}
	return f.logFile.Sync()
}

// TestFailedWriteOrSyncLeavesNoTrace: after a failed write or sync the append is answered as failed, later
// writes are refused, and a restart serves exactly the acknowledged events (none of the failed group).
func TestFailedWriteOrSyncLeavesNoTrace(t *testing.T) {
	for _, failWrite := range []bool{false, true} {
		name := map[bool]string{false: "failed sync", true: "failed write"}[failWrite]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			stream := "member-" + uuid.NewString()
			ff := &faultFile{ok: 3, failWrite: failWrite}
			n, c := startNode(t, Options{Dir: dir, wrapLog: func(f logFile) logFile { ff.logFile = f; return ff }})
			acked := appendN(t, c, stream, 3)
			size := func() int64 { fi, _ := os.Stat(filepath.Join(dir, firstSegment)); return fi.Size() }
			good := size()
			failed := event("Failed", `{"lost":true}`)
			if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, failed); err == nil {
				t.Fatal("append acknowledged although its group failed")
			}
			if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{}, event("After", `{}`)); err == nil {
				t.Fatal("append acknowledged after a failed group: writes must be refused until a restart")
			}
			if got := size(); got != good {
				t.Errorf("log is %d bytes after the failure, want it cut back to %d", got, good)
			}
			c.Close()
			n.Close()

			_, c2 := startNode(t, Options{Dir: dir})
			evs := readAllEvents(t, c2, stream)
			var got []uuid.UUID
			for _, e := range evs {
				got = append(got, e.EventID)
			}
			if !slices.Equal(got, acked) {
				t.Fatalf("after restart: %v, want exactly the acknowledged %v (not the failed %v)", got, acked, failed.EventID)
			}
			more := appendN(t, c2, stream, 1)
			if evs := readAllEvents(t, c2, stream); len(evs) != 4 || evs[3].EventID != more[0] || evs[3].EventNumber != 3 {
				t.Fatalf("append after restart: %d events", len(evs))
			}
		})
	}
}

// orderFile records the order of writes and syncs of the log, for TestNoAcknowledgementBeforeItsSync.
type orderFile struct {
	logFile
	rec *orderRecorder
}

type orderRecorder struct {
	mu      sync.Mutex
	written int64 // end of the bytes written so far
	synced  int64 // end of the bytes covered by the last completed sync
	syncs   int
	early   []string // acknowledgements seen before the sync covering them
	acks    int
}

func (f orderFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.logFile.WriteAt(p, off)
	f.rec.mu.Lock()
	f.rec.written = max(f.rec.written, off+int64(n))
	f.rec.mu.Unlock()
	return n, err
}

func (f orderFile) Sync() error {
	f.rec.mu.Lock()
	covers := f.rec.written // what this sync makes durable (writes do not overlap syncs: one writer)
	f.rec.mu.Unlock()
	err := f.logFile.Sync()
	if err == nil {
		f.rec.mu.Lock()
		f.rec.synced = max(f.rec.synced, covers)
		f.rec.syncs++
		f.rec.mu.Unlock()
	}
	return err
}

// ack records an acknowledgement the client received for a record at pos.
func (r *orderRecorder) ack(pos uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acks++
	if int64(pos) >= r.synced {
		r.early = append(r.early, fmt.Sprintf("position %d acknowledged with only %d bytes synced", pos, r.synced))
	}
}

// TestNoAcknowledgementBeforeItsSync records, around the real log file, the order of writes, syncs and the
// acknowledgements the client receives under 8 concurrent writers, and fails if any append is acknowledged before
// a completed sync covers its bytes. (A killed process cannot reveal a missing sync: this test can.)
func TestNoAcknowledgementBeforeItsSync(t *testing.T) {
	rec := &orderRecorder{}
	_, c := startNode(t, Options{Dir: t.TempDir(), wrapLog: func(f logFile) logFile { return orderFile{f, rec} }})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := "member-" + uuid.NewString()
			for i := 0; i < 25; i++ {
				wr, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{},
					event("Counted", `{}`), event("Counted", `{}`))
				if err != nil {
					errs <- err
					return
				}
				rec.ack(wr.CommitPosition)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.acks != 200 || rec.syncs == 0 {
		t.Fatalf("%d acknowledgements, %d syncs", rec.acks, rec.syncs)
	}
	if len(rec.early) > 0 {
		t.Fatalf("%d of %d appends acknowledged before the sync covering them, e.g. %s", len(rec.early), rec.acks, rec.early[0])
	}
}

// TestCreatedDirectoriesAndFilesAreSynced: the node syncs the parent of every directory it creates, and the data
// directory after creating its files, so that they survive a crash.
func TestCreatedDirectoriesAndFilesAreSynced(t *testing.T) {
	var mu sync.Mutex
	var synced []string
	orig := syncDir
	syncDir = func(dir string) error {
		mu.Lock()
		synced = append(synced, dir)
		mu.Unlock()
		return orig(dir)
	}
	t.Cleanup(func() { syncDir = orig })
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "events")
	n, err := Start(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
		if !slices.Contains(synced, want) {
			t.Errorf("%s not synced; synced: %v", want, synced)
		}
	}
}

// BenchmarkRecovery: start-up (recovery scan and index rebuild) of a log of 200,000 ~250-byte events over 10,000
// streams, in group commits of 10 appends, written directly in the log format.
//
//	go test -run '^$' -bench Recovery -benchtime 5x ./adapters/kurrentnode/
func BenchmarkRecovery(b *testing.B) {
	const events, streams, perGroup = 200_000, 10_000, 10
	dir := b.TempDir()
	lb, err := newLogBuilder(dir, SegmentBytes)
	if err != nil {
		b.Fatal(err)
	}
	revs := make([]uint64, streams)
	data := []byte(`{"memberId":"` + uuid.NewString() + `","pad":"` + strings.Repeat("x", 160) + `"}`)
	for i := 0; i < events; i += perGroup {
		recs := make([]record, perGroup)
		for k := range recs {
			s := (i + k) % streams
			recs[k] = record{Stream: fmt.Sprintf("member-%08d", s), Revision: revs[s], ID: uuid.New(),
				JSON: true, Commit: true, Type: "MemberUpdated", Metadata: []byte(`{}`), Data: data}
			revs[s]++
		}
		if err := lb.group(recs); err != nil {
			b.Fatal(err)
		}
	}
	size := lb.end()
	if err := lb.close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		// A full rebuild of the index from the log each time (a start after a checkpoint replays much less).
		if err := os.RemoveAll(filepath.Join(dir, indexDirName)); err != nil {
			b.Fatal(err)
		}
		st, err := openStore(dir, discard(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := recordCount(st); n != events {
			b.Fatalf("%d records recovered", n)
		}
		st.close()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStoreAppend10: the node's own write path without gRPC or the client: 10 goroutines submitting one-event
// appends to their own streams on an in-memory store (no fsync). cpu-µs/op is the process's user+system CPU time
// per append (getrusage), which other load on the machine does not inflate the way it inflates wall time.
func BenchmarkStoreAppend10(b *testing.B) {
	st, err := openStore("", discard(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.close()
	data := []byte(`{"memberId":"` + uuid.NewString() + `","pad":"` + strings.Repeat("x", 160) + `"}`)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/10 + 1
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := "member-" + uuid.NewString()
			for i := 0; i < per; i++ {
				_, err := st.submit(&writeReq{op: opAppend, stream: stream, size: len(data) + 64,
					events: []proposedEvent{{ID: uuid.New(), Type: "MemberUpdated", JSON: true, Metadata: []byte(`{}`), Data: data}}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(cpu.Microseconds())/float64(per*10), "cpu-µs/op")
}

// TestCleanStopMakesLastGroupDamageVisible: after a clean stop nothing can be torn, so a byte flipped in the LAST
// group, or a log cut short at a group boundary, is refused as damage; after a crash (no clean-stop mark) the same
// last group is cut as a torn write. The mark exists only while the node is stopped.
func TestCleanStopMakesLastGroupDamageVisible(t *testing.T) {
	setup := func(t *testing.T) (string, string, []ackedAppend) {
		dir := t.TempDir()
		stream := "member-" + uuid.NewString()
		acked := buildLog(t, dir, stream, 5, 1)
		if _, err := os.Stat(filepath.Join(dir, cleanFileName)); err != nil {
			t.Fatalf("no clean-stop mark after a clean stop: %v", err)
		}
		return dir, stream, acked
	}
	t.Run("byte flipped in the last group", func(t *testing.T) {
		dir, stream, acked := setup(t)
		lastGroup := int64(acked[4].pos) - groupHeaderSize
		flipByte(t, filepath.Join(dir, firstSegment), lastGroup+groupHeaderSize+50)
		_, err := Start(Options{Dir: dir})
		var damage *LogDamage
		if !errors.As(err, &damage) || damage.Offset != lastGroup {
			t.Fatalf("start after a clean stop with the last group damaged: %v, want LogDamage at %d", err, lastGroup)
		}
		if rep, err := Check(dir); err != nil || rep.Damage == nil || rep.Damage.Offset != lastGroup {
			t.Fatalf("check: %+v, %v", rep, err)
		}
		// Without the mark (as after a crash) the same bytes are a torn last group.
		os.Remove(filepath.Join(dir, cleanFileName))
		st, err := openStore(dir, discard(), nil)
		if err != nil {
			t.Fatalf("start without the mark: %v", err)
		}
		got := streamIDs(st, stream)
		st.close()
		if !slices.Equal(got, idsOf(acked[:4])) {
			t.Fatalf("without the mark: %v, want the first 4 events", got)
		}
	})
	t.Run("log cut at a group boundary", func(t *testing.T) {
		dir, _, acked := setup(t)
		if err := os.Truncate(filepath.Join(dir, firstSegment), int64(acked[3].pos)-groupHeaderSize); err != nil {
			t.Fatal(err)
		}
		var damage *LogDamage
		if _, err := Start(Options{Dir: dir}); !errors.As(err, &damage) {
			t.Fatalf("start on a log shorter than its clean stop: %v, want LogDamage", err)
		}
	})
	t.Run("the mark is gone while the node runs", func(t *testing.T) {
		dir, stream, _ := setup(t)
		_, c := startNode(t, Options{Dir: dir})
		if _, err := os.Stat(filepath.Join(dir, cleanFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("clean-stop mark present while the node runs: %v", err)
		}
		appendN(t, c, stream, 1)
	})
}
