package main

import (
	"context"
	"fmt"

	"github.com/msa-dossier/dossier/adapters/privacy"
)

// wirePrivacy registers the privacy reactions (privacy.erase-keys destroys the keys of each MemberDataErased;
// privacy.retention-due keeps the table of erasures the retention rules have due) on a.router and builds the
// retention scheduler, both over eraser, the key store the codec seals with.
func (a *app) wirePrivacy(ctx context.Context, eraser privacy.KeyEraser) error {
	if err := privacy.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("privacy migrations: %w", err)
	}
	logger := a.logger.With("component", "privacy")
	if err := privacy.Register(a.router, privacy.Deps{DB: a.stores.DB, Keys: eraser, Logger: logger}); err != nil {
		return err
	}
	a.retention = privacy.NewRetentionScheduler(privacy.SchedulerDeps{DB: a.stores.DB, Keys: eraser, Logger: logger})
	return nil
}
