package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections/audittree"
)

// auditCLI parses `dossier audit args…` with the embedded default of c and the audit key under c's directory.
func (c adminCLI) audit(t *testing.T, args ...string) *AuditCmd {
	t.Helper()
	var cli struct {
		Audit AuditCmd `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	line := append([]string{"audit"}, args...)
	if args[0] != "check" {
		line = append(line, "--audit-signing-key-path", filepath.Join(c.dir, "var", "audit-ed25519.key"))
	}
	if args[0] == "sign" || args[0] == "verify" || args[0] == "heads" {
		line = append(line, "--events-dir", c.eventsDir, "--secret-key-path", c.keyPath, "--data-kek-path", c.kekPath,
			"--sqlite-path", c.sqlitePath, "--outbox-dir", c.outboxDir)
	}
	if _, err := p.Parse(line); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &cli.Audit
}

// captureStdout runs fn with os.Stdout going to a pipe and returns what it wrote.
func captureStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() { b, _ := io.ReadAll(r); out <- string(b) }()
	err = fn()
	os.Stdout = old
	w.Close()
	return <-out, err
}

// The audit commands end to end on the embedded default: the key generated once (0600) and its public key printed;
// sign catches the tree up and signs; verify says OK; a bundle checks offline with the printed key, and fails
// (exit status 1: an error) once one byte is changed or with another key.
func TestAuditCommands(t *testing.T) {
	c, _ := newCLIWithCaseworker(t)
	ctx := staffCmdCtx(t)
	pub, err := captureStdout(t, func() error { return c.audit(t, "public-key").PubKey.Run() })
	if err != nil || !strings.HasPrefix(pub, "dossier-audit+") {
		t.Fatalf("public-key: %q, %v", pub, err)
	}
	info, err := os.Stat(filepath.Join(c.dir, "var", "audit-ed25519.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", info, err)
	}
	out, err := captureStdout(t, func() error { return c.audit(t, "sign").Sign.Run(ctx, testLogger()) })
	if err != nil || !strings.Contains(out, "tree head signed") {
		t.Fatalf("sign: %q, %v", out, err)
	}
	out, err = captureStdout(t, func() error { return c.audit(t, "verify").Verify.Run(ctx, testLogger()) })
	if err != nil || !strings.Contains(out, "OK: the log matches every signed head") {
		t.Fatalf("verify: %q, %v", out, err)
	}

	// The heads published for auditors to keep (a witness), and verify against a kept copy: good with the log's own
	// heads, refused with a head of another key.
	heads := filepath.Join(c.dir, "heads.jsonl")
	if _, err := captureStdout(t, func() error { return c.audit(t, "heads", "--out", heads).Heads.Run(ctx, testLogger()) }); err != nil {
		t.Fatalf("heads: %v", err)
	}
	if b, _ := os.ReadFile(heads); strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), `"note":"dossier audit tree head v1\n`) {
		t.Fatalf("heads file: %s", b)
	}
	out, err = captureStdout(t, func() error { return c.audit(t, "verify", "--head", heads).Verify.Run(ctx, testLogger()) })
	if err != nil || !strings.Contains(out, "heads kept outside the log: 1 checked") || !strings.Contains(out, "OK:") {
		t.Fatalf("verify --head: %q, %v", out, err)
	}
	forged := filepath.Join(c.dir, "forged.note")
	otherKey, _ := auditlog.ParseKey(strings.Repeat("5", 64))
	note, _ := otherKey.Sign(auditlog.Head{Size: 1, LastCommit: 1})
	os.WriteFile(forged, []byte(note), 0o644)
	if out, err := captureStdout(t, func() error { return c.audit(t, "verify", "--head", forged).Verify.Run(ctx, testLogger()) }); err == nil ||
		!strings.Contains(out, "a kept head") {
		t.Fatalf("verify --head with another key's head: %q, %v", out, err)
	}

	// A bundle of the first events, as the export writes it.
	cfg := parseConfig(t, "--events-dir", c.eventsDir, "--secret-key-path", c.keyPath, "--data-kek-path", c.kekPath,
		"--sqlite-path", c.sqlitePath, "--outbox-dir", c.outboxDir)
	st, err := openStores(ctx, &cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	var leaves []auditlog.Leaf
	if err := auditlog.ReadAll(st.Events)(ctx, func(r event.Record) error {
		if len(leaves) < 3 {
			leaves = append(leaves, auditlog.LeafOf(r))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	store, err := eventStore(st.Events, st.Keys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auditlog.New(audittree.NewQueries(st.DB), store, nil).Prove(ctx, leaves)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	b.WriteTo(&buf)
	file := filepath.Join(c.dir, "bundle.jsonl")
	os.WriteFile(file, buf.Bytes(), 0o600)
	keyFile := filepath.Join(c.dir, "audit.pub")
	os.WriteFile(keyFile, []byte(pub), 0o644)
	out, err = captureStdout(t, func() error { return c.audit(t, "check", file, "--public-key", keyFile).Check.Run() })
	if err != nil || !strings.Contains(out, "OK: 3 events proven") {
		t.Fatalf("check: %q, %v", out, err)
	}
	changed := bytes.Replace(buf.Bytes(), []byte(`"revision":0`), []byte(`"revision":1`), 1)
	os.WriteFile(file, changed, 0o600)
	if _, err := captureStdout(t, func() error { return c.audit(t, "check", file, "--public-key", keyFile).Check.Run() }); err == nil ||
		!strings.Contains(err.Error(), "not in the signed tree") {
		t.Fatalf("a changed bundle: %v", err)
	}
	os.WriteFile(file, buf.Bytes(), 0o600)
	other, _ := auditlog.ParseKey(strings.Repeat("7", 64))
	if _, err := captureStdout(t, func() error {
		return c.audit(t, "check", file, "--public-key", other.PublicKey()).Check.Run()
	}); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("another key: %v", err)
	}
	if _, err := captureStdout(t, func() error { return c.audit(t, "check", file, "--public-key", "nonsense+x").Check.Run() }); err == nil {
		t.Fatal("a malformed key was accepted")
	}
}
