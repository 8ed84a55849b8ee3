package auditlog_test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// An insider's rewrite of the embedded node's log (adapters/kurrentnode, log segments; a test log fits in its first
// segment), for the tampering tests only:
// the log is parsed into its groups and records, changed, and written back with every record's CRC and every group
// frame (own offset, length, count, CRCs) recomputed, so the node starts on it as on an untouched log. The index
// and the clean-stop mark are removed: the node rebuilds the first from the log, and a log stopped "cleanly" at
// another length would otherwise be refused.
//
//	file:   segment header (32 bytes: "DOSSIER-KSEG-v3\n" | base u64 | 0 u32 | crc32c u32) | group…
//	group:  "KGRP" u32 | offset u64 | length u32 | count u32 | crc32c(records) u32 | 0 u32 | crc32c(28 bytes) u32 | records
//	record: length u32 | crc32c(body) u32 | body
//	body:   flags u8 | revision u64 | created i64 | id [16] | uvarint len+stream | len+type | len+metadata | len+data

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// firstSegment is the file of the log's first segment (base 0).
const firstSegment = "events-00000000000000000000.log"

type logRecord struct {
	body []byte
}

// fields returns the stream, type, metadata and data of the record, and where data starts in body.
func (r logRecord) fields() (stream, typ string, meta, data []byte, dataAt int) {
	rest := r.body[33:]
	at := 33
	var out [4][]byte
	for i := range out {
		l, k := binary.Uvarint(rest)
		out[i] = rest[k : k+int(l)]
		if i == 3 {
			dataAt = at + k
		}
		at += k + int(l)
		rest = rest[k+int(l):]
	}
	return string(out[0]), string(out[1]), out[2], out[3], dataAt
}

type logFile struct {
	header []byte
	groups [][]logRecord
}

func readLog(t *testing.T, dir string) *logFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, firstSegment))
	if err != nil {
		t.Fatal(err)
	}
	lf := &logFile{header: b[:32]}
	off := 32
	for off < len(b) {
		if string(b[off:off+4]) != "KGRP" {
			t.Fatalf("no group at %d", off)
		}
		length := int(binary.BigEndian.Uint32(b[off+12:]))
		count := int(binary.BigEndian.Uint32(b[off+16:]))
		recs := b[off+32 : off+32+length]
		var group []logRecord
		for range count {
			n := int(binary.BigEndian.Uint32(recs))
			group = append(group, logRecord{body: append([]byte(nil), recs[8:8+n]...)})
			recs = recs[8+n:]
		}
		lf.groups = append(lf.groups, group)
		off += 32 + length
	}
	return lf
}

// write lays the log out again, recomputing every frame and checksum, and removes the index and the clean mark.
func (lf *logFile) write(t *testing.T, dir string) {
	t.Helper()
	out := append([]byte(nil), lf.header...)
	for _, g := range lf.groups {
		if len(g) == 0 {
			continue
		}
		start := len(out)
		out = append(out, make([]byte, 32)...)
		for _, r := range g {
			out = binary.BigEndian.AppendUint32(out, uint32(len(r.body)))
			out = binary.BigEndian.AppendUint32(out, crc32.Checksum(r.body, castagnoli))
			out = append(out, r.body...)
		}
		h := out[start : start+32]
		body := out[start+32:]
		binary.BigEndian.PutUint32(h[0:], 0x4b475250)
		binary.BigEndian.PutUint64(h[4:], uint64(start))
		binary.BigEndian.PutUint32(h[12:], uint32(len(body)))
		binary.BigEndian.PutUint32(h[16:], uint32(len(g)))
		binary.BigEndian.PutUint32(h[20:], crc32.Checksum(body, castagnoli))
		binary.BigEndian.PutUint32(h[24:], 0)
		binary.BigEndian.PutUint32(h[28:], crc32.Checksum(h[:28], castagnoli))
	}
	if err := os.WriteFile(filepath.Join(dir, firstSegment), out, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index", "events.clean"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// find returns the group and record index of the record of stream and type whose data contains marker.
func (lf *logFile) find(t *testing.T, typ, marker string) (int, int) {
	t.Helper()
	for gi, g := range lf.groups {
		for ri, r := range g {
			_, ty, _, data, _ := r.fields()
			if ty == typ && contains(data, marker) {
				return gi, ri
			}
		}
	}
	t.Fatalf("no %s record holding %q in the log", typ, marker)
	return 0, 0
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
