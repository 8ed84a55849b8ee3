package messaging

import (
	"context"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// CrashOnStop makes the handler's rounds end without storing what was acknowledged since the last store, as a
// process killed between an Ack and the next store would.
func CrashOnStop() HandlerOption {
	return func(c *SubscriberConfig) { c.crashOnStop = true }
}

// StoreCheckpoint stores a checkpoint as a subscriber does (a replica that lost its lease may still do it).
func StoreCheckpoint(ctx context.Context, db *sqldb.DB, handler string, position uint64) error {
	return storeCheckpoint(ctx, db, handler, position, time.Now(), time.Time{})
}
