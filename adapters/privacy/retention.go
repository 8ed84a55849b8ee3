package privacy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
)

// The kinds of data a retention rule applies to (Rule.Kind, stored in the retention table: never rename one).
const (
	// KindRegistrationNotCompleted is a registration that never opened an account: started and then abandoned,
	// refused, or locked after too many wrong codes. Its subject is the registration's id.
	KindRegistrationNotCompleted = "registration_not_completed"
)

// Rule is a retention rule: the data of kind Kind is erased After the last event that concerns it.
type Rule struct {
	Kind  string
	After time.Duration
}

// Rules are the retention rules in force, as data.
//
// A registration never completed is kept 90 days after its last event: long enough to answer the person who comes
// back about an attempt that failed (a refusal, a lock) or to investigate a fraudulent one, and no longer, since the
// data of an abandoned procedure may only be kept as long as needed for its purpose (GDPR art. 5(1)(e); CNIL's
// guidance on retention periods for data collected by an online procedure that is not pursued). A completed
// registration's data lives on with the account it opened, and is erased with the member's (member.DataErased
// names the registration among its subjects).
//
// Account closure does not exist yet: when it does, its rule (the member's data erased at the end of the fund's
// retention period after closure) comes here. Until then the only erasure of a member's data is the explicit one
// (dossier admin erase-member, with reason member.ErasureRequested or member.ErasureRetentionEnded).
var Rules = []Rule{
	{Kind: KindRegistrationNotCompleted, After: 90 * 24 * time.Hour},
}

// retentionTable holds the erasures due (see migrations/).
const retentionTable = "privacy_retention_due"

// dbTime is how times go into the table: UTC, to the microsecond (PostgreSQL's precision).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var upsertDue = sqldb.Upsert{
	Table:   retentionTable,
	Columns: []string{"subject", "kind", "due_at", "last_position", "erased_at"},
	Key:     []string{"subject"},
}

// after returns the retention of kind in rules, and whether there is a rule for it.
func after(rules []Rule, kind string) (time.Duration, bool) {
	for _, r := range rules {
		if r.Kind == kind {
			return r.After, true
		}
	}
	return 0, false
}

