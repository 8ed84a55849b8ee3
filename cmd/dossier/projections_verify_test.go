package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// parseProjections parses `dossier projections args…` with the flags of c.
func (c adminCLI) parseProjections(t *testing.T, args ...string) *ProjectionsCmd {
	t.Helper()
	var cli struct {
		Projections ProjectionsCmd `cmd:""`
	}
	p, err := kong.New(&cli, c.options...)
	if err != nil {
		t.Fatal(err)
	}
	line := append(append([]string{"projections"}, args...), "--events-dir", c.eventsDir, "--secret-key-path", c.keyPath,
		"--data-kek-path", c.kekPath, "--sqlite-path", c.sqlitePath, "--outbox-dir", c.outboxDir)
	if _, err := p.Parse(line); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &cli.Projections
}

// `dossier projections verify` on the embedded default: clean after a rebuild, then a live row changed by hand is
// named, and the command fails.
func TestProjectionsVerifyCommand(t *testing.T) {
	cli, memberID, _ := eraseCLI(t)
	if err := cli.parseProjections(t, "rebuild", "accounts").Rebuild.Run(testCtx(t), testLogger()); err != nil {
		t.Fatal(err)
	}
	verify := func() (string, error) {
		cmd := cli.parseProjections(t, "verify", "accounts").Verify
		var out bytes.Buffer
		cmd.stdout = &out
		err := cmd.Run(testCtx(t), testLogger())
		return out.String(), err
	}
	out, err := verify()
	if err != nil || !strings.Contains(out, "accounts v3 at position") || !strings.Contains(out, ": clean (1 live rows") {
		t.Fatalf("verify after a rebuild: %v\n%s", err, out)
	}
	db, err := sqldb.Open(testCtx(t), sqldb.SQLite, cli.sqlitePath, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(testCtx(t), "UPDATE accounts_v3 SET email = 'mallory@example.test'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = verify()
	if !errors.Is(err, errDifferences) || !strings.Contains(out, "1 DIFFERENCES") ||
		!strings.Contains(out, "changed: member_id="+memberID.String()) {
		t.Fatalf("verify after a change by hand: %v\n%s", err, out)
	}
}
