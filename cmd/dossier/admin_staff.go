package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// createStaffActor is who the events of `dossier admin create-staff` say acted: the command, run by an operator.
var createStaffActor = event.Actor{ID: "admin/create-staff", Role: event.RoleSystem}

// generatedPasswordLength and generatedPasswordAlphabet make --generate-password's passwords: 24 characters drawn
// uniformly from 56 letters and digits (no 0/O, 1/l/I, which are misread when handed over on paper), about 139 bits.
const (
	generatedPasswordLength   = 24
	generatedPasswordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
)

// AdminCreateStaffCmd is `dossier admin create-staff --login L --name N --role caseworker [--role medical]` (also
// --roles caseworker,medical): it opens
// a staff account (the way to bootstrap the first administrator) and prints, once, the staff id and the TOTP
// enrolment (otpauth URL and secret) to hand over to the staff member, who confirms it with a first code when
// logging in. The password is read from standard input (one line; not echoed on a terminal), or generated with
// --generate-password and printed once.
//
// With the embedded event store, while `dossier serve` runs, the command talks to the server's node.
type AdminCreateStaffCmd struct {
	Config           `embed:""`
	Login            string   `name:"login" required:"" help:"Login: 3 to 64 lower-case letters, digits, '.' or '-'."`
	Name             string   `name:"name" required:"" help:"The staff member's name, as shown to other staff."`
	Roles            []string `name:"role" aliases:"roles" required:"" help:"Role: caseworker, supervisor, auditor or admin; add medical for a member of the medical service, the only staff who see and work confidential (medical) queues (repeat the flag, or separate with commas, for several)."`
	GeneratePassword bool     `name:"generate-password" help:"Generate a password (24 random characters, printed once) instead of reading one line from standard input."`

	stdin  io.Reader // nil: os.Stdin (tests set it)
	stdout io.Writer // nil: os.Stdout
	stderr io.Writer // nil: os.Stderr (the prompt on a terminal)
}

