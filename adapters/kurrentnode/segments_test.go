package kurrentnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// testSegBytes seals a segment after about seven one-event groups.
const testSegBytes = 2048

func openSegStore(t *testing.T, dir string, logger *slog.Logger) *store {
	t.Helper()
	if logger == nil {
		logger = discard()
	}
	st, err := openStoreConfig(dir, logger, nil, storeConfig{segBytes: testSegBytes})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return st
}

// appendOnes appends n one-event appends to stream, one group each, and returns them as acknowledged.
func appendOnes(t *testing.T, st *store, stream string, n int) []ackedAppend {
	t.Helper()
	var out []ackedAppend
	for i := 0; i < n; i++ {
		ev := proposedEvent{ID: uuid.New(), Type: "Counted", JSON: true, Metadata: []byte{},
			Data: []byte(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 150)))}
		res, err := st.submit(&writeReq{op: opAppend, stream: stream, events: []proposedEvent{ev}, size: 300})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ackedAppend{ids: []uuid.UUID{ev.ID}, pos: res.position})
	}
	return out
}

// segFiles lists the log's segments: name, base and size.
func segFiles(t *testing.T, dir string) []*segment {
	t.Helper()
	l, err := openSegLog(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.list()
}

// TestSegmentsRollAndStartReadsOnlyTheLast: the writer seals a full segment and starts the next; no group
// straddles two segments, positions stay global and increasing; a start after a clean stop verifies only the last
// segment (the others by their seal), a start without an index reads them all; check verifies them all.
func TestSegmentsRollAndStartReadsOnlyTheLast(t *testing.T) {
	dir := t.TempDir()
	stream := "member-" + uuid.NewString()
	st := openSegStore(t, dir, nil)
	acked := appendOnes(t, st, stream, 40)
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if len(segs) < 4 {
		t.Fatalf("%d segments after 40 groups of ~300 bytes with %d-byte segments", len(segs), testSegBytes)
	}
	for i, sg := range segs {
		if i < len(segs)-1 {
			s, ok := readSegEnds(sg)
			if !ok || segs[i+1].base != sg.base+sg.size || s.groups == 0 || s.groups != s.records {
				t.Fatalf("segment %d (%s, %d bytes): seal %+v %v, next at %d", i, segName(sg.base), sg.size, s, ok, segs[i+1].base)
			}
		}
	}
	for i, a := range acked {
		// Every record lies inside one segment, between its header and its seal, in a group of its own.
		k := slices.IndexFunc(segs, func(sg *segment) bool { return int64(a.pos) >= sg.base && int64(a.pos) < sg.base+sg.size })
		if k < 0 || int64(a.pos) < segs[k].base+segHeaderSize+groupHeaderSize || (i > 0 && a.pos <= acked[i-1].pos) {
			t.Fatalf("append %d at %d: not inside a segment's groups", i, a.pos)
		}
	}
	rep, err := Check(dir)
	if err != nil || !rep.OK() || rep.Segments != len(segs) || rep.Sealed != len(segs)-1 || rep.Records != 40 || rep.Groups != 40 {
		t.Fatalf("check: %+v, %v", rep, err)
	}

	var logs logBuffer
	st = openSegStore(t, dir, logs.logger())
	if got := streamIDs(st, stream); !slices.Equal(got, idsOf(acked)) {
		t.Fatalf("after a clean restart: %d events", len(got))
	}
	if out := logs.String(); !strings.Contains(out, "segments_verified=1 ") || !strings.Contains(out, "replayed_records=0 ") ||
		!strings.Contains(out, fmt.Sprintf("segments=%d ", len(segs))) {
		t.Fatalf("start after a clean stop read more than the last segment:\n%s", out)
	}
	more := appendOnes(t, st, stream, 10)
	st.close()

	if err := os.RemoveAll(filepath.Join(dir, indexDirName)); err != nil {
		t.Fatal(err)
	}
	logs = logBuffer{}
	st = openSegStore(t, dir, logs.logger())
	defer st.close()
	if got := streamIDs(st, stream); !slices.Equal(got, idsOf(append(acked, more...))) {
		t.Fatalf("after an index rebuild: %d events", len(got))
	}
	n := len(segFiles(t, dir))
	if out := logs.String(); !strings.Contains(out, fmt.Sprintf("segments_verified=%d ", n)) || !strings.Contains(out, "replayed_records=50 ") {
		t.Fatalf("a rebuild must read every one of the %d segments:\n%s", n, out)
	}
}

// copyDir copies the regular files of src (recursively) into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestTornWriteAtTheRollover: a crash while the writer seals a segment and starts the next leaves the seal cut
// at any byte, the next segment missing or its header cut at any byte, or the first group of the next segment
// torn; recovery keeps every acknowledged event, leaves a sealed segment and an empty next one, and writes on.
func TestTornWriteAtTheRollover(t *testing.T) {
	before := t.TempDir()
	stream := "member-" + uuid.NewString()
	st := openSegStore(t, before, nil)
	acked := appendOnes(t, st, stream, 3)
	for int64(st.end)-st.segBase < st.segBytes { // until the next group seals the segment
		acked = append(acked, appendOnes(t, st, stream, 1)...)
	}
	firstBase := st.segBase
	st.close()
	after := copyDir(t, before)
	st = openSegStore(t, after, nil)
	last := appendOnes(t, st, stream, 1) // seals the segment, starts the next, and lands there
	st.close()
	segs := segFiles(t, after)
	if n := len(segs); n < 2 || segs[n-2].base != firstBase {
		t.Fatalf("the append did not roll over: %d segments", n)
	}
	sealed, next := segs[len(segs)-2], segs[len(segs)-1]
	sealedBytes, _ := os.ReadFile(sealed.path)
	nextBytes, _ := os.ReadFile(next.path)
	if int64(last[0].pos) < next.base {
		t.Fatalf("the rolling append is at %d, before the next segment at %d", last[0].pos, next.base)
	}

	check := func(name string, sealedContent []byte, nextContent []byte) {
		t.Helper()
		dir := copyDir(t, before) // the index as it was before the rolling group (a crash never indexes it)
		os.Remove(filepath.Join(dir, cleanFileName))
		if err := os.WriteFile(filepath.Join(dir, segName(sealed.base)), sealedContent, 0o600); err != nil {
			t.Fatal(err)
		}
		if nextContent != nil {
			if err := os.WriteFile(filepath.Join(dir, segName(next.base)), nextContent, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		st, err := openStoreConfig(dir, discard(), nil, storeConfig{segBytes: testSegBytes})
		if err != nil {
			t.Fatalf("%s: recovery refused: %v", name, err)
		}
		got := streamIDs(st, stream)
		more := appendOnes(t, st, stream, 1)
		st.close()
		if !slices.Equal(got, idsOf(acked)) {
			t.Fatalf("%s: recovered %d events, want the %d acknowledged ones", name, len(got), len(acked))
		}
		if int64(more[0].pos) < next.base {
			t.Fatalf("%s: the next append landed at %d, before the next segment (%d)", name, more[0].pos, next.base)
		}
		if rep, err := Check(dir); err != nil || !rep.OK() || rep.Sealed != len(segs)-1 {
			t.Fatalf("%s: check after recovery: %+v, %v", name, rep, err)
		}
	}
	unsealed := sealedBytes[:len(sealedBytes)-sealSize]
	for cut := 0; cut < sealSize; cut++ {
		check(fmt.Sprintf("seal cut at %d", cut), sealedBytes[:len(unsealed)+cut], nil)
	}
	zeroSeal := append(slices.Clone(unsealed), make([]byte, sealSize)...)
	check("seal all zeros", zeroSeal, nil)
	for cut := 0; cut <= segHeaderSize; cut++ {
		check(fmt.Sprintf("next segment's header cut at %d", cut), sealedBytes, nextBytes[:cut])
	}
	check("next segment's header all zeros", sealedBytes, make([]byte, segHeaderSize))
	for cut := segHeaderSize + 1; cut < len(nextBytes); cut += 17 {
		check(fmt.Sprintf("first group of the next segment cut at %d", cut), sealedBytes, nextBytes[:cut])
	}
}

// damageCase damages a copy of a log of several segments.
type damageCase struct {
	name   string
	damage func(t *testing.T, dir string, segs []*segment) int64 // returns the offset the refusal must name
	// atStart: the node refuses to start; otherwise the damage lies in a sealed segment behind the index
	// checkpoint, which start-up does not read: check finds it, and so does a read of it.
	atStart bool
}

// TestDamagedSealedSegment: damage in a sealed segment's seal or header, or a missing segment, refuses to
// start with its offset; damage inside a sealed segment's records is found by check (also on a running node,
// --sealed) and by a read of it; repair copies the damaged segment aside, sets the later ones aside, cuts, and
// the node starts with every event before the damage and writes on.
func TestDamagedSealedSegment(t *testing.T) {
	pristine := t.TempDir()
	stream := "member-" + uuid.NewString()
	st := openSegStore(t, pristine, nil)
	acked := appendOnes(t, st, stream, 40)
	st.close()
	segs := segFiles(t, pristine)
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	firstIn := func(sg *segment) int64 { // the first group of a segment
		return sg.base + segHeaderSize
	}
	for _, tc := range []damageCase{
		{"seal of a sealed segment", func(t *testing.T, dir string, segs []*segment) int64 {
			flipByte(t, filepath.Join(dir, segName(segs[1].base)), segs[1].size-sealSize+6)
			return segs[1].base + segs[1].size - sealSize
		}, true},
		{"header of a sealed segment", func(t *testing.T, dir string, segs []*segment) int64 {
			flipByte(t, filepath.Join(dir, segName(segs[2].base)), 20)
			return segs[2].base
		}, true},
		{"a sealed segment missing", func(t *testing.T, dir string, segs []*segment) int64 {
			if err := os.Remove(filepath.Join(dir, segName(segs[2].base))); err != nil {
				t.Fatal(err)
			}
			return segs[2].base
		}, true},
		{"a sealed segment cut short", func(t *testing.T, dir string, segs []*segment) int64 {
			if err := os.Truncate(filepath.Join(dir, segName(segs[1].base)), segs[1].size-sealSize); err != nil {
				t.Fatal(err)
			}
			return segs[1].base + segs[1].size - sealSize
		}, true},
		{"record in a sealed segment", func(t *testing.T, dir string, segs []*segment) int64 {
			flipByte(t, filepath.Join(dir, segName(segs[1].base)), segHeaderSize+groupHeaderSize+40)
			return firstIn(segs[1])
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, crashed := range []bool{false, true} {
				dir := copyDir(t, pristine)
				if crashed {
					os.Remove(filepath.Join(dir, cleanFileName))
				}
				off := tc.damage(t, dir, segs)
				if tc.atStart {
					_, err := openStoreConfig(dir, discard(), nil, storeConfig{segBytes: testSegBytes})
					var damage *LogDamage
					if !errors.As(err, &damage) || damage.Offset != off || !slices.Contains(damage.Streams, stream) {
						t.Fatalf("crashed %v: start: %v, want a refusal naming offset %d and the stream", crashed, err, off)
					}
				} else {
					n, c := startNode(t, Options{Dir: dir, SegmentBytes: testSegBytes})
					rep, err := CheckSealed(dir) // the node is running
					if err != nil || rep.Damage == nil || rep.Damage.Offset != off {
						t.Fatalf("check --sealed on the running node: %+v, %v; want damage at %d", rep, err, off)
					}
					if _, err := readStream(c, stream); err == nil {
						t.Fatal("a read of the damaged record succeeded")
					}
					c.Close()
					n.Close()
				}
				rep, err := Check(dir)
				if err != nil || rep.Damage == nil || rep.Damage.Offset != off {
					t.Fatalf("check: %+v, %v; want damage at %d", rep, err, off)
				}
				rr, err := Repair(dir, time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC))
				if err != nil || rr.CutAt != off || !rr.Repaired() {
					t.Fatalf("repair: %+v, %v; want a cut at %d", rr, err, off)
				}
				for _, p := range append(rr.SetAside, rr.Copy) {
					if _, err := os.Stat(p); p != "" && err != nil {
						t.Fatalf("repair's copy %s: %v", p, err)
					}
				}
				if rep, err := Check(dir); err != nil || !rep.OK() {
					t.Fatalf("check after repair: %+v, %v", rep, err)
				}
				st := openSegStore(t, dir, nil)
				var want []uuid.UUID
				for _, a := range acked {
					if int64(a.pos) < off {
						want = append(want, a.ids...)
					}
				}
				got := streamIDs(st, stream)
				more := appendOnes(t, st, stream, 10)
				st.close()
				if !slices.Equal(got, want) || len(want) == 0 {
					t.Fatalf("crashed %v: after repair %d events, want the %d before %d", crashed, len(got), len(want), off)
				}
				if int64(more[0].pos) < off {
					t.Fatalf("an append after repair landed at %d, before the cut", more[0].pos)
				}
				if rep, err := Check(dir); err != nil || !rep.OK() || rep.Records != len(want)+10 {
					t.Fatalf("check after repair and appends: %+v, %v", rep, err)
				}
			}
		})
	}
}

// readStream reads a whole stream through the client, returning the first error.
func readStream(c *esdb.Client, stream string) (int, error) {
	rs, err := c.ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, ^uint64(0))
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	n := 0
	for {
		_, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}
