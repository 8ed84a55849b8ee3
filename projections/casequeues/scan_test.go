package casequeues

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Counts as it was before the counter tables (projection version 1), kept as the tests' oracle and the benchmark's
// same-run baseline: it counts the open cases themselves (scanCounters), then reads the oldest case of each queue,
// one statement per queue.

// scanCounts is Counts by counting the cases.
func (q *Queries) scanCounts(ctx context.Context, queues []string) ([]QueueStats, error) {
	out := statsOf(queues)
	if len(queues) == 0 {
		return out, nil
	}
	if err := q.scanCounters(ctx, out); err != nil {
		return nil, err
	}
	if err := q.oldestScan(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// oldestScan reads the oldest open case of each queue, one statement per queue.
func (q *Queries) oldestScan(ctx context.Context, out []QueueStats) error {
	for i := range out {
		st := &out[i]
		var t []time.Time
		if err := sqlx.SelectContext(ctx, q.db, &t, q.db.Rebind("SELECT c.received_at FROM "+Name+" c WHERE "+open+
			" AND c.queue = ? ORDER BY c.received_at LIMIT 1"), st.Queue); err != nil {
			return fmt.Errorf("casequeues: oldest of %q: %w", st.Queue, err)
		}
		if len(t) == 1 {
			st.Oldest = t[0].UTC()
		}
	}
	return nil
}
