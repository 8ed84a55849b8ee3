package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/msa-dossier/dossier/adapters/appointmentmail"
	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/inboxmail"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/privacy"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/projections"
)

// MigrateCmd creates or upgrades the read-model tables (and the key store's), so a release can be migrated before its replicas start
// (serve does it too, and both are safe from several replicas at once).
type MigrateCmd struct {
	DBConfig  `embed:""`
	KeyConfig `embed:""`
}

// Run applies the migrations.
func (c *MigrateCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := c.open(ctx, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := messaging.Migrate(ctx, db); err != nil {
		return fmt.Errorf("reactions: %w", err)
	}
	if err := casework.Migrate(ctx, db); err != nil {
		return fmt.Errorf("casework: %w", err)
	}
	if err := appointmentmail.Migrate(ctx, db); err != nil {
		return fmt.Errorf("appointment reminders: %w", err)
	}
	if err := inboxmail.Migrate(ctx, db); err != nil {
		return fmt.Errorf("inbox notifications: %w", err)
	}
	if err := sessions.Migrate(ctx, db); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	// The key store's table: not a projection (never dropped nor rebuilt), migrated like the other owners.
	if err := keystore.Migrate(ctx, db); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	if err := privacy.Migrate(ctx, db); err != nil {
		return fmt.Errorf("privacy: %w", err)
	}
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	if err := projections.Setup(ctx, db, readModels(keys)...); err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	fmt.Printf("read models of %s are up to date\n", c.ReadModelName())
	return nil
}
