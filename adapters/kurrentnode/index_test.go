package kurrentnode

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// logBuffer is a logger whose output a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// fillStore appends n one-event appends round-robin over streams, and sets `$maxCount` 3 on the first stream.
func fillStore(t *testing.T, st *store, streams []string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ev := proposedEvent{ID: uuid.New(), Type: "Counted", JSON: true, Metadata: []byte{}, Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
		if _, err := st.submit(&writeReq{op: opAppend, stream: streams[i%len(streams)], events: []proposedEvent{ev}, size: 100}); err != nil {
			t.Fatal(err)
		}
	}
	meta := proposedEvent{ID: uuid.New(), Type: metadataEventType, JSON: true, Metadata: []byte{}, Data: []byte(`{"$maxCount":3}`)}
	if _, err := st.submit(&writeReq{op: opAppend, stream: metaPrefix + streams[0], events: []proposedEvent{meta}, size: 100}); err != nil {
		t.Fatal(err)
	}
}

// answers is everything readers get from a store's index: the ids of each stream, each stream's end and first
// page of events (positions and revisions, after `$maxCount`), and $all forwards and backwards.
type answers struct {
	IDs      map[string][]uuid.UUID
	Ends     map[string]int64
	Pages    map[string][]span
	Revs     map[string][]int64
	All      []span
	AllBack  []span
	Recorded int
}

func answersOf(t *testing.T, st *store, streams []string) answers {
	t.Helper()
	a := answers{IDs: map[string][]uuid.UUID{}, Ends: map[string]int64{}, Pages: map[string][]span{}, Revs: map[string][]int64{}}
	for _, s := range append(streams, metaPrefix+streams[0]) {
		a.IDs[s] = streamIDs(st, s)
		end, _, err := st.streamEnd(s)
		if err != nil {
			t.Fatal(err)
		}
		a.Ends[s] = end
		spans, revs, _, _, err := st.streamPage(s, 0, false, 1000)
		if err != nil {
			t.Fatal(err)
		}
		a.Pages[s], a.Revs[s] = spans, revs
	}
	var err error
	if a.All, err = st.allPage(0, false, 100000, 1<<40); err != nil {
		t.Fatal(err)
	}
	if a.AllBack, err = st.allPage(^uint64(0), true, 100000, 1<<40); err != nil {
		t.Fatal(err)
	}
	a.Recorded = recordCount(st)
	return a
}

func testStreams(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("member-%d", i))
	}
	return out
}

// TestIndexPersistsAndStartReplaysOnlyAfterCheckpoint: after a clean stop the index answers everything and the
// start replays nothing; an index left behind the log (its last batches lost, as a kill between a group's sync
// and pebble's flush does) is caught up by replaying only the groups after its checkpoint.
func TestIndexPersistsAndStartReplaysOnlyAfterCheckpoint(t *testing.T) {
	dir := t.TempDir()
	streams := testStreams(7)
	st, err := openStore(dir, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, st, streams, 300)
	want := answersOf(t, st, streams)
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	if want.Recorded != 301 || len(want.IDs[streams[1]]) != 43 || len(want.Pages[streams[0]]) != 3 || want.Revs[streams[0]][0] != 40 {
		t.Fatalf("unexpected answers before restart: %d records, %d ids, page %v", want.Recorded, len(want.IDs[streams[1]]), want.Revs[streams[0]])
	}
	behind := t.TempDir()
	if err := os.CopyFS(behind, os.DirFS(filepath.Join(dir, indexDirName))); err != nil {
		t.Fatal(err)
	}

	var logs logBuffer
	st, err = openStore(dir, logs.logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "replayed_records=0 ") {
		t.Fatalf("a start after a clean stop replayed records: %s", logs.String())
	}
	if got := answersOf(t, st, streams); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after restart differ:\n got %+v\nwant %+v", got, want)
	}
	// Idempotency from the persisted event-id index: the same append again is answered with the original.
	first := want.Pages[streams[2]]
	retry := &writeReq{op: opAppend, stream: streams[2], expected: expectation{kind: expectAny}, size: 100,
		events: []proposedEvent{{ID: want.IDs[streams[2]][0], Type: "Counted", JSON: true, Metadata: []byte{}, Data: []byte(`{}`)}}}
	res, err := st.submit(retry)
	if err != nil || res.position != first[0].pos || res.revision != 0 {
		t.Fatalf("idempotent retry: %+v, %v; want position %d revision 0", res, err, first[0].pos)
	}
	fillStore(t, st, streams, 100)
	want = answersOf(t, st, streams)
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	if want.Recorded != 402 {
		t.Fatalf("%d records, want 402 (the retry wrote nothing)", want.Recorded)
	}

	// Put the older index back and drop the clean-stop mark: the 101 records after its checkpoint are replayed.
	if err := os.RemoveAll(filepath.Join(dir, indexDirName)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, indexDirName), os.DirFS(behind)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, cleanFileName))
	logs = logBuffer{}
	st, err = openStore(dir, logs.logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if !strings.Contains(logs.String(), "replayed_records=101 ") {
		t.Fatalf("catching up an index behind the log: %s, want 101 records replayed", logs.String())
	}
	if got := answersOf(t, st, streams); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after catching up differ:\n got %+v\nwant %+v", got, want)
	}
}

