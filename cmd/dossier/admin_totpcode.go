package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/staff"
)

// errTOTPCodeNotLocal refuses `dossier admin totp-code` outside the embedded default: on a real deployment the
// second factor is the staff member's phone, and nobody else should be able to print their codes.
var errTOTPCodeNotLocal = errors.New("totp-code is for local use on the embedded default only " +
	"(no --kurrentdb-url, no --postgres-url, the server key in --secret-key-path): use an authenticator application")

// AdminTOTPCodeCmd is `dossier admin totp-code --login L`: for local use on the embedded default, it prints the code
// an authenticator application would show now for the staff member's current enrolment, so that a developer can log
// in (POST /v1/staff/sessions) without a phone. It derives the secret from the server key as the server does
// (command.StaffTOTPSecret) and prints only the six digits. A code is accepted once: for a second login, wait for the
// next 30-second step. It refuses to run against a KurrentDB cluster, PostgreSQL read models or a server key given
// by flag or environment (errTOTPCodeNotLocal).
type AdminTOTPCodeCmd struct {
	Config `embed:""`
	Login  string `name:"login" required:"" help:"Login of the staff member whose current code is printed."`

	stdout io.Writer // nil: os.Stdout (tests set it)
	now    func() time.Time
}

// Run prints the code.
func (c *AdminTOTPCodeCmd) Run(ctx context.Context, logger *slog.Logger) error {
	if !c.Embedded() || c.PostgresURL != "" || c.SecretKey != "" {
		return errTOTPCodeNotLocal
	}
	out := stdoutOr(c.stdout)
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	_, st, id, err := staffByLogin(ctx, &c.Config, logger, c.Login)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := staffStore(st.Events, st.Keys)
	if err != nil {
		return err
	}
	history, err := store.Load(ctx, staff.StreamFor(id))
	if err != nil {
		return err
	}
	sequence := staff.Rehydrate(id, history).TOTPSequence()
	if sequence == 0 {
		return fmt.Errorf("%s has no second factor enrolled", c.Login)
	}
	code, err := totp.GenerateCodeCustom(command.StaffTOTPSecret(keys, id, sequence), now(), totp.ValidateOpts{
		Period: uint(credentials.TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return fmt.Errorf("totp code: %w", err)
	}
	_, err = fmt.Fprintln(out, code)
	return err
}