// Run creates the account.
func (c *AdminCreateStaffCmd) Run(ctx context.Context, logger *slog.Logger) error {
	out := stdoutOr(c.stdout)
	password, err := c.password()
	if err != nil {
		return err
	}
	h, st, err := staffCommands(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	correlation := uuid.New()
	logger.Info("create staff account", "correlation_id", correlation, "event_store", st.EventStoreName)
	res, err := h.CreateStaff(ctx, command.Meta{Actor: createStaffActor, CorrelationID: correlation, CommandID: uuid.New()},
		command.CreateStaffInput{Login: c.Login, Name: c.Name, Roles: c.Roles, Password: password})
	if err != nil {
		if field := failure.FieldOf(err); field != "" {
			return fmt.Errorf("%s refused (%s): %w", field, failure.CodeOf(err), err)
		}
		return fmt.Errorf("refused (%s): %w", failure.CodeOf(err), err)
	}
	logger.Info("create staff account: done", "correlation_id", correlation, "staff_id", res.StaffID, "position", res.Position)
	login, _ := staff.CanonicalLogin(c.Login)
	roles, _ := staff.NormalizeRoles(c.Roles)
	fmt.Fprintf(out, "staff id:    %s\nlogin:       %s\nroles:       %s\n", res.StaffID, login, strings.Join(roles, ", "))
	if c.GeneratePassword {
		fmt.Fprintf(out, "password:    %s\n", password)
	}
	fmt.Fprintf(out, "TOTP secret: %s\nTOTP URL:    %s\n\n", res.TOTPSecret, res.TOTPURL)
	what := "The TOTP secret and URL"
	if c.GeneratePassword {
		what = "The password, the TOTP secret and URL"
	}
	fmt.Fprintf(out, "%s are shown now and will not be shown again: hand them over to the staff member in person.\n"+
		"They add the secret to an authenticator application (or scan the URL as a QR code); their first login with a\n"+
		"valid code confirms the enrolment.\n", what)
	return nil
}

// password returns the generated password, or the one line read from standard input (without echo on a terminal).
func (c *AdminCreateStaffCmd) password() (string, error) {
	if c.GeneratePassword {
		return generatePassword(c.Login, c.Name)
	}
	in := c.stdin
	if in == nil {
		in = os.Stdin
		if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
			errOut := c.stderr
			if errOut == nil {
				errOut = os.Stderr
			}
			fmt.Fprint(errOut, "Password of the staff member (at least 14 characters): ")
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(errOut)
			if err != nil {
				return "", fmt.Errorf("read the password: %w", err)
			}
			return checkPasswordLine(string(b))
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return checkPasswordLine(strings.TrimRight(line, "\r\n"))
}

// checkPasswordLine refuses an empty password line.
func checkPasswordLine(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("no password on standard input: give one line, or use --generate-password")
	}
	return pw, nil
}

// generatePassword returns a random password that passes the staff password policy (a random draw that happens to
// contain the login, say, is drawn again).
func generatePassword(login, name string) (string, error) {
	size := big.NewInt(int64(len(generatedPasswordAlphabet)))
	for range 10 {
		var b strings.Builder
		for range generatedPasswordLength {
			n, err := rand.Int(rand.Reader, size)
			if err != nil {
				return "", fmt.Errorf("generate a password: %w", err)
			}
			b.WriteByte(generatedPasswordAlphabet[n.Int64()])
		}
		if staff.CheckPassword(credentials.Strength{}, b.String(), login, name) == nil {
			return b.String(), nil
		}
	}
	return "", errors.New("generate a password: no draw passed the password policy")
}

// staffCommands opens the stores and returns the staff command handler (key, argon2id; no TOTP validator: the admin
// commands create accounts and reset second factors, they log nobody in), for the admin commands; the caller closes
// the stores.
func staffCommands(ctx context.Context, cfg *Config, logger *slog.Logger) (*command.Staff, *stores, error) {
	return adminCommands(ctx, cfg, logger, staff.Definitions(),
		func(rt command.Runtime, keys command.Keys, hasher command.PasswordHasher) (*command.Staff, error) {
			return command.NewStaff(rt, keys, hasher, nil)
		})
}

// adminCommands opens the stores and returns the command handler of an admin command: newHandler builds it over an
// event store whose codec knows defs (sealed by the key store), with the server key and an argon2id hasher. The
// caller closes the stores; they are closed here when the handler cannot be built.
func adminCommands[H any](ctx context.Context, cfg *Config, logger *slog.Logger, defs []event.Definition,
	newHandler func(command.Runtime, command.Keys, command.PasswordHasher) (H, error)) (H, *stores, error) {
	var zero H
	keys, err := cfg.keyedHasher()
	if err != nil {
		return zero, nil, err
	}
	hasher, err := credentials.NewHasher(credentials.Config{})
	if err != nil {
		return zero, nil, err
	}
	st, err := openStores(ctx, cfg, logger)
	if err != nil {
		return zero, nil, err
	}
	store, err := eventStore(st.Events, st.Keys, defs)
	if err == nil {
		var h H
		if h, err = newHandler(command.Runtime{Store: store}, keys, hasher); err == nil {
			return h, st, nil
		}
	}
	st.Close()
	return zero, nil, err
}

// staffByLogin opens the stores as staffCommands does and looks up the staff member of login; a login the handler
// refuses is "login refused (code): …", and the stores are then closed. Otherwise the caller closes them.
func staffByLogin(ctx context.Context, cfg *Config, logger *slog.Logger, login string) (*command.Staff, *stores, uuid.UUID, error) {
	h, st, err := staffCommands(ctx, cfg, logger)
	if err != nil {
		return nil, nil, uuid.Nil, err
	}
	id, err := h.StaffIDForLogin(ctx, login)
	if err != nil {
		st.Close()
		return nil, nil, uuid.Nil, fmt.Errorf("login refused (%s): %w", failure.CodeOf(err), err)
	}
	return h, st, id, nil
}

// stdoutOr returns w, or os.Stdout when w is nil (the admin commands print to os.Stdout; tests set a buffer).
func stdoutOr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stdout
	}
	return w
}

// staffStore returns a store over client whose codec knows the staff events (the admin commands touch only staff
// and stafflogin streams), sealed by keys (see eventRegistry).
func staffStore(client *kurrentdb.Client, keys *keystore.Store) (*kurrentdb.Store, error) {
	return eventStore(client, keys, staff.Definitions())
}
