package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/msa-dossier/dossier/adapters/keystore"
)

// embeddedConfig is the configuration of an embedded-default serve whose files are all under dir, with the event
// store in dir/events (extra flags after).
func embeddedConfig(t *testing.T, dir, events string, extra ...string) Config {
	t.Helper()
	return parseConfig(t, append([]string{"--events-dir", filepath.Join(dir, events),
		"--sqlite-path", filepath.Join(dir, "dossier.db"), "--outbox-dir", filepath.Join(dir, "outbox"),
		"--secret-key-path", filepath.Join(dir, "secret.key"), "--data-kek-path", filepath.Join(dir, "data.kek"),
		"--audit-signing-key-path", filepath.Join(dir, "audit.key")}, extra...)...)
}

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

// The data KEK: from the flag, the environment or a file (DOSSIER_DATA_KEK_FILE), or generated at --data-kek-path on
// the embedded default; previous KEKs comma-separated; every problem reported at once; never printed.
func TestDataKEKConfig(t *testing.T) {
	dir := t.TempDir()
	c := parseConfig(t, "--data-kek-path", filepath.Join(dir, "var", "data.kek"))
	if c.DataKEK != "" || c.DataKEKPrevious != "" || !strings.Contains(fmtPairs(c.Redacted()), "data_kek file "+c.DataKEKPath) {
		t.Fatalf("defaults: %+v %q", c.DataKeyConfig, fmtPairs(c.Redacted()))
	}
	if d := parseConfig(t); d.DataKEKPath != "./var/data.kek" {
		t.Fatalf("default path %q", d.DataKEKPath)
	}
	generated, err := c.keystoreConfig()
	if err != nil || len(generated.KEK) != keystore.KeySize || len(generated.PreviousKEKs) != 0 {
		t.Fatalf("generated KEK: %d bytes, %v", len(generated.KEK), err)
	}
	again, err := c.keystoreConfig()
	if err != nil || string(again.KEK) != string(generated.KEK) {
		t.Fatalf("the generated KEK changed (%v)", err)
	}

	current, old1, old2 := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)
	path := filepath.Join(dir, "kek")
	os.WriteFile(path, []byte(current+"\n"), 0o600)
	t.Setenv("DOSSIER_DATA_KEK_FILE", path)
	os.Unsetenv("DOSSIER_DATA_KEK")
	t.Cleanup(func() { os.Unsetenv("DOSSIER_DATA_KEK") })
	t.Setenv("DOSSIER_DATA_KEK_PREVIOUS", old1+", "+old2)
	if err := loadSecretFiles(); err != nil {
		t.Fatal(err)
	}
	c = parseConfig(t)
	ks, err := c.keystoreConfig()
	if err != nil || len(ks.KEK) != keystore.KeySize || len(ks.PreviousKEKs) != 2 || ks.KEK[0] != 0xa1 || ks.PreviousKEKs[1][0] != 0xc3 {
		t.Fatalf("keystore config %v, %v", ks, err)
	}
	printed := fmtPairs(c.Redacted())
	for _, secret := range []string{current, old1, old2, "a1a1", "b2b2"} {
		if strings.Contains(printed, secret) {
			t.Fatalf("redacted config shows a KEK: %q", printed)
		}
	}
	if !strings.Contains(printed, "data_kek given (id "+keystore.KEKID(ks.KEK)+"), 2 previous") {
		t.Fatalf("redacted config %q", printed)
	}

	c.DataKEK, c.DataKEKPrevious, c.HTTPAddr = "zz", old1+",1234", "nope"
	err = c.Validate()
	for _, want := range []string{"data-kek:", "data-kek-previous (item 2)", "http-addr"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "1234") || strings.Contains(err.Error(), old1)) {
		t.Errorf("the error echoes a key: %v", err)
	}
	c.DataKEK, c.DataKEKPath = "", ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data-kek-path") {
		t.Errorf("no KEK and no path: %v", err)
	}
}
