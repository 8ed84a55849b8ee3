// Package filecheck decides, from a file's content alone, whether the fund accepts it as a member's document: a PDF,
// a JPEG or a PNG, not empty, within a size limit, an image that decodes fully, a PDF that a real parser reads and
// that is neither encrypted nor carries active content. The name and the declared type of an upload are never
// looked at: a renamed file is judged by what it is.
//
// PDFs are parsed with pdfcpu (github.com/pdfcpu/pdfcpu), the only pure-Go PDF parser among the served modules. It is
// served "from an earlier copy, not approved"; the other candidate, go-pdfium, needs either cgo with the pdfium
// library or a WebAssembly runtime carrying a multi-megabyte pdfium build, which is much more to run (and to keep
// patched) on the upload path than a parser whose object table we walk ourselves. Replace it when an approved
// pure-Go parser is served: only this file uses it.
package filecheck

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/failure"
)

func init() {
	// pdfcpu would otherwise create and read a configuration directory under the user's home.
	model.ConfigPath = "disable"
}

// MaxPixels bounds the pixels of an image before it is decoded: a small PNG may otherwise decompress into
// gigabytes (a decompression bomb). 25 megapixels is above a phone's default photo of a page (12 Mpx) and keeps a
// decoded image under 100 MB.
const MaxPixels = 25_000_000

// MaxDecodedBytes bounds what one stream of a PDF may inflate to while pdfcpu parses it (its limit, 512 MiB by
// default, applied to the object streams it decodes; cross-reference streams escape it: see MaxXRefStreamBytes). A
// legitimate file's parse decodes only object streams' prologs and the objects in them, far below this.
const MaxDecodedBytes = 64 << 20

// slots bounds how many files are decoded or parsed at once (the work is CPU-bound, and a decoded image is up to
// 4 × MaxPixels bytes): the memory of checks in flight stays bounded whatever the number of concurrent uploads.
var slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// Check returns the real type of content (document.TypePDF, TypeJPEG, TypePNG) or the refusal, a document
// sentinel error (document.ErrFileEmpty, ErrFileTooLarge, ErrFileType, ErrImageInvalid, ErrPDFInvalid,
// ErrPDFEncrypted, ErrPDFActiveContent). limit is in bytes: a file of exactly limit bytes is accepted.
func Check(ctx context.Context, content []byte, limit int64) (string, error) {
	switch {
	case len(content) == 0:
		return "", document.ErrFileEmpty
	case int64(len(content)) > limit:
		return "", document.ErrFileTooLarge
	}
	typ := Sniff(content)
	if typ == "" {
		return "", document.ErrFileType
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done(): // the request ended or timed out while waiting for a slot
		return "", failure.Wrap("filecheck.Check", failure.Unavailable, ctx.Err())
	}
	switch typ {
	case document.TypePNG:
		return document.TypePNG, checkImage(content, png.DecodeConfig, png.Decode)
	case document.TypeJPEG:
		return document.TypeJPEG, checkImage(content, jpeg.DecodeConfig, jpeg.Decode)
	case document.TypePDF:
		return document.TypePDF, checkPDF(ctx, content)
	default:
		return "", document.ErrFileType
	}
}

// Sniff names the type the content's signature claims, or "" for none of the accepted ones.
func Sniff(content []byte) string {
	switch {
	case bytes.HasPrefix(content, []byte("\x89PNG\r\n\x1a\n")):
		return document.TypePNG
	case bytes.HasPrefix(content, []byte{0xFF, 0xD8, 0xFF}):
		return document.TypeJPEG
	case bytes.HasPrefix(content, []byte("%PDF-")):
		return document.TypePDF
	}
	return ""
}

func checkImage(content []byte, config func(r io.Reader) (image.Config, error), decode func(r io.Reader) (image.Image, error)) error {
	cfg, err := config(bytes.NewReader(content))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return document.ErrImageInvalid
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return document.ErrImageInvalid
	}
	if _, err := decode(bytes.NewReader(content)); err != nil {
		return document.ErrImageInvalid
	}
	return nil
}

// checkPDF parses the whole document (every object loaded, object streams decoded) and refuses an encrypted one or
// one whose objects carry active content.
func checkPDF(ctx context.Context, content []byte) (err error) {
	defer func() {
		if p := recover(); p != nil { // a parser panic on hostile input is a refusal, not a crash
			err = document.ErrPDFInvalid
		}
	}()
	if boundedXRefStreams(content) != nil { // before pdfcpu decodes them whole (inflate.go)
		return document.ErrPDFInvalid
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Limits.MaxDecodeBytes = MaxDecodedBytes // other streams the parse decodes: refused past it, not decoded
	pctx, err := pdfcpu.ReadWithContext(ctx, bytes.NewReader(content), conf)
	if err != nil {
		if encrypted(content, err) {
			return document.ErrPDFEncrypted
		}
		return document.ErrPDFInvalid
	}
	if pctx.XRefTable.Encrypt != nil || pctx.XRefTable.E != nil {
		return document.ErrPDFEncrypted
	}
	if pctx.XRefTable.RootDict == nil {
		return document.ErrPDFInvalid
	}
	for _, entry := range pctx.XRefTable.Table {
		if entry == nil || entry.Free || entry.Object == nil {
			continue
		}
		if active(entry.Object, 0) {
			return document.ErrPDFActiveContent
		}
	}
	if active(pctx.XRefTable.RootDict, 0) {
		return document.ErrPDFActiveContent
	}
	return nil
}

// encrypted tells whether a parse failure comes from encryption (a password pdfcpu could not supply).
func encrypted(content []byte, err error) bool {
	var msg = strings.ToLower(err.Error())
	return strings.Contains(msg, "password") || strings.Contains(msg, "encrypt") || bytes.Contains(content, []byte("/Encrypt"))
}

// activeKeys are dictionary keys that make a PDF do something when opened or used: scripts, actions run on opening
// or on events, launched programs, embedded files, XFA forms and rich media.
var activeKeys = map[string]bool{
	"JS": true, "JavaScript": true, "OpenAction": true, "AA": true, "Launch": true,
	"EmbeddedFiles": true, "EmbeddedFile": true, "XFA": true, "RichMedia": true,
}

// activeActions are action types (the /S of an action dictionary) that run code, start programs or send data.
var activeActions = map[string]bool{
	"JavaScript": true, "Launch": true, "SubmitForm": true, "ImportData": true, "GoToE": true,
	"RichMediaExecute": true, "Rendition": true,
}

// active walks a direct object (indirect references are visited as their own table entries).
func active(o types.Object, depth int) bool {
	if depth > 32 {
		return false
	}
	switch v := o.(type) {
	case types.StreamDict:
		return active(v.Dict, depth)
	case types.Dict:
		for k, child := range v {
			if activeKeys[k] {
				return true
			}
			if k == "S" || k == "Type" || k == "Subtype" {
				if n, ok := child.(types.Name); ok && (activeActions[string(n)] || n == "EmbeddedFile" || n == "FileAttachment") {
					return true
				}
			}
			if active(child, depth+1) {
				return true
			}
		}
	case types.Array:
		for _, child := range v {
			if active(child, depth+1) {
				return true
			}
		}
	}
	return false
}
