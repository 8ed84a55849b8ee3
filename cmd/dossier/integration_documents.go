package main

import (
	"fmt"

	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/domain/command"
)

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
			Members: integration.StoreMembers(store, keys), MaxBytes: a.cfg.IntegrationDocumentMax})})
	if err != nil {
		return fmt.Errorf("documents consumer: %w", err)
	}
	return nil
}
