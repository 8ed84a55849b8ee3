package casework

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// SchedulerLease is the lease a Scheduler holds while it acts: one scheduler at a time among every process sharing
// the database (replicas on PostgreSQL, a CLI beside the server on SQLite).
const SchedulerLease = "casework.scheduler"

// Defaults of SchedulerDeps.
const (
	DefaultInterval      = 30 * time.Second
	DefaultBatch         = messaging.DefaultBatch
	DefaultLapseTimeout  = 30 * time.Second
	DefaultMaxRetryDelay = time.Hour
)

// LapseFunc records that the information deadline of the request requestID has lapsed (cmd wires it to the
// LapseInformationDeadline command, whose command id makes a repeat harmless). It returns nil when the lapse is
// recorded, also when it already was. An error of kind Rule, Invalid, NotFound or Forbidden is a refusal (the
// deadline is not reached by the command's clock, the request is no longer awaiting information, ...): the
// Scheduler tries again later with back-off. Any other error is retried at the next tick.
type LapseFunc func(ctx context.Context, requestID uuid.UUID) error

// SchedulerDeps configure a Scheduler. DB and Lapse are required; zero values of the others are the defaults.
type SchedulerDeps struct {
	// DB holds the deadlines table (see Migrate) and the lease.
	DB *sqldb.DB
	// Lapse is the port that closes a request whose deadline has lapsed.
	Lapse LapseFunc
	// Now is the clock that decides which deadlines have lapsed; nil: time.Now.
	Now func() time.Time
	// Interval is the time between two looks at the table (the first is at start); default 30s.
	Interval time.Duration
	// Batch is how many due deadlines one query returns (a tick runs as many batches as it needs); default 100.
	Batch int
	// LapseTimeout bounds one call of Lapse; default 30s.
	LapseTimeout time.Duration
	// MaxRetryDelay caps the back-off after refusals (it starts at Interval and doubles); default 1h.
	MaxRetryDelay time.Duration
	// LeaseRetry is how often a scheduler waiting for the lease tries again; default Interval.
	LeaseRetry time.Duration
	// Logger receives the scheduler's logs (identifiers and error descriptions only); nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem at once.
func (d SchedulerDeps) Validate() error {
	c := depcheck.New("casework: scheduler").Require("DB", d.DB).Require("Lapse", d.Lapse)
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"Interval", d.Interval}, {"LapseTimeout", d.LapseTimeout}, {"MaxRetryDelay", d.MaxRetryDelay},
		{"LeaseRetry", d.LeaseRetry}} {
		c.Problem(v.d < 0, "%s must not be negative", v.name)
	}
	return c.Problem(d.Batch < 0, "Batch must not be negative").Err()
}

