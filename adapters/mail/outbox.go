package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
)

// OutboxConfig configures a file outbox.
type OutboxConfig struct {
	Dir    string           // directory of the .eml files, created (mode 0700) if missing; required
	From   string           // default author, when a Message has none; required
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // clock for a Message without Date; nil: time.Now
}

// Outbox "sends" a mail by writing it, as the RFC 5322 message SMTP would carry, to one file per
// Message-ID in a directory: the embedded default, and what a developer reads instead of a mailbox.
//
// A file is written under a temporary name, synced, renamed into place, and the directory synced: a crash
// leaves either no file or the whole message, never half of one. Its name derives from the Message-ID
// (FileName), so sending the same message again, as a reaction does after a crash, replaces the file
// rather than adding a second one. Files are mode 0600: they hold personal data and codes.
type Outbox struct {
	dir    string
	from   string
	logger *slog.Logger
	now    func() time.Time
}

var _ Sender = (*Outbox)(nil)

// tempPrefix marks files being written; they never end in .eml, so a reader of *.eml sees whole messages only.
const tempPrefix = ".writing-"

// NewOutbox opens (creating it if needed) the outbox directory and removes the temporary files that a
// crash may have left in it.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	const op = "mail.NewOutbox"
	var errs []error
	if cfg.Dir == "" {
		errs = append(errs, errors.New("outbox directory is required"))
	}
	if _, err := parseAddress(cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("mail from address: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, failure.Wrap(op, failure.Invalid, err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, failure.Wrap(op, failure.Unavailable, fmt.Errorf("create the outbox directory: %w", err))
	}
	o := &Outbox{dir: cfg.Dir, from: cfg.From, logger: cfg.Logger, now: cfg.Now}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	leftovers, err := filepath.Glob(filepath.Join(cfg.Dir, tempPrefix+"*"))
	if err != nil {
		return nil, failure.Wrap(op, failure.Internal, err)
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, failure.Wrap(op, failure.Unavailable, fmt.Errorf("remove a temporary outbox file: %w", err))
		}
	}
	return o, nil
}

// Dir returns the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// FileName returns the name of the file a message with this Message-ID is written to: the Message-ID
// itself plus ".eml" when it is made of letters, digits and ".@_+=-" only (a UUID at a domain always is),
// otherwise the hexadecimal SHA-256 of the Message-ID plus ".eml". Angle brackets are ignored.
func FileName(messageID string) string {
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(messageID), "<"), ">")
	safe := id != "" && len(id) <= 200 && id[0] != '.'
	for i := 0; safe && i < len(id); i++ {
		c := id[i]
		safe = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".@_+=-", c) >= 0
	}
	if safe {
		return id + ".eml"
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:]) + ".eml"
}

// Send writes m to its file, replacing the file of an earlier copy with the same Message-ID. It returns
// once the file and its directory entry are on disk.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	const op = "mail.Outbox.Send"
	e, err := prepare(m, o.from, o.now)
	if err != nil {
		return failure.Wrap(op, failure.Internal, err)
	}
	if err := ctx.Err(); err != nil {
		return failure.Wrap(op, failure.Internal, fmt.Errorf("%w: %w", ErrOutbox, err))
	}
	var buf bytes.Buffer
	if _, err := e.msg().WriteTo(&buf); err != nil {
		return failure.Wrap(op, failure.Internal, fmt.Errorf("render mail: %w", err))
	}
	name := FileName(e.id)
	if err := writeFileAtomic(o.dir, name, buf.Bytes()); err != nil {
		o.logger.WarnContext(ctx, "mail not written", "transport", "outbox", "message_id", e.id)
		return failure.Wrap(op, failure.Internal, fmt.Errorf("%w: %w", ErrOutbox, err))
	}
	o.logger.InfoContext(ctx, "mail written", "transport", "outbox", "message_id", e.id, "file", name)
	return nil
}

// writeFileAtomic puts data in dir/name through a synced temporary file and a rename, then syncs dir so
// that the rename survives a crash.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
