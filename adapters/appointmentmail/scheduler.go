package appointmentmail

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// SchedulerLease is the lease the ReminderScheduler holds while it acts.
const SchedulerLease = "appointments.reminders"

// RemindFunc records the reminder of the member's appointment starting at start (cmd wires it to
// command.Appointments.Remind, which records nothing for an appointment no longer booked at that start, and
// nothing twice). An error is tried again with back-off.
type RemindFunc func(ctx context.Context, memberID, appointmentID uuid.UUID, start time.Time) error

// SchedulerDeps configure a ReminderScheduler. DB and Remind are required.
type SchedulerDeps struct {
	DB       *sqldb.DB
	Remind   RemindFunc
	Now      func() time.Time // nil: time.Now (messaging.DueRows)
	Interval time.Duration    // between two looks at the table; default 30s
	Batch    int              // default messaging.DefaultBatch
	Logger   *slog.Logger
}

// ReminderScheduler records the reminders that are due, under SchedulerLease: at start, then every Interval. A
// row whose reminder is recorded is deleted (the AppointmentReminderSent event deletes it too, and Remind records a
// reminder once: a lagging reaction putting the row back costs one idle call); a failed call is tried again after a
// back-off stored in the row (due_at, attempts), so nothing is kept in memory and a restart or another replica goes
// on from the table.
type ReminderScheduler struct {
	*messaging.Scheduler[reminderRow]
	d SchedulerDeps
}

// NewScheduler returns a scheduler; an invalid deps is reported by Run (it records due reminders until ctx ends).
func NewScheduler(d SchedulerDeps) *ReminderScheduler {
	err := depcheck.New("appointmentmail: scheduler").Require("DB", d.DB).Require("Remind", d.Remind).
		Problem(d.Interval < 0 || d.Batch < 0, "Interval and Batch must not be negative").Err()
	if d.Interval <= 0 {
		d.Interval = 30 * time.Second
	}
	s := &ReminderScheduler{d: d}
	s.Scheduler = messaging.NewScheduler(messaging.DueRows[reminderRow]{Leased: messaging.Leased{Lease: SchedulerLease,
		DB: d.DB, Interval: d.Interval, LeaseRetry: d.Interval, Logger: d.Logger}, Batch: d.Batch, Now: d.Now,
		Read: s.due, Act: s.remind, What: "appointmentmail: due reminders"}, err)
	return s
}

type reminderRow struct {
	AppointmentID string    `db:"appointment_id"`
	MemberID      string    `db:"member_id"`
	StartAt       time.Time `db:"start_at"`
	Attempts      int       `db:"attempts"`
}

func (s *ReminderScheduler) due(ctx context.Context, now time.Time, limit int) ([]reminderRow, error) {
	var rows []reminderRow
	err := s.d.DB.SelectContext(ctx, &rows, s.d.DB.Rebind("SELECT appointment_id, member_id, start_at, attempts FROM "+
		reminderTable+" WHERE due_at <= ? ORDER BY due_at, appointment_id LIMIT ?"), dbTime(now), limit)
	return rows, err
}

func (s *ReminderScheduler) remind(ctx context.Context, log *slog.Logger, row reminderRow, now time.Time) bool {
	id, err1 := uuid.Parse(row.AppointmentID)
	memberID, err2 := uuid.Parse(row.MemberID)
	if err1 != nil || err2 != nil {
		log.Error("appointmentmail: malformed ids in the reminders table")
		return s.exec(ctx, log, "DELETE FROM "+reminderTable+" WHERE appointment_id = ?", row.AppointmentID)
	}
	log = log.With("appointment_id", row.AppointmentID)
	if err := s.d.Remind(ctx, memberID, id, row.StartAt.UTC()); err != nil {
		if ctx.Err() != nil {
			return false
		}
		attempts := row.Attempts + 1
		delay := messaging.RetryIn(s.d.Interval, attempts)
		log.Warn("appointmentmail: reminder not recorded; trying again later", "error", messaging.Describe(err),
			"attempts", attempts, "retry_in", delay.String())
		return s.exec(ctx, log, "UPDATE "+reminderTable+" SET due_at = ?, attempts = ? WHERE appointment_id = ? AND start_at = ?",
			dbTime(now.Add(delay)), attempts, row.AppointmentID, dbTime(row.StartAt))
	}
	log.Info("appointmentmail: reminder recorded")
	return s.exec(ctx, log, "DELETE FROM "+reminderTable+" WHERE appointment_id = ? AND start_at = ?",
		row.AppointmentID, dbTime(row.StartAt))
}

func (s *ReminderScheduler) exec(ctx context.Context, log *slog.Logger, query string, args ...any) bool {
	return messaging.ExecDue(ctx, s.d.DB, log, "appointmentmail: reminders table not updated", query, args...)
}
