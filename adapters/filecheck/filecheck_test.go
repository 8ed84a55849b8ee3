package filecheck_test

import (
	"context"
	"errors"
	"testing"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/domain/document"
)

func TestCheckJudgesTheContent(t *testing.T) {
	ctx := context.Background()
	pdf := filechecktest.PDF("Avis d'imposition 2026")
	png := filechecktest.PNG(64, 48)
	jpg := filechecktest.JPEG(64, 48)
	cases := []struct {
		name     string
		content  []byte
		limit    int64
		wantType string
		wantErr  error
	}{
		{"pdf", pdf, document.MB, document.TypePDF, nil},
		{"png", png, document.MB, document.TypePNG, nil},
		{"jpeg", jpg, document.MB, document.TypeJPEG, nil},
		{"exactly the limit", pdf, int64(len(pdf)), document.TypePDF, nil},
		{"one byte over", pdf, int64(len(pdf)) - 1, "", document.ErrFileTooLarge},
		{"empty", nil, document.MB, "", document.ErrFileEmpty},
		{"text renamed .pdf", []byte("just some text, not a PDF"), document.MB, "", document.ErrFileType},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), document.MB, "", document.ErrFileType},
		{"truncated png", filechecktest.Truncated(png), document.MB, "", document.ErrImageInvalid},
		{"truncated jpeg", filechecktest.Truncated(jpg), document.MB, "", document.ErrImageInvalid},
		{"truncated pdf", filechecktest.Truncated(pdf), document.MB, "", document.ErrPDFInvalid},
		{"pdf with javascript", filechecktest.PDFWithJavaScript(), document.MB, "", document.ErrPDFActiveContent},
		{"pdf with launch", filechecktest.PDFWithLaunch(), document.MB, "", document.ErrPDFActiveContent},
		{"encrypted pdf", filechecktest.EncryptedPDF("secret", "user"), document.MB, "", document.ErrPDFEncrypted},
		{"encrypted pdf, empty user password", filechecktest.EncryptedPDF("secret", ""), document.MB, "", document.ErrPDFEncrypted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, err := filecheck.Check(ctx, c.content, c.limit)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Check = %q, %v; want %v", typ, err, c.wantErr)
				}
				return
			}
			if err != nil || typ != c.wantType {
				t.Fatalf("Check = %q, %v; want %q", typ, err, c.wantType)
			}
		})
	}
}

func TestCheckRefusesAnImageBomb(t *testing.T) {
	// A PNG header claiming 100k × 100k pixels: refused before decoding.
	png := filechecktest.PNG(8, 8)
	bomb := append([]byte(nil), png...)
	// IHDR width and height are at bytes 16..24; the CRC no longer matches, which DecodeConfig ignores for IHDR.
	copy(bomb[16:24], []byte{0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0})
	if _, err := filecheck.Check(context.Background(), bomb, document.MB); !errors.Is(err, document.ErrImageInvalid) {
		t.Fatalf("Check(bomb) = %v, want ErrImageInvalid", err)
	}
}

func TestPDFOfSizeIsAValidPDFOfThatSize(t *testing.T) {
	for _, size := range []int{4096, document.MB, document.MB + 1} {
		pdf := filechecktest.PDFOfSize("taille", size)
		if len(pdf) != size {
			t.Fatalf("PDFOfSize(%d) has %d bytes", size, len(pdf))
		}
		if typ, err := filecheck.Check(context.Background(), pdf, int64(size)); err != nil || typ != document.TypePDF {
			t.Fatalf("PDFOfSize(%d): %q, %v", size, typ, err)
		}
	}
}
