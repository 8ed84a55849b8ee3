package kurrentnode

import (
	"bytes"
	"encoding/binary"
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
		"`dossier node check --data DIR`; `dossier node repair --data DIR` sets the damaged segment aside and cuts the log at %d",
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

	Segments   int  // segments whose header verified
	Sealed     int  // of which sealed
	Verified   int  // segments whose every group was verified (the others: header and seal only)
	LastSealed bool // the last segment is sealed (a crash between its seal and the next segment's creation)
	// The groups and records of the last segment, when it is not sealed (what its seal will count).
	SegGroups, SegRecords uint32
}

// scanLogFrom verifies the log for a start with a persisted index that reflects it up to indexed, calling fn for
// every record after that in order (fn must not keep the record's byte slices: the buffer is reused; read errors
// are errors, damage is reported in the result, not as an error): a sealed
// segment that is not the last and whose seal lies at or before indexed is verified by its header and seal
// alone (not read); in the other segments every group is verified (frame and checksum), but the groups that end
// at or before indexed are neither decoded nor passed to fn (nor counted in Records and Appends); group is
// called after the records of every other valid group with the group's offset and end.
func scanLogFrom(l *segLog, indexed int64, fn func(record) error, group func(off, end int64) error) (scanResult, error) {
	return scanSegments(l, indexed, true, fn, group)
}

// scanSegments is scanLogFrom; with openEnded false, every segment must be sealed (none is the one being
// written), and a last segment that is not is damage, never a torn write.
func scanSegments(l *segLog, indexed int64, openEnded bool, fn func(record) error, group func(off, end int64) error) (scanResult, error) {
	segs := l.list()
	res := scanResult{}
	for i, sg := range segs {
		last := openEnded && i == len(segs)-1
		if sg.base != res.End {
			reason := fmt.Sprintf("log segment %s starts at %d, but the log before it ends at %d (a segment is missing or misplaced)", segName(sg.base), sg.base, res.End)
			return damagedLog(l, res, res.End, reason)
		}
		if !last && sg.base+sg.size-sealSize <= indexed {
			if s, ok := readSegEnds(sg); ok {
				res.Segments++
				res.Sealed++
				res.Groups += int(s.groups)
				res.End = sg.base + sg.size
				continue
			}
			// Not sealed as it should be: the full scan below finds where it goes wrong.
		}
		stop, err := scanSegment(l, sg, last, indexed, fn, group, &res)
		if err != nil || stop {
			return res, err
		}
	}
	return res, nil
}

// readSegEnds reads a sealed segment's header and seal (two small reads), and returns the seal.
func readSegEnds(sg *segment) (seal, bool) {
	if sg.size < segHeaderSize+sealSize {
		return seal{}, false
	}
	b := make([]byte, segHeaderSize)
	if _, err := sg.f.ReadAt(b, 0); err != nil || !segHeaderOK(b, sg.base) {
		return seal{}, false
	}
	if _, err := sg.f.ReadAt(b[:sealSize], sg.size-sealSize); err != nil {
		return seal{}, false
	}
	return parseSeal(b[:sealSize], sg.base+sg.size-sealSize)
}

