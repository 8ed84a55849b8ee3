package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

func staffCmdCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// staffCmdField returns the value printed after label in the command's output.
func staffCmdField(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `:\s+(\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the output:\n%s", label, out)
	}
	return m[1]
}

// The command end to end in the embedded default: disk node and generated key file in a temporary directory; then
// the accounts it created log in with the password and TOTP secret it printed.
func TestAdminCreateStaffCommand(t *testing.T) {
	cli := newAdminCLI(t)
	logger := slog.New(slog.DiscardHandler)

	// A generated password, two roles.
	out, err := cli.createStaff(t, "", "--login", "A.Admin", "--name", "Alice Admin", "--role", "admin", "--role", "caseworker", "--generate-password")
	if err != nil {
		t.Fatalf("generated password: %v\n%s", err, out)
	}
	adminID := uuid.MustParse(staffCmdField(t, out, "staff id"))
	adminPassword := staffCmdField(t, out, "password")
	adminSecret := staffCmdField(t, out, "TOTP secret")
	adminURL := staffCmdField(t, out, "TOTP URL")
	if staffCmdField(t, out, "login") != "a.admin" || !strings.Contains(out, "roles:       caseworker, admin\n") ||
		!strings.Contains(out, "will not be shown again") {
		t.Errorf("output:\n%s", out)
	}
	if len(adminPassword) != generatedPasswordLength || strings.Trim(adminPassword, generatedPasswordAlphabet) != "" {
		t.Errorf("generated password %q", adminPassword)
	}
	if key, err := otp.NewKeyFromURL(adminURL); err != nil || key.Secret() != adminSecret || key.AccountName() != "a.admin" || key.Issuer() != "Dossier MSA" {
		t.Errorf("TOTP URL %s: %v", adminURL, err)
	}
	if info, err := os.Stat(cli.keyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}

	// A password on standard input: not printed.
	const agentPassword = "Trois pommes vertes au jardin"
	out, err = cli.createStaff(t, agentPassword+"\n", "--login", "b.agent", "--name", "Bruno Agent", "--role", "caseworker,auditor")
	if err != nil {
		t.Fatalf("password on stdin: %v\n%s", err, out)
	}
	agentSecret := staffCmdField(t, out, "TOTP secret")
	if strings.Contains(out, "password:") || strings.Contains(out, agentPassword) {
		t.Errorf("the typed password is printed:\n%s", out)
	}

	// The medical service is a role added to a working one; --roles is accepted too.
	out, err = cli.createStaff(t, agentPassword+"\n", "--login", "m.medecin", "--name", "Marc Medecin", "--roles", "medical,caseworker")
	if err != nil || !strings.Contains(out, "roles:       caseworker, medical\n") {
		t.Fatalf("medical caseworker: %v\n%s", err, out)
	}

	// Refusals: nothing printed, the reason in the error.
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{agentPassword + "\n", []string{"--login", "b.agent", "--name", "Other", "--role", "admin"}, "login refused (staff.login_taken)"},
		{"Lune bleue 7!\n", []string{"--login", "c.agent", "--name", "Carla Agent", "--role", "admin"}, "password refused (staff.password_too_short)"},
		{"", []string{"--login", "d.agent", "--name", "Denis Agent", "--role", "admin"}, "no password on standard input"},
		{agentPassword, []string{"--login", "e.agent", "--name", "Eve Agent", "--role", "root"}, "roles refused (staff.role_unknown)"},
		{agentPassword, []string{"--login", "f.agent", "--name", "Fanny Agent", "--role", "medical"}, "roles refused (staff.roles_empty)"},
	} {
		out, err := cli.createStaff(t, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%v: %v, want %q\n%s", tc.args, err, tc.want, out)
		}
	}

	// Nothing secret on disk.
	filepath.WalkDir(filepath.Join(cli.dir, "var"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{adminPassword, adminSecret, agentSecret, agentPassword} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a secret is stored in %s", path)
			}
		}
		return nil
	})

	// The accounts log in with what was printed.
	h := staffHandlerOn(t, cli, logger)
	login := func(login, password, secret string) (command.StaffLoginResult, error) {
		code, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return h.StaffLogin(staffCmdCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()}, login, password, code, uuid.New())
	}
	res, err := login("a.admin", adminPassword, adminSecret)
	if err != nil || res.StaffID != adminID || !reflect.DeepEqual(res.Roles, []string{"caseworker", "admin"}) || res.Name != "Alice Admin" {
		t.Errorf("admin login: %+v, %v", res, err)
	}
	res, err = login("b.agent", agentPassword, agentSecret)
	if err != nil || !reflect.DeepEqual(res.Roles, []string{"caseworker", "auditor"}) {
		t.Errorf("agent login: %+v, %v", res, err)
	}
	// the refused accounts do not exist
	for _, l := range []string{"c.agent", "d.agent", "e.agent", "f.agent"} {
		history, err := h.Store.Load(staffCmdCtx(t), staff.LoginStreamFor(h.Keys, l))
		if err != nil || len(history) != 0 {
			t.Errorf("%s: %d events, %v", l, len(history), err)
		}
	}
	if _, err := login("c.agent", "Lune bleue 7!", adminSecret); failure.CodeOf(err) != "auth.invalid_credentials" {
		t.Errorf("refused account login: %v", err)
	}
}

func TestAdminCreateStaffGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		pw, err := generatePassword("a.admin", "Alice Admin")
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != generatedPasswordLength || strings.Trim(pw, generatedPasswordAlphabet) != "" || staff.CheckPassword(credentials.Strength{}, pw, "a.admin") != nil {
			t.Errorf("password %q", pw)
		}
		if seen[pw] {
			t.Errorf("password %q drawn twice", pw)
		}
		seen[pw] = true
	}
}

// staffOn is the staff command handler over a node's data directory, with its store and key for direct reads.
type staffOn struct {
	*command.Staff
	Store command.EventStore
	Keys  command.Keys
}

// staffHandlerOn opens the node's data directory eventsDir (the admin command has stopped with it) and returns a
// command handler for staff accounts under the key in keyPath, to check what an admin command recorded; all is
// closed when the test ends.
func staffHandlerOn(t *testing.T, cli adminCLI, logger *slog.Logger) staffOn {
	t.Helper()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: cli.eventsDir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	client, err := kurrentdb.Connect(staffCmdCtx(t), node.ConnectionString(), kurrentdb.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	store, err := staffStore(client, cli.keys(t))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.LoadOrCreateKeyFile(cli.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := command.NewStaff(command.Runtime{Store: store}, keys, hasher, credentials.NewTOTP(nil))
	if err != nil {
		t.Fatal(err)
	}
	return staffOn{Staff: h, Store: store, Keys: keys}
}
