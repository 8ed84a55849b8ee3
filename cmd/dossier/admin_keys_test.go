package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// dossier admin rotate-kek, as the README tells it: the new KEK configured, the old one as previous, rotate, then the
// old one dropped: everything sealed before still opens; a KEK nobody configured is refused loudly.
func TestAdminRotateKEKCommand(t *testing.T) {
	cli := newAdminCLI(t)
	before := cli.keys(t) // the embedded default: KEK generated in dir/var/data.kek
	subject := uuid.New()
	sealed, err := before.Seal(subject, []byte("aad"), []byte("Jeanne Dupont"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cli.kekPath)
	if err != nil {
		t.Fatal(err)
	}
	oldKEK, newKEK := strings.TrimSpace(string(b)), strings.Repeat("5e", 32)

	rotate := func(args ...string) (string, error) {
		cmd := cli.parse(t, append([]string{"rotate-kek"}, args...)...).RotateKEK
		var out bytes.Buffer
		cmd.stdout = &out
		err := cmd.Run(testCtx(t), testLogger())
		return out.String(), err
	}
	if _, err := rotate("--data-kek", strings.Repeat("77", 32)); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("rotation without the old KEK: %v", err)
	}
	out, err := rotate("--data-kek", newKEK, "--data-kek-previous", oldKEK)
	if err != nil || !strings.Contains(out, "re-wrapped 1 data key(s)") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	if out, err := rotate("--data-kek", newKEK, "--data-kek-previous", oldKEK); err != nil || !strings.Contains(out, "re-wrapped 0 ") {
		t.Fatalf("second rotate: %v\n%s", err, out)
	}

	db, err := sqldb.Open(testCtx(t), sqldb.SQLite, cli.sqlitePath, sqldb.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after, err := openKeyStore(testCtx(t), db, DataKeyConfig{DataKEK: newKEK}) // the old KEK dropped
	if err != nil {
		t.Fatal(err)
	}
	plain, err := after.Open(subject, []byte("aad"), sealed)
	if err != nil || string(plain) != "Jeanne Dupont" {
		t.Fatalf("after rotation: %q, %v", plain, err)
	}
}

// dossier migrate creates the key store's table beside the others (it needs no KEK).
func TestMigrateCreatesTheKeyStore(t *testing.T) {
	dir := t.TempDir()
	var cli struct {
		Migrate MigrateCmd `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	sqlitePath := filepath.Join(dir, "dossier.db")
	if _, err := p.Parse([]string{"migrate", "--sqlite-path", sqlitePath, "--secret-key-path", filepath.Join(dir, "secret.key")}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Migrate.Run(testCtx(t), testLogger()); err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(testCtx(t), sqldb.SQLite, sqlitePath, sqldb.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := keystore.Migrations()
	st, err := db.MigrationStatus(testCtx(t), m.Owner, m.FS)
	if err != nil || st.Current == 0 || st.Pending() {
		t.Fatalf("key store migrations after dossier migrate: %+v, %v", st, err)
	}
}
