package filecheck_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/domain/document"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPDFBombIsRefusedWithinItsBound: a PDF of a few hundred kilobytes whose cross-reference stream inflates to
// 100 MiB is refused as unreadable, and checking it allocates under 1 MiB (pdfcpu alone decoded it whole: about
// 1 GiB allocated for a 300 MiB stream, the file accepted). The same file without the padding is a valid PDF 1.5
// (cross-reference and object streams) and is accepted: the bound refuses the bomb, not the format.
func TestPDFBombIsRefusedWithinItsBound(t *testing.T) {
	ctx := context.Background()
	plain := filechecktest.PDFXRefBomb(0)
	if typ, err := filecheck.Check(ctx, plain, document.MB); err != nil || typ != document.TypePDF {
		t.Fatalf("a valid PDF 1.5 with an xref stream: %q %v", typ, err)
	}
	atLimit := filechecktest.PDFXRefBomb(filecheck.MaxXRefStreamBytes - 7*7) // 7 rows of 7 bytes, then zeros
	if _, err := filecheck.Check(ctx, atLimit, document.MB); err != nil {
		t.Fatalf("an xref stream of exactly the bound: %v", err)
	}
	if _, err := filecheck.Check(ctx, filechecktest.PDFXRefBomb(filecheck.MaxXRefStreamBytes-7*7+1), document.MB); !errors.Is(err, document.ErrPDFInvalid) {
		t.Fatalf("one byte past the bound: %v", err)
	}
	bomb := filechecktest.PDFXRefBomb(100 << 20)
	if len(bomb) > document.MB {
		t.Fatalf("the bomb is %d bytes: not under the deposit limit", len(bomb))
	}
	var err error
	n := allocated(func() { _, err = filecheck.Check(ctx, bomb, document.MB) })
	if !errors.Is(err, document.ErrPDFInvalid) {
		t.Errorf("a %d-byte file inflating to 100 MiB: %v", len(bomb), err)
	}
	if n > 1<<20 {
		t.Errorf("checking the bomb allocated %d bytes, want under 1 MiB", n)
	}
	t.Logf("bomb of %d bytes (xref stream inflating to 100 MiB): refused, %d KiB allocated", len(bomb), n>>10)
}