// retention keeps the table of erasures due: every event of a registration not completed (re)schedules its
// erasure After its time; RegistrationCompleted, and a DataErased naming the registration, take it off.
func (r *reactions) retention(msg *message.Message) error {
	stream := msg.Metadata.Get(messaging.MetaStream)
	isRegistration := strings.HasPrefix(stream, registration.Category+"-")
	isErasure := strings.HasPrefix(stream, member.Category+"-") &&
		msg.Metadata.Get(messaging.MetaEventType) == member.TypeDataErased
	if !isRegistration && !isErasure {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	var change func(ctx context.Context, tx *sqldb.Tx) error
	remove := func(subjects ...uuid.UUID) func(ctx context.Context, tx *sqldb.Tx) error {
		return func(ctx context.Context, tx *sqldb.Tx) error {
			for _, s := range subjects {
				if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM "+retentionTable+" WHERE subject = ?"),
					s.String()); err != nil {
					return err
				}
			}
			return nil
		}
	}
	switch e := env.Event.(type) {
	case member.DataErased:
		change = remove(e.Subjects...)
	case registration.Completed:
		change = remove(env.Stream.ID)
	case registration.Started, registration.Refused, registration.CodeIssued, registration.CodeRejected,
		registration.Locked:
		keep, ok := after(r.Rules, KindRegistrationNotCompleted)
		if !ok || env.Stream.Category != registration.Category {
			return nil
		}
		subject := env.Metadata.Subject
		if subject == uuid.Nil {
			subject = env.Stream.ID
		}
		due := dbTime(env.Metadata.OccurredAt.Add(keep))
		change = func(ctx context.Context, tx *sqldb.Tx) error {
			return upsertDue.Exec(ctx, tx, subject.String(), KindRegistrationNotCompleted, due, int64(env.Position), nil)
		}
	default:
		return nil
	}
	ctx := msg.Context()
	ran, err := messaging.Once(ctx, r.DB, RetentionHandler, env.EventID, func(tx *sqldb.Tx) error {
		return change(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("privacy: retention of %s: %w", env.Stream, err)
	}
	if ran {
		r.Logger.Debug("privacy: retention updated", "handler", RetentionHandler, "stream", env.Stream.String(),
			"event_type", env.Type, "event_id", env.EventID.String(), "position", env.Position)
	}
	return nil
}

// Due is a row of the retention table: what an operator or a test looks at.
type Due struct {
	Subject  string
	Kind     string
	DueAt    time.Time
	ErasedAt time.Time // zero while the key is not destroyed
}

// Dues returns the retention table, earliest first.
func Dues(ctx context.Context, db *sqldb.DB) ([]Due, error) {
	var rows []struct {
		Subject  string     `db:"subject"`
		Kind     string     `db:"kind"`
		DueAt    time.Time  `db:"due_at"`
		ErasedAt *time.Time `db:"erased_at"`
	}
	if err := db.SelectContext(ctx, &rows, "SELECT subject, kind, due_at, erased_at FROM "+retentionTable+
		" ORDER BY due_at, subject"); err != nil {
		return nil, fmt.Errorf("privacy: retention table: %w", err)
	}
	out := make([]Due, len(rows))
	for i, row := range rows {
		out[i] = Due{Subject: row.Subject, Kind: row.Kind, DueAt: row.DueAt.UTC()}
		if row.ErasedAt != nil {
			out[i].ErasedAt = row.ErasedAt.UTC()
		}
	}
	return out, nil
}

// RetentionLease is the lease a RetentionScheduler holds while it acts.
const RetentionLease = "privacy.retention"

// Defaults of SchedulerDeps.
const (
	DefaultInterval     = time.Hour
	DefaultBatch        = messaging.DefaultBatch
	DefaultEraseTimeout = 30 * time.Second
)

// SchedulerDeps configure a RetentionScheduler. DB and Keys are required; zero values of the others are the
// defaults.
type SchedulerDeps struct {
	// DB holds the retention table (see Migrate) and the lease.
	DB *sqldb.DB
	// Keys destroys the data keys.
	Keys KeyEraser
	// Now is the clock that decides which erasures are due; nil: time.Now.
	Now func() time.Time
	// Interval is the time between two looks at the table (the first is at start); default 1h.
	Interval time.Duration
	// Batch is how many due rows one query returns (a tick runs as many batches as it needs); default 100.
	Batch int
	// EraseTimeout bounds one call of Keys.Erase; default 30s.
	EraseTimeout time.Duration
	// LeaseRetry is how often a scheduler waiting for the lease tries again; default Interval.
	LeaseRetry time.Duration
	// Logger receives the scheduler's logs (ids only); nil discards them.
	Logger *slog.Logger
}

// Validate reports every problem at once.
func (d SchedulerDeps) Validate() error {
	c := depcheck.New("privacy: retention scheduler").Require("DB", d.DB).Require("Keys", d.Keys)
	c.Problem(d.Interval < 0 || d.EraseTimeout < 0 || d.LeaseRetry < 0, "durations must not be negative")
	return c.Problem(d.Batch < 0, "Batch must not be negative").Err()
}

// withDefaults sets the defaults the scheduler reads itself; messaging.DueRows sets those of Now, Batch and Logger.
func (d SchedulerDeps) withDefaults() SchedulerDeps {
	if d.Interval <= 0 {
		d.Interval = DefaultInterval
	}
	if d.EraseTimeout <= 0 {
		d.EraseTimeout = DefaultEraseTimeout
	}
	if d.LeaseRetry <= 0 {
		d.LeaseRetry = d.Interval
	}
	return d
}

// RetentionScheduler destroys the keys of the subjects whose retention has ended: at start, then every Interval,
// for each row of the retention table due at or before Now and not yet erased, it calls Keys.Erase and then sets
// the row's erased_at (the row stays, as the record of what was erased when). A failure leaves the row due for the
// next tick: destroying a key is idempotent, so trying again is always safe. Nothing is kept in memory: a restart,
// or another replica taking over, goes on from the table. Only the holder of the lease RetentionLease acts
// (messaging.DueRows over messaging.Leased).
type RetentionScheduler struct {
	*messaging.Scheduler[dueErasure]
	d SchedulerDeps
}

// NewRetentionScheduler returns a scheduler; an invalid deps is reported by Run (it erases due subjects until ctx
// ends).
func NewRetentionScheduler(deps SchedulerDeps) *RetentionScheduler {
	d := deps.withDefaults()
	s := &RetentionScheduler{d: d}
	s.Scheduler = messaging.NewScheduler(messaging.DueRows[dueErasure]{Leased: messaging.Leased{Lease: RetentionLease,
		DB: d.DB, Interval: d.Interval, LeaseRetry: d.LeaseRetry, Logger: d.Logger}, Batch: d.Batch, Now: d.Now,
		Read: s.due, Act: s.eraseDue, StopAtFailure: true, What: "privacy: due erasures"}, deps.Validate())
	return s
}

// dueErasure is a row of the retention table due and not yet erased.
type dueErasure struct {
	Subject      string `db:"subject"`
	Kind         string `db:"kind"`
	LastPosition int64  `db:"last_position"`
}

// due returns up to limit subjects due at now and not yet erased.
func (s *RetentionScheduler) due(ctx context.Context, now time.Time, limit int) ([]dueErasure, error) {
	var rows []dueErasure
	err := s.d.DB.SelectContext(ctx, &rows, s.d.DB.Rebind("SELECT subject, kind, last_position FROM "+
		retentionTable+" WHERE erased_at IS NULL AND due_at <= ? ORDER BY due_at, subject LIMIT ?"),
		dbTime(now), limit)
	return rows, err
}

// eraseDue destroys the data keys of row's subject and records it; false means the row stays due for the next tick,
// and the tick stops there (messaging.DueRows, StopAtFailure).
func (s *RetentionScheduler) eraseDue(ctx context.Context, log *slog.Logger, row dueErasure, now time.Time) bool {
	subject, err := uuid.Parse(row.Subject)
	if err != nil { // never written by the reaction
		log.Error("privacy: malformed subject in the retention table", "error", messaging.Describe(err))
		return false
	}
	callCtx, cancel := context.WithTimeout(ctx, s.d.EraseTimeout)
	err = erase(callCtx, s.d.Keys, subject)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("privacy: data key not destroyed; trying at the next tick", "subject", row.Subject,
				"kind", row.Kind, "error", messaging.Describe(err))
		}
		return false
	}
	// Only the row as read: a newer event of the subject (rescheduling it) wins.
	if !messaging.ExecDue(ctx, s.d.DB, log.With("subject", row.Subject), "privacy: erasure not recorded",
		"UPDATE "+retentionTable+" SET erased_at = ? WHERE subject = ? AND last_position = ?",
		dbTime(now), row.Subject, row.LastPosition) {
		return false
	}
	log.Info("privacy: retention ended, data key destroyed", "subject", row.Subject, "kind", row.Kind)
	return true
}
