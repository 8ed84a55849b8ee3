package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// A CSV file that is not there: the imports say so in one line naming it, not with the command's usage, and touch
// nothing (no server key, no event store).
func TestImportOfAMissingFileIsOneClearLine(t *testing.T) {
	cli := newAdminCLI(t)
	var usage bytes.Buffer
	cli.options = []kong.Option{kong.Writers(&usage, &usage), kong.UsageOnError()}
	missing := filepath.Join(cli.dir, "assures.csv")
	for _, command := range []string{"import-insured", "import-finance"} {
		usage.Reset()
		// the parser accepts a missing file (were it to refuse it, it would print the whole usage)
		parsed := cli.parse(t, command, missing)
		var out bytes.Buffer
		var err error
		switch command {
		case "import-insured":
			parsed.ImportInsured.stdout = &out
			err = parsed.ImportInsured.Run(testCtx(t), slog.New(slog.DiscardHandler))
		default:
			parsed.ImportFinance.stdout = &out
			err = parsed.ImportFinance.Run(testCtx(t), slog.New(slog.DiscardHandler))
		}
		if err == nil || err.Error() != missing+": no such file" {
			t.Errorf("%s: error %v, want %q", command, err, missing+": no such file")
		}
		if out.Len() != 0 || usage.Len() != 0 {
			t.Errorf("%s printed %q, usage %q", command, out.String(), usage.String())
		}
		if _, err := os.Stat(filepath.Join(cli.dir, "var")); !os.IsNotExist(err) {
			t.Errorf("%s created ./var for a missing file: %v", command, err)
		}
	}
	// A directory given for the file is one line too.
	if _, err := openCSV(cli.dir); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: %v", err)
	}
}

// The README's sample of insured people (docs/samples/insured.csv) imports without a rejected line.
func TestSampleInsuredFileImports(t *testing.T) {
	cmd := newAdminCLI(t).parse(t, "import-insured", filepath.Join("..", "..", "docs", "samples", "insured.csv")).ImportInsured
	var out bytes.Buffer
	cmd.stdout = &out
	if err := cmd.Run(testCtx(t), slog.New(slog.DiscardHandler)); err != nil ||
		!strings.Contains(out.String(), "imported:   4") || !strings.Contains(out.String(), "rejected:   0") {
		t.Fatalf("sample import: %v\n%s", err, out.String())
	}
}
