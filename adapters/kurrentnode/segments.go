package kurrentnode

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Log segments (issue 13). The log is a sequence of segment files in the data directory, each named by the
// global byte offset of its first byte (`events-<20 digits>.log`), so that positions stay global byte offsets:
// a record's position is its segment's base plus its offset in the file, and segment k+1 starts exactly where
// segment k ends. A segment starts with a 32-byte header:
//
//	magic "DOSSIER-KSEG-v3\n" | base u64 (the segment's own base) | reserved u32 (0) | crc32c(the 28 bytes before) u32
//
// then holds whole group commits (a group never straddles two segments). Once a segment holds at least
// SegmentBytes (256 MiB by default), the writer seals it before the next group: it writes a 32-byte seal at
// its end and fdatasyncs it, then creates the next segment (header written and synced, directory synced). The
// seal (big-endian):
//
//	magic u32 "KSEL" | offset u64 (the seal's own global offset) | groups u32 | records u32 |
//	reserved u64 (0) | crc32c(the 28 bytes before) u32
//
// Only the last segment is ever written; every other one is sealed and immutable. Start-up verifies every byte of
// the segments that hold groups after the index checkpoint (in practice the last one) and, for the older ones,
// only their header, their seal and that each starts where the one before ends: start-up time no longer grows
// with the log. `dossier node check` still verifies every record of every segment (and may run while the node
// runs, on the sealed ones).
const (
	segMagic        = "DOSSIER-KSEG-v3\n"
	segHeaderSize   = 32
	sealMagic       = uint32(0x4b53454c) // "KSEL"
	sealSize        = 32
	segPrefix       = "events-"
	segSuffix       = ".log"
	segDigits       = 20
	legacyLogName   = "events.log" // format v1 and v2: one file
	legacyMagicV2   = "DOSSIER-KLOG-v2\n"
	legacyMagicV1   = "DOSSIER-KLOG-v1\n"
	legacyMagicSize = 16
)

// SegmentBytes is the default size at which a log segment is sealed (a segment ends with the first group that
// reaches it, so it may exceed it by one group).
const SegmentBytes = 256 << 20

// errOldFormat: logs written before segments (one events.log file, formats v1 and v2) are not read: no
// production data exists in those formats.
var errOldFormat = errors.New("kurrentnode: event log written by an older Dossier (one events.log file, format v1 or v2, before log segments), which this version does not read; no production data exists in those formats: move the data directory aside and start with an empty one")

// segName is the file name of the segment starting at base.
func segName(base int64) string {
	return fmt.Sprintf("%s%0*d%s", segPrefix, segDigits, base, segSuffix)
}

// parseSegName returns the base of a segment file name; ok is false for any other name (copies set aside by
// a repair included).
func parseSegName(name string) (int64, bool) {
	digits, found := strings.CutPrefix(name, segPrefix)
	digits, found2 := strings.CutSuffix(digits, segSuffix)
	if !found || !found2 || len(digits) != segDigits {
		return 0, false
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	return base, err == nil && base >= 0
}

func putSegHeader(b []byte, base int64) {
	copy(b, segMagic)
	binary.BigEndian.PutUint64(b[16:], uint64(base))
	binary.BigEndian.PutUint32(b[24:], 0)
	binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], crcTable))
}

func segHeaderOK(b []byte, base int64) bool {
	return len(b) >= segHeaderSize && string(b[:16]) == segMagic &&
		binary.BigEndian.Uint64(b[16:]) == uint64(base) &&
		crc32.Checksum(b[:28], crcTable) == binary.BigEndian.Uint32(b[28:])
}

// seal is the decoded seal of a segment.
type seal struct {
	offset  int64
	groups  uint32
	records uint32
}

func putSeal(b []byte, s seal) {
	binary.BigEndian.PutUint32(b[0:], sealMagic)
	binary.BigEndian.PutUint64(b[4:], uint64(s.offset))
	binary.BigEndian.PutUint32(b[12:], s.groups)
	binary.BigEndian.PutUint32(b[16:], s.records)
	binary.BigEndian.PutUint64(b[20:], 0)
	binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], crcTable))
}

// parseSeal decodes the seal in b found at global offset off; ok is false unless it is a valid seal written at
// that very offset.
func parseSeal(b []byte, off int64) (seal, bool) {
	if len(b) < sealSize || binary.BigEndian.Uint32(b[0:]) != sealMagic ||
		crc32.Checksum(b[:28], crcTable) != binary.BigEndian.Uint32(b[28:]) ||
		binary.BigEndian.Uint64(b[4:]) != uint64(off) {
		return seal{}, false
	}
	return seal{offset: off, groups: binary.BigEndian.Uint32(b[12:]), records: binary.BigEndian.Uint32(b[16:])}, true
}

// segment is one file of the log.
type segment struct {
	base int64
	f    logFile
	path string // "" in memory
	size int64  // bytes in the file when the log was opened (scans); the writer tracks the last one itself
}

// segLog is the log as a logFile over global offsets: reads go to the segment holding the offset, writes, syncs
// and truncations to the last one. Readers run concurrently with the writer adding a segment: the list is
// replaced, never changed in place.
type segLog struct {
	dir      string // "" in memory
	readOnly bool
	segs     atomic.Pointer[[]*segment]
}

