package filecheck

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"regexp"
	"strconv"
)

// MaxXRefStreamBytes bounds what a PDF's cross-reference stream may inflate to. pdfcpu (v0.15.0) decodes a
// cross-reference stream whole, under its default 512 MiB limit whatever the configuration says (the parse passes
// no configuration to that decode): a file under 1 Mo whose cross-reference stream inflated to 300 MiB made one
// check allocate about 1 GiB. A legitimate cross-reference stream holds a few bytes per object (a 1 Mo file has at
// most tens of thousands of objects: well under a megabyte); 16 MiB leaves ample room.
const MaxXRefStreamBytes = 16 << 20

var (
	startXRef  = regexp.MustCompile(`startxref\s+(\d+)`)
	xrefOffset = regexp.MustCompile(`/(?:Prev|XRefStm)\s+(\d+)`)
	objHeader  = regexp.MustCompile(`^\s*\d+\s+\d+\s+obj\b`)
	xrefType   = regexp.MustCompile(`/Type\s*/XRef\b`)
)

// errInflation is a PDF whose cross-reference stream inflates past MaxXRefStreamBytes.
var errInflation = errors.New("filecheck: a cross-reference stream inflates past its bound")

// boundedXRefStreams checks, before the parser sees the file, every cross-reference stream it would decode: the ones
// startxref, /Prev and /XRefStm point at, and any stream whose dictionary says /Type /XRef (a parser repairing a
// broken file finds them by scanning). Each is inflated into nothing, counting, and the file refused as soon as
// one passes MaxXRefStreamBytes: the memory used is zlib's window, whatever the file claims.
func boundedXRefStreams(content []byte) error {
	seen := map[int]bool{}
	var offsets []int
	for _, m := range startXRef.FindAllSubmatch(content, -1) {
		if off, err := strconv.Atoi(string(m[1])); err == nil {
			offsets = append(offsets, off)
		}
	}
	for len(offsets) > 0 {
		off := offsets[0]
		offsets = offsets[1:]
		if off < 0 || off >= len(content) || seen[off] || len(seen) > 64 {
			continue
		}
		seen[off] = true
		if !objHeader.Match(content[off:min(len(content), off+64)]) {
			continue // a classic xref table: nothing to inflate (its trailer's /XRefStm is found by the scan below)
		}
		dict, data, ok := streamAt(content, off)
		if !ok {
			continue
		}
		for _, m := range xrefOffset.FindAllSubmatch(dict, -1) {
			if next, err := strconv.Atoi(string(m[1])); err == nil {
				offsets = append(offsets, next)
			}
		}
		if err := inflateBounded(data, MaxXRefStreamBytes); err != nil {
			return err
		}
	}
	// Streams declared as cross-reference streams anywhere else.
	for rest, base := content, 0; ; {
		i := bytes.Index(rest, []byte("stream"))
		if i < 0 {
			return nil
		}
		at := base + i
		rest, base = rest[i+len("stream"):], at+len("stream")
		start := bytes.LastIndex(content[:at], []byte(" obj"))
		if start < 0 || seen[start] || !xrefType.Match(content[start:at]) {
			continue
		}
		if _, data, ok := streamAt(content, start); ok {
			if err := inflateBounded(data, MaxXRefStreamBytes); err != nil {
				return err
			}
		}
	}
}

// streamAt finds, from an object's start, its dictionary and the bytes after its "stream" keyword.
func streamAt(content []byte, off int) (dict, data []byte, ok bool) {
	end := min(len(content), off+64<<10) // a dictionary is short; the keyword follows it
	i := bytes.Index(content[off:end], []byte("stream"))
	if i < 0 {
		return nil, nil, false
	}
	dict = content[off : off+i]
	data = content[off+i+len("stream"):]
	switch {
	case bytes.HasPrefix(data, []byte("\r\n")):
		data = data[2:]
	case bytes.HasPrefix(data, []byte("\n")), bytes.HasPrefix(data, []byte("\r")):
		data = data[1:]
	}
	return dict, data, true
}

// inflateBounded inflates data (a zlib stream, as /FlateDecode is) into nothing and fails once it passes limit
// bytes. Data that is not zlib, or corrupt, is left to the parser to judge.
func inflateBounded(data []byte, limit int64) error {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	defer zr.Close()
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, limit+1))
	if n > limit {
		return errInflation
	}
	return nil
}
