package kurrentnode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// The persisted index (issue 13 item 3). The log stays the only source of truth; the index is a pebble database
// in <data dir>/index (or on pebble's in-memory FS) that reflects the log up to a checkpoint, and is rebuilt
// from the log whenever it cannot be trusted. Keys (names are length-prefixed, so no name is a prefix of another):
//
//	n <name>            → stream head: last revision, tombstone position, current metadata
//	s <name> <rev BE>   → position, byte size and event id of the event at that revision
//	e <name> <id>       → revision (idempotency; bloom filters make a miss cheap)
//	a <pos BE>          → byte size of the record at that position ($all reads, forwards and backwards)
//	c                   → checkpoint: offset and end of the last group the index reflects
//
// Each group's entries and the new checkpoint go into pebble in one batch, after the group's fdatasync and
// without pebble's WAL: a batch lost in a crash is replayed from the log, which start-up reads from the
// checkpoint on. A clean stop flushes the memtables.
const indexDirName = "index"

const (
	keyHead       = 'n'
	keyRev        = 's'
	keyID         = 'e'
	keyAll        = 'a'
	keyCheckpoint = 'c'
)

// IndexCacheBytes is the default size of the index's block cache: with the memtables, what bounds the node's
// memory, whatever the number of events.
const IndexCacheBytes = 64 << 20

const indexMemTableBytes = 16 << 20