// openSegLog opens the segments of dir ("" for in memory, empty). A log in the single-file formats is
// refused with errOldFormat.
func openSegLog(dir string, readOnly bool) (*segLog, error) {
	l := &segLog{dir: dir, readOnly: readOnly}
	var segs []*segment
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, legacyLogName)); err == nil {
			return nil, errOldFormat
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("kurrentnode: read data dir: %w", err)
		}
		for _, e := range entries {
			base, ok := parseSegName(e.Name())
			if !ok || !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			flag := os.O_RDWR
			if readOnly {
				flag = os.O_RDONLY
			}
			f, err := os.OpenFile(path, flag, 0)
			if err != nil {
				closeSegs(segs)
				return nil, fmt.Errorf("kurrentnode: open log segment: %w", err)
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				closeSegs(segs)
				return nil, fmt.Errorf("kurrentnode: open log segment: %w", err)
			}
			segs = append(segs, &segment{base: base, f: diskFile{f}, path: path, size: st.Size()})
		}
		slices.SortFunc(segs, func(a, b *segment) int { return cmp.Compare(a.base, b.base) })
	}
	l.segs.Store(&segs)
	return l, nil
}

func closeSegs(segs []*segment) {
	for _, s := range segs {
		s.f.Close()
	}
}

func (l *segLog) list() []*segment { return *l.segs.Load() }

func (l *segLog) last() *segment {
	segs := l.list()
	if len(segs) == 0 {
		return nil
	}
	return segs[len(segs)-1]
}

// end is where the log ends on disk (as opened, or after the writer's changes it made through this type).
func (l *segLog) end() int64 {
	if s := l.last(); s != nil {
		return s.base + s.size
	}
	return 0
}

// find returns the index of the segment holding global offset off (the last one starting at or before it).
func (l *segLog) find(segs []*segment, off int64) int {
	i, found := slices.BinarySearchFunc(segs, off, func(s *segment, off int64) int {
		return cmp.Compare(s.base, off)
	})
	if found {
		return i
	}
	return i - 1
}

func (l *segLog) ReadAt(p []byte, off int64) (int, error) {
	segs := l.list()
	i := l.find(segs, off)
	if i < 0 {
		return 0, fmt.Errorf("kurrentnode: no log segment holds offset %d", off)
	}
	n := 0
	for ; n < len(p); i++ {
		if i >= len(segs) {
			return n, io.EOF
		}
		s := segs[i]
		at := off + int64(n) - s.base
		if at < 0 { // a gap between segments
			return n, io.EOF
		}
		k, err := s.f.ReadAt(p[n:], at)
		n += k
		if err != nil && err != io.EOF {
			return n, err
		}
		if n < len(p) && err == nil {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

// WriteAt writes to the last segment (the only one ever written).
func (l *segLog) WriteAt(p []byte, off int64) (int, error) {
	s := l.last()
	if s == nil || off < s.base {
		return 0, fmt.Errorf("kurrentnode: write at %d outside the last log segment", off)
	}
	n, err := s.f.WriteAt(p, off-s.base)
	if end := off + int64(n) - s.base; end > s.size {
		s.size = end
	}
	return n, err
}

func (l *segLog) Sync() error {
	if s := l.last(); s != nil {
		return s.f.Sync()
	}
	return nil
}

// Truncate cuts the last segment so that the log ends at size (within it).
func (l *segLog) Truncate(size int64) error {
	s := l.last()
	if s == nil || size < s.base {
		return fmt.Errorf("kurrentnode: cut at %d outside the last log segment", size)
	}
	if err := s.f.Truncate(size - s.base); err != nil {
		return err
	}
	s.size = size - s.base
	return nil
}

func (l *segLog) Close() error {
	var err error
	for _, s := range l.list() {
		err = errors.Join(err, s.f.Close())
	}
	return err
}

// create starts a new last segment at base: its header written and synced, and the directory synced.
func (l *segLog) create(base int64) error {
	var f logFile = &memFile{}
	path := ""
	if l.dir != "" {
		path = filepath.Join(l.dir, segName(base))
		df, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("kurrentnode: create log segment: %w", err)
		}
		f = diskFile{df}
	}
	var h [segHeaderSize]byte
	putSegHeader(h[:], base)
	_, err := f.WriteAt(h[:], 0)
	if err == nil && path != "" {
		err = f.(diskFile).File.Sync() // fsync: the new file's size and inode, not only its data
	}
	if err == nil && path != "" {
		err = syncDir(l.dir)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("kurrentnode: create log segment at %d: %w", base, err)
	}
	segs := append(slices.Clone(l.list()), &segment{base: base, f: f, path: path, size: segHeaderSize})
	l.segs.Store(&segs)
	return nil
}

// dropLast removes the last segment (a file torn while it was being created: no group in it).
func (l *segLog) dropLast() error {
	segs := l.list()
	s := segs[len(segs)-1]
	s.f.Close()
	if s.path != "" {
		if err := os.Remove(s.path); err != nil {
			return fmt.Errorf("kurrentnode: remove torn log segment: %w", err)
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	segs = slices.Clone(segs[:len(segs)-1])
	l.segs.Store(&segs)
	return nil
}

// segView reads one segment through global offsets (what the group scanner and damage report read).
type segView struct{ s *segment }

func (v segView) ReadAt(p []byte, off int64) (int, error) { return v.s.f.ReadAt(p, off-v.s.base) }

// pathAt names the segment holding global offset off (for messages; in memory, the segment's name).
func (l *segLog) pathAt(off int64) string {
	segs := l.list()
	i := l.find(segs, off)
	if i < 0 {
		return l.dir
	}
	if segs[i].path == "" {
		return segName(segs[i].base)
	}
	return segs[i].path
}
