// Package filechecktest makes real files for the deposit tests: a PDF (written object by object with a correct
// cross-reference table), the same PDF with a script run on opening, an encrypted one (encrypted by pdfcpu), a JPEG
// and a PNG encoded by the standard library, and their broken variants.
package filechecktest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// PDF returns a one-page PDF saying text.
func PDF(text string) []byte { return buildPDF(text, "", 0) }

// PDFWithJavaScript returns a one-page PDF that runs a script when opened (/OpenAction with a JavaScript action).
func PDFWithJavaScript() []byte {
	return buildPDF("hello", "/OpenAction << /S /JavaScript /JS (app.alert\\('x'\\);) >>", 0)
}

// PDFWithLaunch returns a one-page PDF whose opening launches a program.
func PDFWithLaunch() []byte {
	return buildPDF("hello", "/OpenAction << /S /Launch /F (calc.exe) >>", 0)
}

// EncryptedPDF returns PDF(text) encrypted (AES-256) with userPassword (empty: anyone may open it, yet it is
// encrypted).
func EncryptedPDF(text, userPassword string) []byte {
	model.ConfigPath = "disable"
	var out bytes.Buffer
	conf := model.NewAESConfiguration(userPassword, "owner", 256)
	if err := api.Encrypt(bytes.NewReader(PDF(text)), &out, conf); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// buildPDF writes a PDF 1.4 with a catalog (plus extra entries), one page and its content stream.
func buildPDF(text, catalogExtra string, filler int) []byte {
	content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", strings.NewReplacer("(", "\\(", ")", "\\)").Replace(text))
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	if filler > 0 {
		objects = append(objects, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", filler, bytes.Repeat([]byte{'x'}, filler)))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return img
}

// PNG returns a w×h PNG.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG returns a w×h JPEG.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Truncated returns the first half of content.
func Truncated(content []byte) []byte { return bytes.Clone(content[:len(content)/2]) }

// PDFOfSize returns a valid one-page PDF saying text of exactly size bytes: an unreferenced stream object of filler
// bytes makes up the size, as a scanned page's image would. size must be above about 700 bytes.
func PDFOfSize(text string, size int) []byte {
	filler := max(1, size-len(buildPDF(text, "", 0))-100)
	for range 20 {
		b := buildPDF(text, "", filler)
		if len(b) == size {
			return b
		}
		filler = max(1, filler+size-len(b))
	}
	panic(fmt.Sprintf("filechecktest: no PDF of %d bytes", size))
}

// PDFXRefBomb returns a valid PDF 1.5 (one page, its font in an object stream, a cross-reference stream) whose
// FlateDecode cross-reference stream inflates to its few rows plus padding zero bytes: with padding in the hundreds
// of megabytes, a file of a few hundred kilobytes (a decompression bomb). padding 0 is a plain, valid PDF 1.5.
func PDFXRefBomb(padding int) []byte {
	header := "5 0 "
	plain := []byte(header + "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream",
			len(header), len(deflate(plain)), deflate(plain)),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	var rows bytes.Buffer
	row := func(typ byte, f2 uint32, f3 uint16) {
		rows.Write([]byte{typ, byte(f2 >> 24), byte(f2 >> 16), byte(f2 >> 8), byte(f2), byte(f3 >> 8), byte(f3)})
	}
	row(0, 0, 65535)
	for _, off := range offsets {
		row(1, uint32(off), 0)
	}
	row(2, 4, 0)            // object 5: the first of object stream 4
	row(1, uint32(xref), 0) // object 6: this cross-reference stream
	data := deflate(append(rows.Bytes(), make([]byte, padding)...))
	fmt.Fprintf(&b, "6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// deflate is b compressed as /FlateDecode (zlib), at the best compression.
func deflate(b []byte) []byte {
	var out bytes.Buffer
	w, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}
