package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Scheduler is the scheduler of a due table: a DueRows job behind the check of its dependencies. The schedulers of
// adapters/casework (deadlines), adapters/privacy (retention), adapters/appointmentmail (reminders) and
// adapters/inboxmail (deemed notifications) embed one and keep only their query (DueRows.Read) and their action
// (DueRows.Act).
type Scheduler[R any] struct {
	rows DueRows[R]
	err  error
}

// NewScheduler returns the scheduler of rows; a non-nil err (its dependencies are invalid) is what Run returns.
func NewScheduler[R any](rows DueRows[R], err error) *Scheduler[R] {
	return &Scheduler[R]{rows: rows, err: err}
}

// Run acts on the due rows until ctx ends, then returns nil (DueRows.Run: a database that cannot be reached is
// logged and tried again); it returns an error only for invalid dependencies.
func (s *Scheduler[R]) Run(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	s.rows.Run(ctx)
	return nil
}

// ExecDue runs one statement (query written with ?) on a due table for the row a DueRows.Act is on, and reports
// whether it went through. A failure is logged as "<failed>; trying at the next tick" (unless ctx has ended) and
// leaves the row due: Act returns false.
func ExecDue(ctx context.Context, db *sqldb.DB, log *slog.Logger, failed, query string, args ...any) bool {
	if _, err := db.ExecContext(ctx, db.Rebind(query), args...); err != nil {
		if ctx.Err() == nil {
			log.Warn(failed+"; trying at the next tick", "error", Describe(err))
		}
		return false
	}
	return true
}

// RetryIn is how long a due row waits after its attempts-th failed call: interval doubled attempts times (ten at
// the most), an hour at the most.
func RetryIn(interval time.Duration, attempts int) time.Duration {
	return min(interval<<min(attempts, 10), time.Hour)
}
