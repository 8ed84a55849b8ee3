package command_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/document"
)

// BenchmarkDeposit1MiB runs one deposit of a 1 MiB PDF through the command (check, seal, blob written and fsynced,
// event appended to the in-memory node): B/op is what one upload allocates on the server beyond the HTTP layer.
//
//	go test -run '^$' -bench Deposit1MiB -benchmem ./domain/command/
func BenchmarkDeposit1MiB(b *testing.B) {
	f := newDepositFixture(b)
	pdf := filechecktest.PDFOfSize("Relevé", document.MB)
	member := uuid.New()
	ctx := b.Context()
	b.SetBytes(int64(len(pdf)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := f.docs.Begin(ctx, command.Meta{}, member, depositForm)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.AddFile(ctx, 0, "releve.pdf", pdf); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
