package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// `dossier admin reset-totp`: the staff member's old secret stops working, the printed one enrols at the next login,
// and the event names the command as its actor.
func TestAdminResetTOTPCommand(t *testing.T) {
	cli, created := newCLIWithCaseworker(t)
	logger := slog.New(slog.DiscardHandler)
	oldSecret := staffCmdField(t, created, "TOTP secret")
	staffID := uuid.MustParse(staffCmdField(t, created, "staff id"))

	reset := cli.parse(t, "reset-totp", "--login", "C.Dupont")
	var out bytes.Buffer
	reset.ResetTOTP.stdout = &out
	if err := reset.ResetTOTP.Run(staffCmdCtx(t), logger); err != nil {
		t.Fatalf("reset-totp: %v\n%s", err, out.String())
	}
	newSecret := staffCmdField(t, out.String(), "TOTP secret")
	if newSecret == oldSecret || staffCmdField(t, out.String(), "login") != "c.dupont" ||
		staffCmdField(t, out.String(), "staff id") != staffID.String() || !strings.Contains(out.String(), "will not be shown again") {
		t.Fatalf("output:\n%s", out.String())
	}
	if key, err := otp.NewKeyFromURL(staffCmdField(t, out.String(), "TOTP URL")); err != nil || key.Secret() != newSecret {
		t.Errorf("TOTP URL: %v", err)
	}
	unknown := cli.parse(t, "reset-totp", "--login", "personne")
	unknown.ResetTOTP.stdout = &bytes.Buffer{}
	if err := unknown.ResetTOTP.Run(staffCmdCtx(t), logger); err == nil || !strings.Contains(err.Error(), "staff.not_found") {
		t.Errorf("unknown login: %v", err)
	}

	h := staffHandlerOn(t, cli, logger)
	login := func(secret string) error {
		code, err := totp.GenerateCodeCustom(secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.StaffLogin(staffCmdCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()}, "c.dupont", dupontPassword, code, uuid.New())
		return err
	}
	if err := login(oldSecret); failure.CodeOf(err) != "auth.invalid_credentials" {
		t.Errorf("login with the old secret: %v", err)
	}
	if err := login(newSecret); err != nil {
		t.Errorf("login with the new secret: %v", err)
	}
	history, err := h.Store.Load(staffCmdCtx(t), staff.StreamFor(staffID))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, env := range history {
		if _, ok := env.Event.(staff.TOTPReset); ok {
			found = env.Metadata.Actor == resetTOTPActor
		}
	}
	if !found {
		t.Error("no TOTP reset recorded by the command")
	}
}
