package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
)

// logHead is the end of the event log as a pairing check needs it: kurrentdb.Client.Head satisfies it.
type logHead interface {
	Head(ctx context.Context) (uint64, error)
}

// errUnpaired says that the read-model database was built from a longer event log than the one Dossier is pointed
// at: another event store's (a fresh node beside an old database), or one restored from an older backup. Serving
// on it would show data the log does not hold, and projections and reactions would wait for positions that may
// never come (or apply the new log's events on top of another's). The operator pairs them again.
type errUnpaired struct {
	Consumer string // "projection NAME vVERSION" or "reaction HANDLER"
	Position uint64 // the consumer's checkpoint
	Head     uint64 // the last position of the event log
}

func (e *errUnpaired) Error() string {
	return fmt.Sprintf("the read-model database is ahead of the event store: %s has its checkpoint at position %d, "+
		"the event log ends at %d; it was built from another event store (or from events this one lost). Point "+
		"--events-dir (or --kurrentdb-url) and the read-model database at the pair that belongs together (the "+
		"read-model database also holds the personal-data keys: never replace it with an empty one)", e.Consumer,
		e.Position, e.Head)
}

// checkPairing refuses a read-model database whose projections or reactions have checkpoints beyond the end of
// the event log (errUnpaired). It checks what exists: a database the projections never ran on has no checkpoint
// table yet, which is fine. When the end of the log cannot be read (the event store is down at start), it logs a
// warning and lets the server start: a replica rides out its dependencies' outages.
func checkPairing(ctx context.Context, db *sqldb.DB, head logHead, logger *slog.Logger) error {
	var (
		highest  uint64
		consumer string
	)
	if cps, err := projections.ReadCheckpoints(ctx, db.Reader()); err == nil {
		for _, c := range cps {
			if c.Position > highest {
				highest, consumer = c.Position, fmt.Sprintf("projection %s v%d", c.Name, c.Version)
			}
		}
	} // else: the projections' runtime never ran on this database
	rcs, err := messaging.Checkpoints(ctx, db)
	if err != nil {
		return err
	}
	for _, c := range rcs {
		if c.Position > highest {
			highest, consumer = c.Position, "reaction "+c.Handler
		}
	}
	if highest == 0 {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	end, err := head.Head(hctx)
	if err != nil {
		logger.Warn("cannot read the end of the event log: the read models' pairing with it is not checked", "err", err)
		return nil
	}
	if highest > end {
		return &errUnpaired{Consumer: consumer, Position: highest, Head: end}
	}
	return nil
}
