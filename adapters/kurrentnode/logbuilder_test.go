package kurrentnode

import (
	"os"
	"path/filepath"
)

// logBuilder writes a log directly in the segment format (benchmarks and probes that need millions of events
// without a node): groups of records, sealed segments of segBytes, positions assigned as the writer does.
type logBuilder struct {
	dir      string
	segBytes int64
	f        *os.File
	base     int64
	buf      []byte // the current segment's bytes not yet written
	written  int64  // bytes of the current segment already written
	groups   uint32
	records  uint32
}

func newLogBuilder(dir string, segBytes int64) (*logBuilder, error) {
	b := &logBuilder{dir: dir, segBytes: segBytes}
	return b, b.open(0)
}

func (b *logBuilder) open(base int64) error {
	f, err := os.OpenFile(filepath.Join(b.dir, segName(base)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	b.f, b.base, b.written, b.groups, b.records = f, base, 0, 0, 0
	b.buf = append(b.buf[:0], make([]byte, segHeaderSize)...)
	putSegHeader(b.buf, base)
	return nil
}

func (b *logBuilder) end() int64 { return b.base + b.written + int64(len(b.buf)) }

// group appends one group commit of recs (their positions are set); it seals the segment first when full.
func (b *logBuilder) group(recs []record) error {
	if b.end()-b.base >= b.segBytes && b.groups > 0 {
		if err := b.seal(); err != nil {
			return err
		}
	}
	start := b.end()
	at := len(b.buf)
	b.buf = append(b.buf, make([]byte, groupHeaderSize)...)
	for i := range recs {
		recs[i].Pos = uint64(b.end())
		b.buf = appendRecord(b.buf, &recs[i])
	}
	putGroupHeader(b.buf[at:], uint64(start), len(recs))
	b.groups++
	b.records += uint32(len(recs))
	if len(b.buf) > 32<<20 {
		return b.flush()
	}
	return nil
}

func (b *logBuilder) flush() error {
	if _, err := b.f.Write(b.buf); err != nil {
		return err
	}
	b.written += int64(len(b.buf))
	b.buf = b.buf[:0]
	return nil
}

func (b *logBuilder) seal() error {
	var s [sealSize]byte
	putSeal(s[:], seal{offset: b.end(), groups: b.groups, records: b.records})
	b.buf = append(b.buf, s[:]...)
	next := b.end()
	if err := b.close(); err != nil {
		return err
	}
	return b.open(next)
}

func (b *logBuilder) close() error {
	if err := b.flush(); err != nil {
		return err
	}
	if err := b.f.Sync(); err != nil {
		return err
	}
	return b.f.Close()
}