// TestDamagedIndexIsRebuiltNeverAWrongAnswer flips one byte at many offsets of every file of the index: the
// node always starts, and answers exactly what it answered before (a damaged table is found at start and the
// index is rebuilt from the log).
func TestDamagedIndexIsRebuiltNeverAWrongAnswer(t *testing.T) {
	pristine := t.TempDir()
	streams := testStreams(5)
	st, err := openStore(pristine, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, st, streams, 400)
	want := answersOf(t, st, streams)
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(filepath.Join(pristine, indexDirName), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tables, tried := 0, 0
	for _, path := range files {
		rel, _ := filepath.Rel(pristine, path)
		fi, err := os.Stat(path)
		if err != nil || fi.Size() == 0 || filepath.Base(path) == "LOCK" {
			continue
		}
		isTable := strings.HasSuffix(path, ".sst")
		if isTable {
			tables++
		}
		stride := max(fi.Size()/40, 1)
		for off := int64(0); off < fi.Size(); off += stride {
			tried++
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(pristine)); err != nil {
				t.Fatal(err)
			}
			flipByte(t, filepath.Join(dir, rel), off)
			var logs logBuffer
			st, err := openStore(dir, logs.logger(), nil)
			if err != nil {
				t.Fatalf("%s flipped at %d: the node refused to start: %v", rel, off, err)
			}
			got := answersOf(t, st, streams)
			st.close()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s flipped at %d: wrong answers:\n got %+v\nwant %+v\nlog: %s", rel, off, got, want, logs.String())
			}
			// Every block of a table carries a checksum; its footer (at most 64 bytes) holds the block
			// handles, some of whose bytes change nothing, and pebble checks the rest when it opens the table.
			if isTable && off < fi.Size()-64 && !strings.Contains(logs.String(), "rebuilding") {
				t.Fatalf("%s (%d bytes) flipped at %d: not found damaged, not rebuilt: %s", rel, fi.Size(), off, logs.String())
			}
		}
	}
	if tables == 0 || tried < 80 {
		t.Fatalf("%d tables, %d flips tried: the index was not written to tables", tables, tried)
	}
}

