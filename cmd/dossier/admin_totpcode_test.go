package main

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
)

// `dossier admin totp-code`: on the embedded default, the printed code logs the staff member in (as the code of their
// authenticator would); a code of another step does not; anywhere else the command refuses.
func TestAdminTOTPCodeCommand(t *testing.T) {
	cli, _ := newCLIWithCaseworker(t)
	logger := slog.New(slog.DiscardHandler)

	codeAt := func(at time.Time) string {
		t.Helper()
		cmd := cli.parse(t, "totp-code", "--login", "C.Dupont")
		var out bytes.Buffer
		cmd.TOTPCode.stdout, cmd.TOTPCode.now = &out, func() time.Time { return at }
		if err := cmd.TOTPCode.Run(staffCmdCtx(t), logger); err != nil {
			t.Fatalf("totp-code: %v", err)
		}
		if !regexp.MustCompile(`^[0-9]{6}\n$`).MatchString(out.String()) {
			t.Fatalf("totp-code printed %q, want six digits on a line", out.String())
		}
		return strings.TrimSpace(out.String())
	}
	h := staffHandlerOn(t, cli, logger)
	login := func(code string) error {
		_, err := h.StaffLogin(staffCmdCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()}, "c.dupont", dupontPassword, code, uuid.New())
		return err
	}
	if old := codeAt(time.Now().Add(-time.Hour)); old != codeAt(time.Now()) {
		if err := login(old); err == nil {
			t.Error("a code of an hour ago logged in")
		}
	}
	if err := login(codeAt(time.Now())); err != nil {
		t.Errorf("login with the printed code: %v", err)
	}

	unknown := cli.parse(t, "totp-code", "--login", "personne")
	unknown.TOTPCode.stdout = &bytes.Buffer{}
	if err := unknown.TOTPCode.Run(staffCmdCtx(t), logger); err == nil || !strings.Contains(err.Error(), "staff.not_found") {
		t.Errorf("unknown login: %v", err)
	}
	for _, flag := range [][]string{{"--kurrentdb-url", "esdb://localhost:2113?tls=false"},
		{"--postgres-url", "postgres://dossier@localhost:5432/dossier"},
		{"--secret-key", strings.Repeat("ab", 32)}} {
		cmd := cli.parse(t, append([]string{"totp-code", "--login", "c.dupont"}, flag...)...)
		var out bytes.Buffer
		cmd.TOTPCode.stdout = &out
		if err := cmd.TOTPCode.Run(staffCmdCtx(t), logger); !errors.Is(err, errTOTPCodeNotLocal) || out.Len() != 0 {
			t.Errorf("with %s: %v, printed %q; want errTOTPCodeNotLocal and nothing printed", flag[0], err, out.String())
		}
	}
}
