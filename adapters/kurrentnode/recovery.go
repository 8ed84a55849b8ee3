package kurrentnode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
)

// Group frames. Every group commit starts with a 32-byte header (big-endian):
//
//	magic u32 "KGRP" | offset u64 (the header's own file offset) | length u32 (bytes of records after it) |
//	count u32 (records) | crc32c(records) u32 | reserved u32 (0) | crc32c(the 28 bytes before) u32
//
// The writer has at most one group in flight: it writes the next group only once the previous one is synced,
// and after a failed write or sync it cuts the file back to where the failed group started. So after a crash
// only the LAST group can be incomplete, and recovery tells a torn last group from damage by its frame:
//
//   - a group whose header is valid but that reaches past the end of the file, or whose records fail the group
//     checksum while it ends exactly at the end of the file, is the group that was being written: it was never
//     acknowledged and is cut off;
//   - a header that does not verify is a torn last group only if no valid group header follows it anywhere in
//     the file (a header names its own offset, so stale or copied bytes do not pass for one) and what follows is
//     no longer than one group can be;
//   - anything else (a group failing its checksum with more log after it, a bad header followed by a good one,
//     a record that does not decode inside a group that passes its checksum) is damage: the node refuses to
//     start, naming the offset and the streams whose events lie at or after it (LogDamage), and only
//     `dossier node repair` cuts it.
//
// What frames alone cannot tell apart: damage confined to the last group (or a file cut short) looks exactly
// like a crash during its write. After a clean stop the clean-stop mark (cleanmark.go) turns it into damage;
// after a crash it is cut as a torn write.
const groupMagic uint32 = 0x4b475250 // "KGRP"

const (
	groupHeaderSize = 32
	// maxGroupSpan bounds a whole group (header and records): a group holds at most maxGroupBytes of estimated
	// size, or one append alone; a tail longer than this without any header cannot be one torn group.
	maxGroupSpan = 2 * maxGroupBytes
)

// groupHeader is the decoded frame of one group commit.
type groupHeader struct {
	offset uint64
	length uint32
	count  uint32
	crc    uint32
}

