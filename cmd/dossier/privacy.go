package main

import (
	"context"
	"fmt"

	"github.com/msa-dossier/dossier/adapters/privacy"
)

// wirePrivacy registers the privacy reactions (privacy.erase-keys destroys the keys of each MemberDataErased;
// privacy.retention-due keeps the table of erasures the retention rules have due) on a.router and builds the
// retention scheduler, both over eraser, the key store. With a nil eraser (no key store wired) nothing is
// registered and a warning says so: the MemberDataErased events wait in the log, and the reactions, which start
// from the beginning of the log, carry them out once they are registered.
func (a *app) wirePrivacy(ctx context.Context, eraser privacy.KeyEraser) error {
	if err := privacy.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("privacy migrations: %w", err)
	}
	if eraser == nil {
		a.logger.Warn("privacy: no key store; data keys are not destroyed until one is configured")
		return nil
	}
	logger := a.logger.With("component", "privacy")
	if err := privacy.Register(a.router, privacy.Deps{DB: a.stores.DB, Keys: eraser, Logger: logger}); err != nil {
		return err
	}
	a.retention = privacy.NewRetentionScheduler(privacy.SchedulerDeps{DB: a.stores.DB, Keys: eraser, Logger: logger})
	return nil
}
