package main

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// memberResolver finds the member of an open account by id (its member stream exists) or by NIR (the nirclaim
// stream, named by the keyed hash of the NIR, names the member, whose stream exists): member.ErrNotFound otherwise.
func memberResolver(store command.EventStore, keys *keyedhash.Hasher) integration.MemberResolver {
	return func(ctx context.Context, id uuid.UUID, n nir.NIR) (uuid.UUID, error) {
		if id == uuid.Nil {
			claim, err := store.Load(ctx, event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body())))
			if err != nil {
				return uuid.Nil, err
			}
			for _, env := range claim {
				if c, ok := env.Event.(member.Claimed); ok {
					id = c.MemberID
				}
			}
			if id == uuid.Nil {
				return uuid.Nil, member.ErrNotFound
			}
		}
		history, err := store.Load(ctx, event.NewStreamID(member.Category, id))
		if err != nil {
			return uuid.Nil, err
		}
		if len(history) == 0 {
			return uuid.Nil, member.ErrNotFound
		}
		return id, nil
	}
}

// wireDocumentsIntegration adds the consumer of integration.DocumentsTopic on the broker wireIntegration opened (none
// without --integration-url): documents of the fund's other systems published into members' inboxes through the
// same command as `dossier admin publish-document`.
func (a *app) wireDocumentsIntegration(store command.EventStore, keys *keyedhash.Hasher, inbox *command.Inbox) error {
	if a.broker == nil {
		return nil
	}
	metrics, err := integration.NewDocumentMetrics(a.registry)
	if err != nil {
		return err
	}
	a.documentsConsumer, err = integration.NewConsumer(integration.ConsumerConfig{Subscriber: a.broker.Subscriber(),
		Topic: integration.DocumentsTopic, Logger: a.logger.With("component", "integration"), Metrics: metrics,
		Ping: a.broker.Ping, Handle: integration.Documents(integration.DocumentsConfig{Publisher: inbox,
			Members: memberResolver(store, keys), MaxBytes: a.cfg.IntegrationDocumentMax})})
	if err != nil {
		return fmt.Errorf("documents consumer: %w", err)
	}
	return nil
}