// putGroupHeader fills the first groupHeaderSize bytes of b for a group at offset whose records are
// b[groupHeaderSize:].
func putGroupHeader(b []byte, offset uint64, count int) {
	body := b[groupHeaderSize:]
	binary.BigEndian.PutUint32(b[0:], groupMagic)
	binary.BigEndian.PutUint64(b[4:], offset)
	binary.BigEndian.PutUint32(b[12:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[16:], uint32(count))
	binary.BigEndian.PutUint32(b[20:], crc32.Checksum(body, crcTable))
	binary.BigEndian.PutUint32(b[24:], 0)
	binary.BigEndian.PutUint32(b[28:], crc32.Checksum(b[:28], crcTable))
}

// parseGroupHeader decodes the header in b (at least groupHeaderSize bytes) found at offset off; ok is false
// unless it is a valid header written at that very offset.
func parseGroupHeader(b []byte, off int64) (groupHeader, bool) {
	if binary.BigEndian.Uint32(b[0:]) != groupMagic ||
		crc32.Checksum(b[:28], crcTable) != binary.BigEndian.Uint32(b[28:]) ||
		binary.BigEndian.Uint64(b[4:]) != uint64(off) {
		return groupHeader{}, false
	}
	return groupHeader{
		offset: uint64(off),
		length: binary.BigEndian.Uint32(b[12:]),
		count:  binary.BigEndian.Uint32(b[16:]),
		crc:    binary.BigEndian.Uint32(b[20:]),
	}, true
}

// errOldFormat: logs written before group frames are not read (no production data exists in that format).
var errOldFormat = errors.New("kurrentnode: event log written by an older Dossier (format v1, without group frames), which this version does not read; no production data exists in that format: move the data directory aside and start with an empty one")

// LogDamage reports damage in the event log that is not a torn last group: recovery refuses to start on it.
type LogDamage struct {
	Path   string
	Offset int64  // where the damaged group starts: cutting the log there drops everything after
	Reason string // what failed to verify
	// Events and Streams describe what lies at or after Offset and can still be decoded (what a cut drops);
	// Undecodable counts the records there that fail their own checksum.
	Events      int
	Undecodable int
	Streams     []string
}

func (d *LogDamage) Error() string {
	names := d.Streams
	more := ""
	if len(names) > 10 {
		names, more = names[:10], fmt.Sprintf(" and %d more", len(d.Streams)-10)
	}
	return fmt.Sprintf("kurrentnode: event log %s damaged at offset %d (%s), not a torn last write: %d readable events "+
		"of %d streams (%s%s) and %d unreadable records lie at or after it; refusing to start. Inspect with "+
		"`dossier node check --data DIR`; `dossier node repair --data DIR` copies the file aside and cuts it at %d",
		d.Path, d.Offset, d.Reason, d.Events, len(d.Streams), strings.Join(names, ", "), more, d.Undecodable, d.Offset)
}

// scanResult is what a scan of the log found.
type scanResult struct {
	End     int64 // where the valid log ends
	Torn    int64 // bytes after End left by a torn last write (to be cut)
	Groups  int
	Records int
	Appends int
	Damage  *LogDamage // damage other than a torn last group; End is then its offset
}

// scanLog reads the whole log group by group, calling fn for every record of every valid group in order (fn
// must not keep the record's byte slices: the buffer is reused). It returns errOldFormat or a read error as an
// error; damage is reported in the result, not as an error.
func scanLog(f logFile, size int64, fn func(record) error) (scanResult, error) {
	return scanLogFrom(f, size, int64(logHeaderSize), fn, nil)
}

// scanLogFrom is scanLog for a start with a persisted index that reflects the log up to indexed: every group
// is verified (frame and checksum) as by scanLog, but the groups that end at or before indexed are neither
// decoded nor passed to fn (nor counted in Records and Appends); group is called after the records of every
// other valid group with the group's offset and end.
func scanLogFrom(f logFile, size, indexed int64, fn func(record) error, group func(off, end int64) error) (scanResult, error) {
	if size == 0 {
		return scanResult{}, nil
	}
	head := make([]byte, logHeaderSize)
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != logMagic {
		switch {
		case size < int64(logHeaderSize) && string(head[:size]) == logMagic[:size]:
			return scanResult{Torn: size}, nil // crash while creating the file
		case string(head) == logMagicV1:
			return scanResult{}, errOldFormat
		}
		return scanResult{}, fmt.Errorf("kurrentnode: not a Dossier event log (bad header)")
	}
	res := scanResult{End: int64(logHeaderSize)}
	rd := &logReader{f: f, size: size}
	for off := int64(logHeaderSize); off < size; {
		torn := func() (scanResult, error) {
			res.End, res.Torn = off, size-off
			return res, nil
		}
		if size-off < groupHeaderSize {
			return torn()
		}
		hb, err := rd.bytes(off, groupHeaderSize)
		if err != nil {
			return scanResult{}, err
		}
		h, ok := parseGroupHeader(hb, off)
		if !ok {
			next, err := findGroupHeader(f, off+1, size)
			if err != nil {
				return scanResult{}, err
			}
			switch {
			case next >= 0:
				return damaged(f, size, res, off, fmt.Sprintf("group header does not verify, next valid group at %d", next))
			case size-off > maxGroupSpan:
				return damaged(f, size, res, off, fmt.Sprintf("group header does not verify and %d bytes follow without another", size-off))
			}
			return torn()
		}
		end := off + groupHeaderSize + int64(h.length)
		if end > size {
			return torn()
		}
		body, err := rd.bytes(off+groupHeaderSize, int(h.length))
		if err != nil {
			return scanResult{}, err
		}
		if crc32.Checksum(body, crcTable) != h.crc {
			if end == size {
				return torn()
			}
			return damaged(f, size, res, off, "group checksum mismatch")
		}
		if end <= indexed {
			res.Groups++
			off = end
			res.End = off
			continue
		}
		recs, appends, reason := decodeGroup(body, uint64(off+groupHeaderSize), h.count)
		if reason != "" {
			return damaged(f, size, res, off, reason)
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return scanResult{}, err
			}
		}
		if group != nil {
			if err := group(off, end); err != nil {
				return scanResult{}, err
			}
		}
		res.Groups++
		res.Records += len(recs)
		res.Appends += appends
		off = end
		res.End = off
	}
	return res, nil
}

// logReader reads the log forwards through a 4 MiB window, so that a scan of many small groups costs one
// read per window rather than two per group.
type logReader struct {
	f     logFile
	size  int64
	buf   []byte
	start int64
}

