package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// AdminRotateKEKCmd re-wraps every personal-data key under the current data KEK (--data-kek), reading the keys
// wrapped under an older one with --data-kek-previous. The data keys, and so the events, do not change; only the
// read-model database is touched, so it runs beside the servers (restart them with the new KEK first: new keys are
// then wrapped under it). Running it again re-wraps nothing more.
type AdminRotateKEKCmd struct {
	Config `embed:""`

	stdout io.Writer // os.Stdout when nil (tests set a buffer)
}

// Run re-wraps the keys and prints how many.
func (c *AdminRotateKEKCmd) Run(ctx context.Context, logger *slog.Logger) error {
	db, err := c.open(ctx, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := openKeyStore(ctx, db, c.DataKeyConfig)
	if err != nil {
		return err
	}
	n, err := keys.Rotate(ctx)
	if err != nil {
		return fmt.Errorf("rotate-kek (running it again is safe): %w", err)
	}
	logger.Info("rotate data KEK: done", "kek_id", keys.CurrentKEKID(), "rewrapped", n)
	fmt.Fprintf(stdoutOr(c.stdout), "re-wrapped %d data key(s) under KEK %s\n"+
		"every live key is now under it: remove the old KEK from --data-kek-previous once every server runs with the new one\n",
		n, keys.CurrentKEKID())
	return nil
}
