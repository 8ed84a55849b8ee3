package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// resetTOTPActor is who the events of `dossier admin reset-totp` say acted: the command, run by an operator (as
// create-staff). An administrator with a session uses POST /v1/staff/accounts/{id}/totp-reset, which records them.
var resetTOTPActor = event.Actor{ID: "admin/reset-totp", Role: event.RoleSystem}

// AdminResetTOTPCmd is `dossier admin reset-totp --login L`: it resets the second factor of a staff member who lost
// their phone (StaffTOTPReset, then a new enrolment): the old secret stops working at once, every session of the
// staff member ends, and the command prints the new secret once, to hand over in person; the staff member confirms
// it with a first code at the next login, as on the first. It is also the way back in for the last administrator.
//
// With the embedded event store, while `dossier serve` runs, the command talks to the server's node.
type AdminResetTOTPCmd struct {
	Config `embed:""`
	Login  string `name:"login" required:"" help:"Login of the staff member whose second factor is reset."`

	stdout io.Writer // nil: os.Stdout (tests set it)
}

// Run resets the second factor.
func (c *AdminResetTOTPCmd) Run(ctx context.Context, logger *slog.Logger) error {
	out := stdoutOr(c.stdout)
	h, st, id, err := staffByLogin(ctx, &c.Config, logger, c.Login)
	if err != nil {
		return err
	}
	defer st.Close()
	correlation := uuid.New()
	logger.Info("reset staff TOTP", "correlation_id", correlation, "staff_id", id, "event_store", st.EventStoreName)
	res, err := h.ResetStaffTOTP(ctx, command.Meta{Actor: resetTOTPActor, CorrelationID: correlation, CommandID: uuid.New()}, id)
	if err != nil {
		return fmt.Errorf("refused (%s): %w", failure.CodeOf(err), err)
	}
	// The event already ends the sessions (each staff request reads the stream); the session table is brought in line
	// when it is there (a database never served has none, and so no session).
	ended, err := sessions.New(st.DB, sessions.Policy{}, nil).RevokeAllFor(ctx, id, uuid.Nil)
	if err != nil {
		logger.Warn("reset staff TOTP: session table not updated; the staff stream ends the sessions all the same",
			"correlation_id", correlation, "staff_id", id, "err", err)
	}
	logger.Info("reset staff TOTP: done", "correlation_id", correlation, "staff_id", id, "position", res.Position,
		"sessions_ended", ended)
	fmt.Fprintf(out, "staff id:    %s\nlogin:       %s\nTOTP secret: %s\nTOTP URL:    %s\n\n", res.StaffID, res.Login, res.TOTPSecret, res.TOTPURL)
	fmt.Fprintf(out, "The previous second factor no longer works and every session of this staff member has ended.\n"+
		"The TOTP secret and URL are shown now and will not be shown again: hand them over to the staff member in person.\n"+
		"They add the secret to an authenticator application (or scan the URL as a QR code); their next login with a\n"+
		"valid code confirms the new enrolment.\n")
	return nil
}
