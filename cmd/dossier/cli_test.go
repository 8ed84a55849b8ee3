package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// adminCLI is the embedded default of `dossier admin …` under one temporary directory: the event-store node, the
// server key, the data KEK, the SQLite database (and the key store in it) and the mail outbox all live in dir/var.
type adminCLI struct {
	dir, eventsDir, keyPath, kekPath, sqlitePath, outboxDir string

	options []kong.Option // for kong.New (e.g. writers to check that no usage is printed)
}

func newAdminCLI(t *testing.T) adminCLI {
	dir := t.TempDir()
	return adminCLI{dir: dir, eventsDir: filepath.Join(dir, "var", "events"), keyPath: filepath.Join(dir, "var", "secret.key"),
		kekPath: filepath.Join(dir, "var", "data.kek"), sqlitePath: filepath.Join(dir, "var", "dossier.db"), outboxDir: filepath.Join(dir, "var", "outbox")}
}

// parse parses `dossier admin args…` followed by the flags of c, as the binary would, and returns the parsed
// commands; the test fails if the parser refuses.
func (c adminCLI) parse(t *testing.T, args ...string) *AdminCmd {
	t.Helper()
	var cli struct {
		Admin AdminCmd `cmd:""`
	}
	p, err := kong.New(&cli, c.options...)
	if err != nil {
		t.Fatal(err)
	}
	line := append(append([]string{"admin"}, args...), "--events-dir", c.eventsDir, "--secret-key-path", c.keyPath,
		"--data-kek-path", c.kekPath, "--sqlite-path", c.sqlitePath, "--outbox-dir", c.outboxDir)
	if _, err := p.Parse(line); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &cli.Admin
}

// createStaff runs `dossier admin create-staff args…` with stdin on its standard input and returns what it printed.
func (c adminCLI) createStaff(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := c.parse(t, append([]string{"create-staff"}, args...)...).CreateStaff
	var out bytes.Buffer
	cmd.stdout, cmd.stdin = &out, strings.NewReader(stdin)
	err := cmd.Run(staffCmdCtx(t), testLogger())
	return out.String(), err
}

// newStaff opens the account of login with password (typed on standard input) and roles, and returns what
// create-staff printed (staffCmdField reads it); the test fails if the command does.
func (c adminCLI) newStaff(t *testing.T, login, name, password string, roles ...string) string {
	t.Helper()
	args := []string{"--login", login, "--name", name}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	out, err := c.createStaff(t, password+"\n", args...)
	if err != nil {
		t.Fatalf("create-staff: %v\n%s", err, out)
	}
	return out
}

// dupontPassword is the password of c.dupont, the caseworker of newCLIWithCaseworker.
const dupontPassword = "Trois pommes vertes au jardin"

// newCLIWithCaseworker returns a fresh embedded default holding one staff account, the caseworker c.dupont (Claire
// Dupont, password dupontPassword), and what create-staff printed for it (staff id, TOTP secret: staffCmdField).
func newCLIWithCaseworker(t *testing.T) (adminCLI, string) {
	t.Helper()
	cli := newAdminCLI(t)
	return cli, cli.newStaff(t, "c.dupont", "Claire Dupont", dupontPassword, "caseworker")
}

// keys opens the key store the commands of c used (SQLite database and KEK file of dir/var), for a test reading their
// events back; it is closed when the test ends.
func (c adminCLI) keys(t *testing.T) *keystore.Store {
	t.Helper()
	return openTestKeys(t, c.sqlitePath, c.kekPath)
}

// openTestKeys opens (and migrates) a key store on the SQLite database at sqlitePath under the KEK file at kekPath
// (both created when missing), as the binary does.
func openTestKeys(t *testing.T, sqlitePath, kekPath string) *keystore.Store {
	t.Helper()
	db, err := sqldb.Open(testCtx(t), sqldb.SQLite, sqlitePath, sqldb.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := openKeyStore(testCtx(t), db, DataKeyConfig{DataKEKPath: kekPath})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// tempKeys is a key store of its own in the test's temporary directory.
func tempKeys(t *testing.T) *keystore.Store {
	t.Helper()
	dir := t.TempDir()
	return openTestKeys(t, filepath.Join(dir, "keys.db"), filepath.Join(dir, "data.kek"))
}