type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(string, ...any) {}
func (q quietLogger) Errorf(format string, args ...any) {
	q.l.Error("event index: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...any) {
	q.l.Error("event index: fatal: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}

// openIndex opens (or creates) the index of dir ("" for in memory).
func openIndex(dir string, logger *slog.Logger, cacheBytes int64) (*pebble.DB, error) {
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:        cache,
		DisableWAL:   true,
		MemTableSize: indexMemTableBytes,
		Logger:       quietLogger{logger},
		// A damaged block is an error on the read that finds it (never an exit): the request fails, writes stop,
		// and the next start finds the damage and rebuilds the index from the log.
		// The list of verified tables is forgotten, so that the next start verifies every table again.
		EventListener: &pebble.EventListener{DataCorruption: func(info pebble.DataCorruptionInfo) {
			logger.Error("event index damaged: restart the node to rebuild it from the log", "path", info.Path, "err", info.Details)
			if dir != "" {
				forgetVerified(dir)
			}
		}},
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	path := filepath.Join(dir, indexDirName)
	if dir == "" {
		opts.FS = vfs.NewMem()
		path = ""
	}
	return pebble.Open(path, opts)
}

// verifyIndex checks the checksum of every block of every live table of the index on disk that was not
// verified at an earlier start (pebble checks its manifest when it opens): a damaged index file is found at
// start, before any answer is given from it, and the index is then rebuilt from the log. It reads the tables
// sequentially and decodes nothing. Tables never change once written, so a table verified once (same number,
// same size, listed in the index directory's verified list) is not read again at start: a byte that rots in it
// later is found by pebble's own check of every block it reads (the read fails, the list is forgotten, and the
// next start verifies everything and rebuilds), and by `dossier node check`, which verifies every table.
//
// Compactions may start as soon as pebble opens, and delete a listed table before it is read: a table gone is
// not damage, the tables are listed again and the new ones (the compactions' outputs) verified in turn, until a
// listing holds only verified tables. It returns how many tables it read and how many it skipped.
func verifyIndex(db *pebble.DB, dir string, logger *slog.Logger) (read, skipped int, err error) {
	if dir == "" {
		return 0, 0, nil
	}
	known := readVerified(dir)
	verified := map[uint64]uint64{}
	for round := 0; ; round++ {
		levels, err := db.SSTables()
		if err != nil {
			return read, skipped, err
		}
		gone := false
		for _, level := range levels {
			for _, t := range level {
				num := uint64(t.BackingSSTNum)
				if _, ok := verified[num]; ok {
					continue
				}
				path := filepath.Join(dir, indexDirName, fmt.Sprintf("%06d.sst", num))
				if size, ok := known[num]; ok && size == t.Size && fileSize(path) == int64(size) {
					verified[num] = size
					skipped++
					continue
				}
				err := verifyTable(path)
				switch {
				case errors.Is(err, os.ErrNotExist) && round < 1000:
					gone = true
				case err != nil:
					return read, skipped, err
				default:
					verified[num] = t.Size
					read++
				}
			}
		}
		if !gone {
			break
		}
		logger.Info("event index: a table was compacted away while being verified; verifying the new ones")
	}
	if read > 0 || len(known) != len(verified) {
		if err := writeVerified(dir, verified); err != nil {
			// Not fatal: the next start verifies the tables again.
			logger.Warn("event index: cannot record the verified tables", "err", err)
		}
	}
	return read, skipped, nil
}

// verifiedFileName is the list of the index's tables whose every block was verified, in the index directory
// (so that removing the index removes it; pebble ignores files it does not name). Losing it, or a list that
// does not verify, only costs a full verification at the next start.
const verifiedFileName = "DOSSIER-VERIFIED"

var verifiedMagic = []byte("dossier verified tables v1\n")

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// readVerified returns the verified tables (number → size), empty when the list is absent or does not verify.
func readVerified(dir string) map[uint64]uint64 {
	out := map[uint64]uint64{}
	b, err := os.ReadFile(filepath.Join(dir, indexDirName, verifiedFileName))
	if err != nil || len(b) < len(verifiedMagic)+4 || !bytes.HasPrefix(b, verifiedMagic) {
		return out
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum || (len(body)-len(verifiedMagic))%16 != 0 {
		return out
	}
	for p := body[len(verifiedMagic):]; len(p) > 0; p = p[16:] {
		out[binary.BigEndian.Uint64(p)] = binary.BigEndian.Uint64(p[8:])
	}
	return out
}

// writeVerified replaces the list (a new file renamed over the old one).
func writeVerified(dir string, tables map[uint64]uint64) error {
	b := append([]byte{}, verifiedMagic...)
	for num, size := range tables {
		b = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, num), size)
	}
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	path := filepath.Join(dir, indexDirName, verifiedFileName)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// forgetVerified removes the list: the next start verifies every table.
func forgetVerified(dir string) {
	os.Remove(filepath.Join(dir, indexDirName, verifiedFileName))
}

// VerifyIndexTables verifies every block of every table file in the index of the stopped node's data
// directory dir, whether or not a start verified it before (`dossier node check`). It returns how many tables
// it read, and an error naming the first damaged one.
func VerifyIndexTables(dir string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, indexDirName, "*.sst"))
	if err != nil {
		return 0, err
	}
	for i, p := range paths {
		if err := verifyTable(p); err != nil {
			return i, fmt.Errorf("kurrentnode: event index damaged (the next start rebuilds it from the log): %w", err)
		}
	}
	return len(paths), nil
}

func verifyTable(path string) error {
	f, err := vfs.Default.Open(path)
	if err != nil {
		return err
	}
	readable, err := sstable.NewSimpleReadable(f)
	if err != nil {
		f.Close()
		return err
	}
	r, err := sstable.NewReader(context.Background(), readable, sstable.ReaderOptions{})
	if err != nil {
		readable.Close()
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	err = r.ValidateBlockChecksums()
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

func putName(b []byte, prefix byte, name string) []byte {
	b = append(b, prefix)
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

func headKey(name string) []byte { return putName(nil, keyHead, name) }

func revKey(name string, rev int64) []byte {
	return binary.BigEndian.AppendUint64(putName(make([]byte, 0, len(name)+12), keyRev, name), uint64(rev))
}

func idKey(name string, id uuid.UUID) []byte {
	return append(putName(make([]byte, 0, len(name)+20), keyID, name), id[:]...)
}

func allKey(pos uint64) []byte { return binary.BigEndian.AppendUint64([]byte{keyAll}, pos) }

var checkpointKey = []byte{keyCheckpoint}

// streamHead is what the index keeps about a stream as a whole.
type streamHead struct {
	last     int64  // last revision; -1: none
	tomb     uint64 // position of the tombstone; 0: none
	metaKind byte   // 0: no metadata written; 1: JSON; 2: not JSON
	metaRaw  []byte // the current metadata as written
}

func newHead() *streamHead { return &streamHead{last: -1} }

func (h *streamHead) encode() []byte {
	b := make([]byte, 0, 17+len(h.metaRaw))
	b = binary.BigEndian.AppendUint64(b, uint64(h.last+1))
	b = binary.BigEndian.AppendUint64(b, h.tomb)
	b = append(b, h.metaKind)
	return append(b, h.metaRaw...)
}

func decodeHead(v []byte) (*streamHead, error) {
	if len(v) < 17 {
		return nil, fmt.Errorf("kurrentnode: index: stream head of %d bytes: %w", len(v), pebble.ErrCorruption)
	}
	return &streamHead{last: int64(binary.BigEndian.Uint64(v)) - 1, tomb: binary.BigEndian.Uint64(v[8:]),
		metaKind: v[16], metaRaw: append([]byte(nil), v[17:]...)}, nil
}

// meta returns the metadata the node enforces on the stream. Metastreams themselves keep one event.
func (h *streamHead) meta(stream string) (streamMeta, []byte) {
	if isMetastream(stream) {
		return streamMeta{maxCount: 1, tb: -1}, nil
	}
	if h.metaKind == 0 {
		return noMeta, nil
	}
	return parseMeta(h.metaKind == 1, h.metaRaw), h.metaRaw
}

// revEntry is the value of an s key.
type revEntry struct {
	pos  uint64
	size uint32
	id   uuid.UUID
}

func (e revEntry) encode() []byte {
	b := make([]byte, 0, 28)
	b = binary.BigEndian.AppendUint64(b, e.pos)
	b = binary.BigEndian.AppendUint32(b, e.size)
	return append(b, e.id[:]...)
}

func decodeRev(v []byte) (revEntry, error) {
	if len(v) != 28 {
		return revEntry{}, fmt.Errorf("kurrentnode: index: revision entry of %d bytes: %w", len(v), pebble.ErrCorruption)
	}
	var e revEntry
	e.pos, e.size = binary.BigEndian.Uint64(v), binary.BigEndian.Uint32(v[8:])
	copy(e.id[:], v[12:])
	return e, nil
}

// checkpoint is how far the index reflects the log: the last group it holds starts at group and ends at end
// (group is 0 when the index reflects an empty log).
type checkpoint struct{ group, end uint64 }

func (c checkpoint) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, c.group), c.end)
}

// get returns a copy of the value of key, or nil when it is absent.
func dbGet(db *pebble.DB, key []byte) ([]byte, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kurrentnode: index: %w", err)
	}
	out := append([]byte{}, v...)
	return out, closer.Close()
}

