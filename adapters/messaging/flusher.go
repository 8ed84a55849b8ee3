package messaging

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// checkpointFlusher stores the acknowledged positions of every handler of a Router in ONE transaction per interval
// (one multi-row upsert), instead of one ticker and one transaction per handler. With 21 handlers started at the
// same moment, their tickers fired together: 21 write transactions in a burst every interval, queueing on the
// read-model database's single writer (SQLite) in front of the projections' batches, which consistent reads wait
// for (BENCHMARKS.md, "Writer traffic (session 8)").
//
// A subscription adds its round's ackedPosition when the round starts and removes it before the round's last store
// (its own, when the round ends: with CrashOnStop, none). The guarantees are the per-handler ticker's: a position is
// stored at most an interval after its Ack, only ever forward (checkpointUpsert's guard), so a crash repeats at
// most an interval's worth of acknowledged events. A failed flush is logged and tried again at the next tick (the
// positions stay pending); the handlers go on, their effects have their own keys.
type checkpointFlusher struct {
	db       *sqldb.DB
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	pending map[*ackedPosition]struct{} // the rounds running

	flushMu sync.Mutex // one flush at a time
}

func newCheckpointFlusher(db *sqldb.DB, interval time.Duration, logger *slog.Logger) *checkpointFlusher {
	return &checkpointFlusher{db: db, interval: interval, logger: logger, pending: make(map[*ackedPosition]struct{})}
}

func (f *checkpointFlusher) add(a *ackedPosition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[a] = struct{}{}
}

// remove takes a round out of the flushes: after it returns, no flush stores for it (a flush in progress has
// finished).
func (f *checkpointFlusher) remove(a *ackedPosition) {
	f.mu.Lock()
	delete(f.pending, a)
	f.mu.Unlock()
	f.flushMu.Lock()
	//lint:ignore SA2001 waiting for a flush in progress to end
	f.flushMu.Unlock()
}

// run flushes every interval until ctx ends.
func (f *checkpointFlusher) run(ctx context.Context) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := f.flush(ctx); err != nil && ctx.Err() == nil {
			f.logger.Warn("reactions: checkpoints not stored; trying again at the next interval", "err", err)
		}
	}
}

// flushRow is one handler's checkpoint to store.
type flushRow struct {
	a        *ackedPosition
	position uint64
	at       time.Time
	recorded time.Time
}

// flush stores, in one statement, the acknowledged position of every round that has one past its stored one.
func (f *checkpointFlusher) flush(ctx context.Context) error {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.mu.Lock()
	rows := make([]flushRow, 0, len(f.pending))
	for a := range f.pending {
		if r, ok := a.unstored(); ok {
			rows = append(rows, r)
		}
	}
	f.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	// One row per handler (a handler has one round at a time in a process), in a stable order.
	slices.SortFunc(rows, func(x, y flushRow) int { return strings.Compare(x.a.s.cfg.Handler, y.a.s.cfg.Handler) })
	if err := storeCheckpoints(ctx, f.db, rows); err != nil {
		return err
	}
	for _, r := range rows {
		r.a.markStored(r.position)
	}
	return nil
}

// storeCheckpoints stores several handlers' checkpoints in one statement (only ever forward, as storeCheckpoint).
func storeCheckpoints(ctx context.Context, db *sqldb.DB, rows []flushRow) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.a.s.cfg.Handler, int64(r.position), r.at.UTC(),
			sql.NullTime{Time: r.recorded.UTC(), Valid: !r.recorded.IsZero()}}
	}
	clause, err := checkpointUpsert.ConflictClause()
	if err != nil {
		return err
	}
	if _, err := sqldb.BulkInsert(ctx, db, checkpointUpsert.Table, checkpointUpsert.Columns, values, clause); err != nil {
		return fmt.Errorf("messaging: store %d checkpoints: %w", len(rows), err)
	}
	return nil
}
