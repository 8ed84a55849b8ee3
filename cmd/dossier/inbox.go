package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/inboxmail"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/letters"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/domain/command"
)

// wireInbox adds the member's inbox (issue 14 item 5): the inbox commands over the blob store, the reactions that
// publish decision letters and payment attestations, the new-document mail, the due table and the scheduler of
// deemed notifications (checked every --deadline-check-interval).
func (a *app) wireInbox(ctx context.Context, store *kurrentdb.Store, sender mail.Sender, blobs *blobstore.Store) (*command.Inbox, error) {
	cmds, err := command.NewInbox(command.Runtime{Store: store}, blobs)
	if err != nil {
		return nil, err
	}
	if err := letters.Register(a.router, letters.Deps{Store: store, Publisher: cmds,
		Logger: a.logger.With("component", "letters")}); err != nil {
		return nil, err
	}
	if err := inboxmail.Migrate(ctx, a.stores.DB); err != nil {
		return nil, fmt.Errorf("inbox migrations: %w", err)
	}
	if err := inboxmail.Register(a.router, inboxmail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Logger: a.logger.With("component", "inboxmail")}); err != nil {
		return nil, err
	}
	a.notifications = inboxmail.NewScheduler(inboxmail.SchedulerDeps{DB: a.stores.DB, Interval: a.cfg.DeadlineCheck,
		Logger: a.logger.With("component", "inbox-notifications"),
		Notify: func(ctx context.Context, memberID, id uuid.UUID) error {
			_, err := cmds.DeemNotified(ctx, memberID, id)
			return err
		}})
	return cmds, nil
}