func readCheckpoint(db *pebble.DB) (checkpoint, bool, error) {
	v, err := dbGet(db, checkpointKey)
	if err != nil || v == nil {
		return checkpoint{}, false, err
	}
	if len(v) != 16 {
		return checkpoint{}, false, nil
	}
	return checkpoint{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, true, nil
}

// overlay is the writer's view of one group being built: the index entries of its records, read before the
// index itself, and written to it in one batch once the group is synced.
type overlay struct {
	db   *pebble.DB
	kv   map[string][]byte
	recs int
}

func (o *overlay) reset() {
	clear(o.kv)
	o.recs = 0
}

func (o *overlay) get(key []byte) ([]byte, error) {
	if v, ok := o.kv[string(key)]; ok {
		return v, nil
	}
	return dbGet(o.db, key)
}

func (o *overlay) head(stream string) (*streamHead, error) {
	v, err := o.get(headKey(stream))
	if err != nil || v == nil {
		return newHead(), err
	}
	return decodeHead(v)
}

func (o *overlay) entry(stream string, rev int64) (revEntry, error) {
	v, err := o.get(revKey(stream, rev))
	if err != nil {
		return revEntry{}, err
	}
	if v == nil {
		return revEntry{}, fmt.Errorf("kurrentnode: index: %q has no revision %d: %w", stream, rev, pebble.ErrCorruption)
	}
	return decodeRev(v)
}

func (o *overlay) findID(stream string, id uuid.UUID) (int64, bool, error) {
	v, err := o.get(idKey(stream, id))
	if err != nil || v == nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("kurrentnode: index: id entry of %d bytes: %w", len(v), pebble.ErrCorruption)
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// add indexes one record of the group.
func (o *overlay) add(r *record) error {
	o.recs++
	size := uint32(r.size())
	o.kv[string(allKey(r.Pos))] = binary.BigEndian.AppendUint32(nil, size)
	h, err := o.head(r.Stream)
	if err != nil {
		return err
	}
	if r.Type == tombstoneType && r.Revision == deletedRevision {
		h.tomb = r.Pos
		o.kv[string(headKey(r.Stream))] = h.encode()
		return nil
	}
	h.last = int64(r.Revision)
	o.kv[string(headKey(r.Stream))] = h.encode()
	o.kv[string(revKey(r.Stream, int64(r.Revision)))] = revEntry{pos: r.Pos, size: size, id: r.ID}.encode()
	o.kv[string(idKey(r.Stream, r.ID))] = binary.BigEndian.AppendUint64(nil, r.Revision)
	if isMetastream(r.Stream) {
		base := r.Stream[len(metaPrefix):]
		bh, err := o.head(base)
		if err != nil {
			return err
		}
		bh.metaKind, bh.metaRaw = 2, append([]byte{}, r.Data...)
		if r.JSON {
			bh.metaKind = 1
		}
		o.kv[string(headKey(base))] = bh.encode()
	}
	return nil
}

// commit writes the group's entries and the new checkpoint in one batch (no sync, no WAL: the log is the truth).
func (o *overlay) commit(cp checkpoint) error {
	b := o.db.NewBatch()
	defer b.Close()
	for k, v := range o.kv {
		if err := b.Set([]byte(k), v, nil); err != nil {
			return err
		}
	}
	if err := b.Set(checkpointKey, cp.encode(), nil); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}
