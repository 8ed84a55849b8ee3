// Package letterstest reads back the text of the PDFs the tests get: it parses them with pdfcpu (a real PDF
// parser, not ours), decodes each page's content stream and joins the strings its text operators show, from
// cp1252 (the core fonts' encoding) to UTF-8, one line per shown string.
package letterstest

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/text/encoding/charmap"
)

var shown = regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`)

// Text returns the text of every page of pdf, or fails t when pdf does not parse and validate.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	conf := model.NewDefaultConfiguration()
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), conf)
	if err != nil {
		t.Fatalf("the PDF does not parse: %v", err)
	}
	var out strings.Builder
	for i := 1; i <= ctx.PageCount; i++ {
		r, err := pdfcpu.ExtractPageContent(ctx, i)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		content, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range shown.FindAllSubmatch(content, -1) {
			s := unescape(m[1])
			u, err := charmap.Windows1252.NewDecoder().Bytes(s)
			if err != nil {
				t.Fatal(err)
			}
			out.Write(u)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// Flat is Text with the lines joined by spaces: a sentence MultiCell wrapped reads whole.
func Flat(t testing.TB, pdf []byte) string {
	t.Helper()
	return strings.Join(strings.Fields(Text(t, pdf)), " ")
}

func unescape(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			i++
			switch b[i] {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			default:
				out = append(out, b[i])
			}
			continue
		}
		out = append(out, b[i])
	}
	return out
}