// TestVerifiedTablesAreNotReadAgainButDamageIsStillFound: a start verifies only the tables no earlier start
// verified; a byte that rots later in an already-verified table is not found at start, but the first read of its
// block fails (never a wrong answer) and forgets the verified list, `VerifyIndexTables` (`dossier node check`)
// names the table, and the next start verifies everything and rebuilds the index from the log.
func TestVerifiedTablesAreNotReadAgainButDamageIsStillFound(t *testing.T) {
	dir := t.TempDir()
	streams := testStreams(5)
	start := func() (*store, string) {
		t.Helper()
		var logs logBuffer
		st, err := openStore(dir, logs.logger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return st, logs.String()
	}
	st, _ := start()
	fillStore(t, st, streams, 400)
	want := answersOf(t, st, streams)
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	st, logs := start()
	st.close()
	if strings.Contains(logs, "tables_verified=0 ") || !strings.Contains(logs, "tables_verified_before=0 ") {
		t.Fatalf("the first start after the tables were written must verify them all: %s", logs)
	}
	st, logs = start()
	st.close()
	if !strings.Contains(logs, "tables_verified=0 ") || strings.Contains(logs, "tables_verified_before=0 ") {
		t.Fatalf("a start must not read tables an earlier start verified: %s", logs)
	}
	if rep, err := Check(dir); err != nil || rep.IndexTables == 0 || rep.IndexDamage != "" || !rep.OK() {
		t.Fatalf("node check on a sound index: %+v, %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, indexDirName, verifiedFileName)); err != nil {
		t.Fatalf("node check on a sound index must keep the verified list: %v", err)
	}

	// Rot one byte in the first data block (the $all entries) of the largest table.
	tables, _ := filepath.Glob(filepath.Join(dir, indexDirName, "*.sst"))
	largest := ""
	for _, p := range tables {
		if largest == "" || fileSize(p) > fileSize(largest) {
			largest = p
		}
	}
	flipByte(t, largest, 100)

	// `dossier node check` (Check) on a copy reads every table, names the damaged one and forgets the list,
	// so that the start after it rebuilds the index.
	checked := t.TempDir()
	if err := os.CopyFS(checked, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(checked)
	if err != nil || !strings.Contains(rep.IndexDamage, filepath.Base(largest)) || rep.Damage != nil {
		t.Fatalf("node check must name the damaged table %s: %+v, %v", filepath.Base(largest), rep, err)
	}
	var clogs logBuffer
	cst, err := openStore(checked, clogs.logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(clogs.String(), "rebuilding") {
		t.Fatalf("the start after node check found the damage must rebuild the index: %s", clogs.String())
	}
	if got := answersOf(t, cst, streams); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after the rebuild differ:\n got %+v\nwant %+v", got, want)
	}
	cst.close()

	st, logs = start()
	if strings.Contains(logs, "rebuilding") || !strings.Contains(logs, "tables_verified=0 ") {
		t.Fatalf("the damage in a verified table is not looked for at start: %s", logs)
	}
	if _, err := os.Stat(filepath.Join(dir, indexDirName, verifiedFileName)); err != nil {
		t.Fatalf("verified list missing before the damage is read: %v", err)
	}
	all, err := st.allPage(0, false, 100000, 1<<40)
	if err == nil {
		st.close()
		if !reflect.DeepEqual(all, want.All) {
			t.Fatalf("a damaged block gave a wrong $all answer")
		}
		t.Fatalf("reading $all over a damaged block did not fail")
	}
	if !strings.Contains(err.Error(), "checksum") && !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("the read over a damaged block failed without naming the damage: %v", err)
	}
	st.close()
	if _, err := os.Stat(filepath.Join(dir, indexDirName, verifiedFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a read that found damage must forget the verified list: %v", err)
	}
	if _, err := VerifyIndexTables(dir); err == nil || !strings.Contains(err.Error(), filepath.Base(largest)) {
		t.Fatalf("node check must name the damaged table %s: %v", filepath.Base(largest), err)
	}

	st, logs = start()
	defer st.close()
	if !strings.Contains(logs, "rebuilding") {
		t.Fatalf("the start after the damage was read must rebuild the index: %s", logs)
	}
	if got := answersOf(t, st, streams); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers after the rebuild differ:\n got %+v\nwant %+v", got, want)
	}
}
