package messaging

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// MailOnce sends the mail that build returns as handler's effect for the event of env, through OnceExternal: build
// runs only when the mail is still to send, and the mail is recorded as sent once sender took it. Its Message-ID is
// mail.NewMessageID(EffectKey(handler, env.EventID), from) and its Date the event's business time, so that a repeat
// (a crash between sending and recording) is the first copy byte for byte.
//
// messageID is that of the mail sent by this call, "" if none was (already sent, or a failure before sending). A
// failed Send is returned as "<sendFailed>: <error>"; errors of build and of OnceExternal are returned as they are.
func MailOnce(ctx context.Context, db *sqldb.DB, handler string, env event.Envelope, sender mail.Sender, from string,
	sendFailed string, build func(ctx context.Context) (mail.Message, error)) (messageID string, err error) {
	_, err = OnceExternal(ctx, db, handler, env.EventID, func(ctx context.Context, key uuid.UUID) error {
		m, err := build(ctx)
		if err != nil {
			return err
		}
		m.MessageID = mail.NewMessageID(key, from)
		m.Date = env.Metadata.OccurredAt // a repeat is then the first copy, byte for byte
		if err := sender.Send(ctx, m); err != nil {
			return fmt.Errorf("%s: %w", sendFailed, err)
		}
		messageID = m.MessageID
		return nil
	})
	return messageID, err
}