// bytes returns the n bytes at off (which the caller knows lie within the file), valid until the next call.
func (r *logReader) bytes(off int64, n int) ([]byte, error) {
	if off >= r.start && off+int64(n) <= r.start+int64(len(r.buf)) {
		return r.buf[off-r.start : off-r.start+int64(n)], nil
	}
	want := min(max(int64(n), 4<<20), r.size-off)
	if want < int64(n) {
		return nil, fmt.Errorf("kurrentnode: read log at %d: %w", off, io.ErrUnexpectedEOF)
	}
	if int64(cap(r.buf)) < want {
		r.buf = make([]byte, want)
	}
	r.buf, r.start = r.buf[:want], off
	if _, err := r.f.ReadAt(r.buf, off); err != nil && err != io.EOF {
		r.buf = r.buf[:0]
		return nil, fmt.Errorf("kurrentnode: read log at %d: %w", off, err)
	}
	return r.buf[:n], nil
}

// decodeGroup decodes the records of a group whose checksum passed, at position pos; reason says why it is
// not a valid group ("" when it is).
func decodeGroup(body []byte, pos uint64, count uint32) (recs []record, appends int, reason string) {
	recs = make([]record, 0, count)
	for rel := 0; rel < len(body); {
		r, n, err := decodeRecord(body[rel:], pos+uint64(rel))
		if err != nil {
			return nil, 0, fmt.Sprintf("record at %d does not decode", pos+uint64(rel))
		}
		recs = append(recs, r)
		if r.Commit {
			appends++
		}
		rel += n
	}
	switch {
	case len(recs) == 0 || uint32(len(recs)) != count:
		return nil, 0, fmt.Sprintf("group holds %d records, its header says %d", len(recs), count)
	case !recs[len(recs)-1].Commit:
		return nil, 0, "group ends inside an append"
	}
	return recs, appends, ""
}

// findGroupHeader returns the offset of the first valid group header at or after from, or -1.
func findGroupHeader(f logFile, from, size int64) (int64, error) {
	const chunk = 4 << 20
	magic := binary.BigEndian.AppendUint32(nil, groupMagic)
	buf := make([]byte, chunk+groupHeaderSize)
	for start := from; start < size; start += chunk {
		n := min(int64(len(buf)), size-start)
		b := buf[:n]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, fmt.Errorf("kurrentnode: read log at %d: %w", start, err)
		}
		for i := 0; i < len(b) && i < chunk; {
			k := bytes.Index(b[i:], magic)
			if k < 0 || i+k >= chunk {
				break
			}
			i += k
			if i+groupHeaderSize <= len(b) {
				if _, ok := parseGroupHeader(b[i:], start+int64(i)); ok {
					return start + int64(i), nil
				}
			}
			i++
		}
	}
	return -1, nil
}

// damaged completes res with the damage found at off, and describes what lies from off to the end: the
// readable records of the damaged group (each has its own checksum) and of every valid group after it.
func damaged(f logFile, size int64, res scanResult, off int64, reason string) (scanResult, error) {
	d := &LogDamage{Offset: off, Reason: reason}
	streams := map[string]bool{}
	count := func(r record) {
		d.Events++
		streams[r.Stream] = true
	}
	hb := make([]byte, groupHeaderSize)
	at := off
	for at < size {
		var h groupHeader
		ok := false
		if size-at >= groupHeaderSize {
			if _, err := f.ReadAt(hb, at); err != nil {
				return scanResult{}, fmt.Errorf("kurrentnode: read log at %d: %w", at, err)
			}
			h, ok = parseGroupHeader(hb, at)
		}
		next := min(size, at+groupHeaderSize+int64(h.length))
		if !ok {
			var err error
			if next, err = findGroupHeader(f, at+1, size); err != nil {
				return scanResult{}, err
			}
			if next < 0 {
				next = size
			}
		}
		// Decode record by record from the start of the records (or of the bytes, without a header), at most
		// one group's worth at a time.
		start := at
		if ok {
			start += groupHeaderSize
		}
		next = min(next, start+maxGroupSpan)
		b := make([]byte, next-start)
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return scanResult{}, fmt.Errorf("kurrentnode: read log at %d: %w", start, err)
		}
		for rel := 0; rel < len(b); {
			r, n, err := decodeRecord(b[rel:], uint64(start)+uint64(rel))
			if err != nil {
				d.Undecodable++
				break // a record's length cannot be trusted after a bad one: resume at the next group
			}
			count(r)
			rel += n
		}
		at = next
	}
	for s := range streams {
		d.Streams = append(d.Streams, s)
	}
	slices.Sort(d.Streams)
	res.End, res.Damage = off, d
	return res, nil
}