// withDefaults sets the defaults the scheduler reads itself; messaging.DueRows sets those of Now, Batch and Logger.
func (d SchedulerDeps) withDefaults() SchedulerDeps {
	if d.Interval <= 0 {
		d.Interval = DefaultInterval
	}
	if d.LapseTimeout <= 0 {
		d.LapseTimeout = DefaultLapseTimeout
	}
	if d.MaxRetryDelay <= 0 {
		d.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if d.MaxRetryDelay < d.Interval {
		d.MaxRetryDelay = d.Interval
	}
	if d.LeaseRetry <= 0 {
		d.LeaseRetry = d.Interval
	}
	return d
}

// Scheduler lapses the information deadlines of the table DeadlinesHandler keeps: at start, then every Interval,
// it calls Lapse for each request whose deadline is at or before Now.
//
// The Scheduler never deletes a row: the InformationDeadlineLapsed event the command appends comes back through
// the log and the reaction deletes it, so the table only ever says what the events say. Until then, the row is
// not tried again before ten intervals (a lagging reaction would otherwise make it call Lapse at every tick, which
// is harmless but wasteful). A refused lapse (see LapseFunc) is logged and tried again after a back-off starting at
// Interval and doubling up to MaxRetryDelay, stored in the row (due_at, attempts), so that a refused row never
// loops hot, never holds back the rows behind it and keeps its back-off across restarts. Any other failure is
// retried at the next tick. Nothing is kept in memory: a restart, or another replica taking over, goes on from
// the table.
//
// Only the holder of the lease SchedulerLease acts; the others wait for it. Losing the lease (PostgreSQL's
// connection broke) cancels the calls in flight and sends the scheduler back to waiting.
type Scheduler struct {
	*messaging.Scheduler[dueRow]
	d SchedulerDeps
}

// NewScheduler returns a scheduler; an invalid deps is reported by Run (it lapses due deadlines until ctx ends; a
// database that cannot be reached is logged and tried again).
func NewScheduler(deps SchedulerDeps) *Scheduler {
	d := deps.withDefaults()
	s := &Scheduler{d: d}
	s.Scheduler = messaging.NewScheduler(messaging.DueRows[dueRow]{Leased: messaging.Leased{Lease: SchedulerLease,
		DB: d.DB, Interval: d.Interval, LeaseRetry: d.LeaseRetry, Logger: d.Logger}, Batch: d.Batch, Now: d.Now,
		Read: s.due, Act: s.lapse, What: "casework: due deadlines"}, deps.Validate())
	return s
}

type dueRow struct {
	RequestID         string `db:"request_id"`
	RequestedPosition int64  `db:"requested_position"`
	Attempts          int    `db:"attempts"`
}

// due returns up to limit deadlines lapsed at now and due to be tried.
func (s *Scheduler) due(ctx context.Context, now time.Time, limit int) ([]dueRow, error) {
	var rows []dueRow
	err := s.d.DB.SelectContext(ctx, &rows, s.d.DB.Rebind("SELECT request_id, requested_position, attempts FROM "+
		deadlineTable+" WHERE due_at <= ? AND deadline <= ? ORDER BY due_at, request_id LIMIT ?"),
		dbTime(now), dbTime(now), limit)
	return rows, err
}

// lapse calls the port for one row and records what comes next; false means the row stays due for the next tick.
// Each row tried is either postponed (a success or a refusal) or left due (a failure), and a batch with a failure
// ends the tick (messaging.DueRows).
func (s *Scheduler) lapse(ctx context.Context, log *slog.Logger, row dueRow, now time.Time) bool {
	id, err := uuid.Parse(row.RequestID)
	if err != nil { // never written by the reaction; keep it out of the way rather than fail every tick
		log.Error("casework: malformed request id in the deadlines table", "error", messaging.Describe(err))
		return s.postpone(ctx, log, row, now.Add(s.d.MaxRetryDelay), row.Attempts+1)
	}
	log = log.With("stream", event.NewStreamID(servicerequest.Category, id).String())
	callCtx, cancel := context.WithTimeout(ctx, s.d.LapseTimeout)
	err = s.d.Lapse(callCtx, id)
	cancel()
	switch {
	case err == nil:
		log.Info("casework: information deadline lapsed")
		// The reaction deletes the row when the lapse comes back through the log; until then, leave it be.
		return s.postpone(ctx, log, row, now.Add(10*s.d.Interval), row.Attempts)
	case ctx.Err() != nil:
		return false // stopping, or the lease is lost: the next holder tries again
	case refused(err):
		attempts := row.Attempts + 1
		delay := s.backoff(attempts)
		log.Warn("casework: information deadline lapse refused; trying again later", "error", messaging.Describe(err),
			"attempts", attempts, "retry_in", delay.String())
		return s.postpone(ctx, log, row, now.Add(delay), attempts)
	default:
		log.Warn("casework: information deadline lapse failed; trying at the next tick", "error", messaging.Describe(err))
		return false
	}
}

// refused reports whether trying again at once cannot help: the command refused the lapse as it stands.
func refused(err error) bool {
	switch failure.KindOf(err) {
	case failure.Invalid, failure.Rule, failure.NotFound, failure.Forbidden:
		return true
	}
	return false
}

// backoff is the wait after the attempts-th refusal: Interval, doubling, capped at MaxRetryDelay.
func (s *Scheduler) backoff(attempts int) time.Duration {
	d := s.d.Interval
	for i := 1; i < attempts && d < s.d.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, s.d.MaxRetryDelay)
}

// postpone sets when row is next tried, unless the reaction has replaced (a newer request for information) or
// deleted it meanwhile. false means the row stays due: the tick must end, or it would find the row again at once.
func (s *Scheduler) postpone(ctx context.Context, log *slog.Logger, row dueRow, at time.Time, attempts int) bool {
	return messaging.ExecDue(ctx, s.d.DB, log, "casework: deadline retry time cannot be stored",
		"UPDATE "+deadlineTable+" SET due_at = ?, attempts = ? WHERE request_id = ? AND requested_position = ?",
		dbTime(at), attempts, row.RequestID, row.RequestedPosition)
}