// scanSegment verifies one segment group by group (see scanLogFrom), updating res; stop is true when the scan
// ends there (damage, or a torn last group).
func scanSegment(l *segLog, sg *segment, last bool, indexed int64, fn func(record) error, group func(off, end int64) error, res *scanResult) (bool, error) {
	size := sg.base + sg.size // the segment's end, as a global offset
	view := segView{sg}
	name := segName(sg.base)
	var err error
	var groups, records uint32 // in this segment, before off
	torn := func(off int64, why string) (bool, error) {
		if !last {
			*res, err = damagedLog(l, *res, off, fmt.Sprintf("log segment %s is not the last one, yet %s", name, why))
			return true, err
		}
		res.End, res.Torn = off, size-off
		res.SegGroups, res.SegRecords = groups, records
		return true, nil
	}
	damage := func(off int64, reason string) (bool, error) {
		*res, err = damagedLog(l, *res, off, reason)
		return true, err
	}
	hb := make([]byte, segHeaderSize)
	if sg.size >= segHeaderSize {
		if _, err := sg.f.ReadAt(hb, 0); err != nil {
			return true, fmt.Errorf("kurrentnode: read log segment %s: %w", name, err)
		}
	}
	if sg.size < segHeaderSize || !segHeaderOK(hb, sg.base) {
		if last && sg.size <= segHeaderSize {
			return torn(sg.base, "its header is torn") // a crash while the segment was created: no group in it
		}
		if string(hb[:legacyMagicSize]) == legacyMagicV2 || string(hb[:legacyMagicSize]) == legacyMagicV1 {
			return true, errOldFormat
		}
		return damage(sg.base, fmt.Sprintf("header of log segment %s does not verify", name))
	}
	res.Segments++
	res.Verified++
	res.End = sg.base + segHeaderSize
	rd := &logReader{f: view, size: size}
	for off := res.End; off < size; {
		if size-off < groupHeaderSize {
			return torn(off, fmt.Sprintf("%d bytes at %d do not hold a group header", size-off, off))
		}
		hb, err := rd.bytes(off, groupHeaderSize)
		if err != nil {
			return true, err
		}
		if s, ok := parseSeal(hb, off); ok {
			switch {
			case off+sealSize != size:
				return damage(off, fmt.Sprintf("%d bytes follow the seal of log segment %s", size-off-sealSize, name))
			case s.groups != groups || s.records != records:
				return damage(off, fmt.Sprintf("the seal of log segment %s counts %d groups and %d records, the segment holds %d and %d", name, s.groups, s.records, groups, records))
			}
			res.Sealed++
			res.End = size
			res.LastSealed = last
			return false, nil
		}
		h, ok := parseGroupHeader(hb, off)
		if !ok {
			if !last {
				return damage(off, "group header does not verify")
			}
			next, err := findGroupHeader(view, off+1, size)
			if err != nil {
				return true, err
			}
			endSeal := make([]byte, sealSize)
			sealed := false
			if size-sealSize > off {
				if _, err := sg.f.ReadAt(endSeal, sg.size-sealSize); err == nil {
					_, sealed = parseSeal(endSeal, size-sealSize)
				}
			}
			switch {
			case next >= 0:
				return damage(off, fmt.Sprintf("group header does not verify, next valid group at %d", next))
			case sealed:
				return damage(off, "group header does not verify, and the segment is sealed after it")
			case size-off > maxGroupSpan:
				return damage(off, fmt.Sprintf("group header does not verify and %d bytes follow without another", size-off))
			}
			return torn(off, "")
		}
		end := off + groupHeaderSize + int64(h.length)
		if end > size {
			return torn(off, fmt.Sprintf("its group at %d reaches past its end", off))
		}
		body, err := rd.bytes(off+groupHeaderSize, int(h.length))
		if err != nil {
			return true, err
		}
		if crc32.Checksum(body, crcTable) != h.crc {
			if end == size {
				return torn(off, fmt.Sprintf("its last group at %d fails its checksum", off))
			}
			return damage(off, "group checksum mismatch")
		}
		groups++
		records += h.count
		if end <= indexed {
			res.Groups++
			off = end
			res.End = off
			continue
		}
		recs, appends, reason := decodeGroup(body, uint64(off+groupHeaderSize), h.count)
		if reason != "" {
			return damage(off, reason)
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return true, err
			}
		}
		if group != nil {
			if err := group(off, end); err != nil {
				return true, err
			}
		}
		res.Groups++
		res.Records += len(recs)
		res.Appends += appends
		off = end
		res.End = off
	}
	if !last {
		return damage(size, fmt.Sprintf("log segment %s is not the last one, yet it ends without a seal", name))
	}
	res.SegGroups, res.SegRecords = groups, records
	return false, nil
}

// logReader reads the log forwards through a 4 MiB window, so that a scan of many small groups costs one
// read per window rather than two per group.
type logReader struct {
	f     io.ReaderAt
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
func findGroupHeader(f io.ReaderAt, from, size int64) (int64, error) {
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

// damagedLog completes res with the damage found at off, and describes what lies from off to the end of the
// log: the readable records of the damaged group (each has its own checksum) and of every valid group after it,
// in every segment.
func damagedLog(l *segLog, res scanResult, off int64, reason string) (scanResult, error) {
	d := &LogDamage{Offset: off, Reason: reason}
	streams := map[string]bool{}
	for _, sg := range l.list() {
		from, to := max(off, sg.base+segHeaderSize), sg.base+sg.size
		if to <= from {
			continue
		}
		if to-from >= sealSize {
			b := make([]byte, sealSize)
			if _, err := sg.f.ReadAt(b, sg.size-sealSize); err == nil {
				if _, ok := parseSeal(b, to-sealSize); ok {
					to -= sealSize
				}
			}
		}
		if err := describe(segView{sg}, from, to, d, streams); err != nil {
			return scanResult{}, err
		}
	}
	for s := range streams {
		d.Streams = append(d.Streams, s)
	}
	slices.Sort(d.Streams)
	res.End, res.Damage = off, d
	return res, nil
}

// describe counts into d the readable records from off to size (global offsets, within one segment).
func describe(f io.ReaderAt, off, size int64, d *LogDamage, streams map[string]bool) error {
	hb := make([]byte, groupHeaderSize)
	at := off
	for at < size {
		var h groupHeader
		ok := false
		if size-at >= groupHeaderSize {
			if _, err := f.ReadAt(hb, at); err != nil {
				return fmt.Errorf("kurrentnode: read log at %d: %w", at, err)
			}
			h, ok = parseGroupHeader(hb, at)
		}
		next := min(size, at+groupHeaderSize+int64(h.length))
		if !ok {
			var err error
			if next, err = findGroupHeader(f, at+1, size); err != nil {
				return err
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
			return fmt.Errorf("kurrentnode: read log at %d: %w", start, err)
		}
		for rel := 0; rel < len(b); {
			r, n, err := decodeRecord(b[rel:], uint64(start)+uint64(rel))
			if err != nil {
				d.Undecodable++
				break // a record's length cannot be trusted after a bad one: resume at the next group
			}
			d.Events++
			streams[r.Stream] = true
			rel += n
		}
		at = next
	}
	return nil
}
