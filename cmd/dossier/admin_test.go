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
	dir := t.TempDir()
	missing := filepath.Join(dir, "assures.csv")
	for _, command := range []string{"import-insured", "import-finance"} {
		var cli struct {
			Admin AdminCmd `cmd:""`
		}
		var usage bytes.Buffer
		p, err := kong.New(&cli, kong.Writers(&usage, &usage), kong.UsageOnError())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse([]string{"admin", command, "--events-dir", filepath.Join(dir, "var", "events"),
			"--secret-key-path", filepath.Join(dir, "var", "secret.key"), "--sqlite-path", filepath.Join(dir, "var", "dossier.db"),
			missing}); err != nil {
			t.Fatalf("%s: the parser refused a missing file (it prints the whole usage): %v", command, err)
		}
		var out bytes.Buffer
		switch command {
		case "import-insured":
			cli.Admin.ImportInsured.stdout = &out
			err = cli.Admin.ImportInsured.Run(testCtx(t), slog.New(slog.DiscardHandler))
		default:
			cli.Admin.ImportFinance.stdout = &out
			err = cli.Admin.ImportFinance.Run(testCtx(t), slog.New(slog.DiscardHandler))
		}
		if err == nil || err.Error() != missing+": no such file" {
			t.Errorf("%s: error %v, want %q", command, err, missing+": no such file")
		}
		if out.Len() != 0 || usage.Len() != 0 {
			t.Errorf("%s printed %q, usage %q", command, out.String(), usage.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "var")); !os.IsNotExist(err) {
			t.Errorf("%s created ./var for a missing file: %v", command, err)
		}
	}
	// A directory given for the file is one line too.
	if _, err := openCSV(dir); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: %v", err)
	}
}

// The README's sample of insured people (docs/samples/insured.csv) imports without a rejected line.
func TestSampleInsuredFileImports(t *testing.T) {
	dir := t.TempDir()
	var cli struct {
		Admin AdminCmd `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"admin", "import-insured", "--events-dir", filepath.Join(dir, "var", "events"),
		"--secret-key-path", filepath.Join(dir, "var", "secret.key"), "--sqlite-path", filepath.Join(dir, "var", "dossier.db"),
		filepath.Join("..", "..", "docs", "samples", "insured.csv")}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cli.Admin.ImportInsured.stdout = &out
	if err := cli.Admin.ImportInsured.Run(testCtx(t), slog.New(slog.DiscardHandler)); err != nil ||
		!strings.Contains(out.String(), "imported:   4") || !strings.Contains(out.String(), "rejected:   0") {
		t.Fatalf("sample import: %v\n%s", err, out.String())
	}
}
