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
		c.OutboxDir != "./var/outbox" || c.HTTPAddr != "127.0.0.1:8080" {
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

// The integration broker: off by default; its URL is a secret (from a file, hidden when printed) and must be a
// PostgreSQL URL; the poll interval is bounded.
func TestIntegrationConfig(t *testing.T) {
	c := parseConfig(t)
	if c.IntegrationURL != "" || c.IntegrationPoll != time.Second || !strings.Contains(fmtPairs(c.Redacted()), "integration none") {
		t.Fatalf("defaults: %q %v %q", c.IntegrationURL, c.IntegrationPoll, fmtPairs(c.Redacted()))
	}
	path := filepath.Join(t.TempDir(), "broker")
	os.WriteFile(path, []byte("postgres://dossier:br0ker-pw@broker.internal:5432/integration?sslmode=require\n"), 0o600)
	t.Setenv("DOSSIER_INTEGRATION_URL_FILE", path)
	os.Unsetenv("DOSSIER_INTEGRATION_URL")
	t.Cleanup(func() { os.Unsetenv("DOSSIER_INTEGRATION_URL") })
	if err := loadSecretFiles(); err != nil {
		t.Fatal(err)
	}
	c = parseConfig(t, "--integration-poll-interval", "250ms")
	if !strings.Contains(c.IntegrationURL, "br0ker-pw") || c.IntegrationPoll != 250*time.Millisecond {
		t.Fatalf("from the file and the flag: %q %v", c.IntegrationURL, c.IntegrationPoll)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	printed := fmtPairs(c.Redacted())
	if strings.Contains(printed, "br0ker-pw") || !strings.Contains(printed, "PostgreSQL postgres://") || !strings.Contains(printed, "@broker.internal:5432/integration") {
		t.Fatalf("redacted config %q", printed)
	}
	c.IntegrationURL, c.IntegrationPoll = "amqp://broker", time.Millisecond
	err := c.Validate()
	for _, want := range []string{"integration-url", "integration-poll-interval"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
