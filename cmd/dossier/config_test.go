package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

func parseConfig(t *testing.T, args ...string) Config {
	t.Helper()
	var c struct{ Config }
	p, err := kong.New(&c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c.Config
}

func TestDefaultsAreTheEmbeddedMode(t *testing.T) {
	c := parseConfig(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if !c.Embedded() || c.EventsDir != "./var/events" || c.SQLitePath != "./var/dossier.db" ||
		c.OutboxDir != "./var/outbox" || c.BlobsDir != "./var/blobs" || c.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := parseConfig(t) // kong runs Validate itself when parsing: start from valid defaults
	c.HTTPAddr, c.PostgresURL, c.KurrentDBURL = "nope", "mysql://x", "http://x"
	c.RequestTimeout, c.ConsistencyTimeout, c.OutboxDir = time.Second, 5*time.Second, ""
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"http-addr", "postgres-url", "kurrentdb-url", "consistency-timeout", "outbox-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestSecretsComeFromFilesAndAreRedacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pg")
	os.WriteFile(path, []byte("postgres://dossier:s3cret@db.internal:5432/dossier?sslmode=require&password=hunter2\n"), 0o600)
	t.Setenv("DOSSIER_POSTGRES_URL_FILE", path)
	os.Unsetenv("DOSSIER_POSTGRES_URL")
	t.Cleanup(func() { os.Unsetenv("DOSSIER_POSTGRES_URL") })
	if err := loadSecretFiles(); err != nil {
		t.Fatal(err)
	}
	c := parseConfig(t)
	if !strings.Contains(c.PostgresURL, "s3cret") {
		t.Fatalf("secret file not read: %q", c.PostgresURL)
	}
	c.RequestTimeout = time.Minute
	printed := strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(fmtPairs(c.Redacted()), "\n", " "), " ")), " ")
	if strings.Contains(printed, "s3cret") || strings.Contains(printed, "hunter2") || !strings.Contains(printed, "db.internal") {
		t.Fatalf("redacted config %q", printed)
	}
	t.Setenv("DOSSIER_POSTGRES_URL", "postgres://x")
	if err := loadSecretFiles(); err == nil {
		t.Fatal("both NAME and NAME_FILE set: accepted")
	}
}

func fmtPairs(kv []any) string {
	var b strings.Builder
	for _, v := range kv {
		b.WriteString(v.(string))
		b.WriteString(" ")
	}
	return b.String()
}
