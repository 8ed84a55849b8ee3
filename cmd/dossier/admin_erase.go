package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// eraseMemberActor is who the events of `dossier admin erase-member` and `dossier admin legal-hold` say acted: the
// command, run by an operator (the ticket says on whose request).
var eraseMemberActor = event.Actor{ID: "admin/erase-member", Role: event.RoleSystem}

// AdminEraseMemberCmd is `dossier admin erase-member --member ID --reason member_request|retention_ended --ticket T`:
// it records MemberDataErased on the member's stream; the server's privacy.erase-keys reaction then destroys the
// member's data keys, and the projections show "données effacées". It is refused while a legal hold is in force or
// a request of the member is open (read from the member-requests read model: on the embedded default, run it while
// `dossier serve` runs, so that the read model is up to date). Repeating it with the same ticket records nothing.
type AdminEraseMemberCmd struct {
	Config `embed:""`
	Member string `name:"member" required:"" help:"The member's id (uuid)."`
	Reason string `name:"reason" required:"" enum:"member_request,retention_ended" help:"Why: member_request (the member asked, GDPR art. 17) or retention_ended."`
	Ticket string `name:"ticket" required:"" help:"The reference of the request in the fund's records (letters, digits and . _ / : -; never a name)."`

	stdout io.Writer // nil: os.Stdout (tests set a buffer)
}

// Run records the erasure.
func (c *AdminEraseMemberCmd) Run(ctx context.Context, logger *slog.Logger) error {
	out := stdoutOr(c.stdout)
	id, err := parseMemberID(c.Member)
	if err != nil {
		return err
	}
	h, st, err := memberCommands(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	_, queries := readmodels.New(st.DB, directoryHash(keys))
	correlation := uuid.New()
	logger.Info("erase member data", "correlation_id", correlation, "member_id", id, "reason", c.Reason,
		"event_store", st.EventStoreName)
	res, err := h.WithOpenRequests(queries.Requests).EraseMemberData(ctx,
		command.Meta{Actor: eraseMemberActor, CorrelationID: correlation, CommandID: uuid.New()}, id, c.Reason, c.Ticket)
	if err != nil {
		return refusal(err)
	}
	logger.Info("erase member data: done", "correlation_id", correlation, "member_id", id, "position", res.Position)
	// The member's sessions end (every member command already refuses an erased account: member.erased).
	ended, err := sessions.New(st.DB, sessions.Policy{}, nil).RevokeAllFor(ctx, id, uuid.Nil)
	if err != nil {
		return fmt.Errorf("MemberDataErased is recorded, but the member's sessions could not be ended: %w", err)
	}
	subjects := make([]string, len(res.Subjects))
	for i, s := range res.Subjects {
		subjects[i] = s.String()
	}
	fmt.Fprintf(out, "member:   %s\nreason:   %s\nticket:   %s\nsubjects: %s\nposition: %d\nsessions: %d ended\n\n", id,
		c.Reason, c.Ticket, strings.Join(subjects, ", "), res.Position, ended)
	fmt.Fprintln(out, "MemberDataErased is recorded. The server's privacy.erase-keys reaction destroys the subjects' data keys;\n"+
		"from then on every personal field of the member reads \"données effacées\".")
	return nil
}

// AdminLegalHoldCmd groups `dossier admin legal-hold place|lift`.
type AdminLegalHoldCmd struct {
	Place AdminLegalHoldPlaceCmd `cmd:"" help:"Place a legal hold on a member's data: no erasure until it is lifted."`
	Lift  AdminLegalHoldLiftCmd  `cmd:"" help:"Lift the legal hold of a ticket."`
}

// AdminLegalHoldPlaceCmd is `dossier admin legal-hold place --member ID --ticket T --reason CODE`.
type AdminLegalHoldPlaceCmd struct {
	Config `embed:""`
	Member string `name:"member" required:"" help:"The member's id (uuid)."`
	Ticket string `name:"ticket" required:"" help:"The reference of the hold in the fund's records."`
	Reason string `name:"reason" required:"" enum:"litigation,inspection,fraud_investigation" help:"Why: litigation, inspection or fraud_investigation."`

	stdout io.Writer
}

// Run records LegalHoldPlaced.
func (c *AdminLegalHoldPlaceCmd) Run(ctx context.Context, logger *slog.Logger) error {
	return legalHold(ctx, &c.Config, logger, stdoutOr(c.stdout), c.Member, c.Ticket, func(h *command.Members, m command.Meta, id uuid.UUID) (command.Result, error) {
		return h.PlaceLegalHold(ctx, m, id, c.Ticket, c.Reason)
	}, "placed")
}

// AdminLegalHoldLiftCmd is `dossier admin legal-hold lift --member ID --ticket T`.
type AdminLegalHoldLiftCmd struct {
	Config `embed:""`
	Member string `name:"member" required:"" help:"The member's id (uuid)."`
	Ticket string `name:"ticket" required:"" help:"The reference of the hold to lift."`

	stdout io.Writer
}

// Run records LegalHoldLifted.
func (c *AdminLegalHoldLiftCmd) Run(ctx context.Context, logger *slog.Logger) error {
	return legalHold(ctx, &c.Config, logger, stdoutOr(c.stdout), c.Member, c.Ticket, func(h *command.Members, m command.Meta, id uuid.UUID) (command.Result, error) {
		return h.LiftLegalHold(ctx, m, id, c.Ticket)
	}, "lifted")
}

func legalHold(ctx context.Context, cfg *Config, logger *slog.Logger, out io.Writer, memberText, ticket string,
	run func(*command.Members, command.Meta, uuid.UUID) (command.Result, error), done string) error {
	id, err := parseMemberID(memberText)
	if err != nil {
		return err
	}
	h, st, err := memberCommands(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := run(h, command.Meta{Actor: eraseMemberActor, CorrelationID: uuid.New(), CommandID: uuid.New()}, id)
	if err != nil {
		return refusal(err)
	}
	fmt.Fprintf(out, "legal hold %s: member %s, ticket %s (position %d)\n", done, id, ticket, res.Position)
	return nil
}

// parseMemberID reads --member.
func parseMemberID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, fmt.Errorf("--member %q is not a member id (uuid)", s)
	}
	return id, nil
}

// refusal is a command's refusal as the operator reads it: the code and its French sentence.
func refusal(err error) error {
	code := failure.CodeOf(err)
	if msg, ok := messages.FR(code); ok {
		return fmt.Errorf("refused (%s): %s: %w", code, msg, err)
	}
	return fmt.Errorf("refused (%s): %w", code, err)
}

// memberCommands opens the stores and returns the member command handler (server key, argon2id; no insured-person
// reference: the admin commands register nobody), for the erasure commands; the caller closes the stores.
func memberCommands(ctx context.Context, cfg *Config, logger *slog.Logger) (*command.Members, *stores, error) {
	return adminCommands(ctx, cfg, logger, member.Definitions(),
		func(rt command.Runtime, keys command.Keys, hasher command.PasswordHasher) (*command.Members, error) {
			return command.NewMembers(rt, keys, hasher, nil)
		})
}
