package kurrentnode

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/google/uuid"
)

// The log (segments.go) is a sequence of segment files holding group commits, each one write and one
// fdatasync of the writer, framed by a group header (see groupHeader) and holding whole records:
//
//	length uint32 BE | crc32c(body) uint32 BE | body
//
// A record's $all position is the global byte offset where its length field starts (its segment's base plus
// its offset in the file), so positions are strictly increasing in log order (with a gap of one group header
// between groups, and of a seal and a segment header between segments) and never 0 (the first segment's header
// occupies the first bytes). The body holds:
//
//	flags u8 | revision u64 | created i64 (100 ns ticks since the Unix epoch) | event id [16]byte |
//	uvarint len + stream | uvarint len + type | uvarint len + metadata | uvarint len + data
//
// flagCommit marks the last record of one append. An append never spans two groups, a group never spans two
// segments, and a group is kept or dropped whole, so a multi-event append is atomic even when a crash tears the
// last group.

const (
	recHeaderSize = 8
	bodyFixedSize = 1 + 8 + 8 + 16

	flagJSON   byte = 1 << 0
	flagCommit byte = 1 << 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is one event as stored in the log.
type record struct {
	Pos      uint64
	Stream   string
	Revision uint64
	Created  int64
	ID       uuid.UUID
	JSON     bool
	Commit   bool
	Type     string
	Metadata []byte
	Data     []byte
}

// size is the number of bytes the record occupies in the log.
func (r *record) size() int {
	return recHeaderSize + bodyFixedSize +
		uvarintLen(len(r.Stream)) + len(r.Stream) + uvarintLen(len(r.Type)) + len(r.Type) +
		uvarintLen(len(r.Metadata)) + len(r.Metadata) + uvarintLen(len(r.Data)) + len(r.Data)
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// appendRecord encodes r at the end of buf.
func appendRecord(buf []byte, r *record) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, recHeaderSize)...)
	var flags byte
	if r.JSON {
		flags |= flagJSON
	}
	if r.Commit {
		flags |= flagCommit
	}
	buf = append(buf, flags)
	buf = binary.BigEndian.AppendUint64(buf, r.Revision)
	buf = binary.BigEndian.AppendUint64(buf, uint64(r.Created))
	buf = append(buf, r.ID[:]...)
	for _, field := range [][]byte{[]byte(r.Stream), []byte(r.Type), r.Metadata, r.Data} {
		buf = binary.AppendUvarint(buf, uint64(len(field)))
		buf = append(buf, field...)
	}
	body := buf[start+recHeaderSize:]
	binary.BigEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(body, crcTable))
	return buf
}

var errBadRecord = errors.New("invalid log record")

// decodeRecord decodes the record at the start of b (which begins at position pos). It returns the number of
// bytes used, or errBadRecord / io.ErrUnexpectedEOF when b does not hold a whole valid record.
func decodeRecord(b []byte, pos uint64) (record, int, error) {
	if len(b) < recHeaderSize {
		return record{}, 0, io.ErrUnexpectedEOF
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < bodyFixedSize {
		return record{}, 0, errBadRecord
	}
	if len(b) < recHeaderSize+n {
		return record{}, 0, io.ErrUnexpectedEOF
	}
	body := b[recHeaderSize : recHeaderSize+n]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(b[4:]) {
		return record{}, 0, errBadRecord
	}
	r := record{Pos: pos}
	r.JSON = body[0]&flagJSON != 0
	r.Commit = body[0]&flagCommit != 0
	r.Revision = binary.BigEndian.Uint64(body[1:])
	r.Created = int64(binary.BigEndian.Uint64(body[9:]))
	copy(r.ID[:], body[17:33])
	rest := body[bodyFixedSize:]
	fields := make([][]byte, 4)
	for i := range fields {
		l, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < l {
			return record{}, 0, errBadRecord
		}
		fields[i] = rest[k : k+int(l)]
		rest = rest[k+int(l):]
	}
	if len(rest) != 0 {
		return record{}, 0, errBadRecord
	}
	r.Stream, r.Type = string(fields[0]), string(fields[1])
	r.Metadata, r.Data = fields[2], fields[3]
	return r, recHeaderSize + n, nil
}

// logFile is what the store needs from its file: *os.File on disk, memFile in memory.
type logFile interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Truncate(size int64) error
	Close() error
}

// memFile is an in-memory logFile, so the in-memory mode runs exactly the same store code.
type memFile struct {
	mu  sync.RWMutex
	buf []byte
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if off >= int64(len(m.buf)) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(m.buf)) {
		if end > int64(cap(m.buf)) {
			grown := make([]byte, end, max(end, 2*int64(cap(m.buf))))
			copy(grown, m.buf)
			m.buf = grown
		}
		m.buf = m.buf[:end]
	}
	return copy(m.buf[off:], p), nil
}

func (m *memFile) Sync() error  { return nil }
func (m *memFile) Close() error { return nil }
func (m *memFile) Truncate(size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size < int64(len(m.buf)) {
		m.buf = m.buf[:size]
	}
	return nil
}

// diskFile is the log on disk. Sync is fdatasync: it flushes the data and the metadata needed to read it back
// (the file size) but not the modification time, which saves a journal write per group commit.
type diskFile struct{ *os.File }

func (f diskFile) Sync() error { return syscall.Fdatasync(int(f.Fd())) }
