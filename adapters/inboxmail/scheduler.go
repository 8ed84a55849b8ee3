package inboxmail

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// SchedulerLease is the lease the NotificationScheduler holds while it acts.
const SchedulerLease = "inbox.notifications"

// NotifyFunc records that document documentID of member memberID is deemed notified (cmd wires it to
// command.Inbox.DeemNotified, which records nothing for a document already notified). An error is tried again with
// back-off.
type NotifyFunc func(ctx context.Context, memberID, documentID uuid.UUID) error

// SchedulerDeps configure a NotificationScheduler. DB and Notify are required.
type SchedulerDeps struct {
	DB       *sqldb.DB
	Notify   NotifyFunc
	Now      func() time.Time // nil: time.Now (messaging.DueRows)
	Interval time.Duration    // between two looks at the table; default 1m
	Batch    int              // default messaging.DefaultBatch
	Logger   *slog.Logger
}

// NotificationScheduler records the deemed notifications that are due, under SchedulerLease. A row whose
// notification is recorded is deleted (the DeemedNotified event deletes it too); a failed call is tried again
// after a back-off stored in the row, so nothing is kept in memory and a restart or another replica goes on from
// the table.
type NotificationScheduler struct {
	*messaging.Scheduler[dueRow]
	d SchedulerDeps
}

// NewScheduler returns a scheduler; an invalid deps is reported by Run (it records due notifications until ctx ends).
func NewScheduler(d SchedulerDeps) *NotificationScheduler {
	err := depcheck.New("inboxmail: scheduler").Require("DB", d.DB).Require("Notify", d.Notify).
		Problem(d.Interval < 0 || d.Batch < 0, "Interval and Batch must not be negative").Err()
	if d.Interval <= 0 {
		d.Interval = time.Minute
	}
	s := &NotificationScheduler{d: d}
	s.Scheduler = messaging.NewScheduler(messaging.DueRows[dueRow]{Leased: messaging.Leased{Lease: SchedulerLease,
		DB: d.DB, Interval: d.Interval, LeaseRetry: d.Interval, Logger: d.Logger}, Batch: d.Batch, Now: d.Now,
		Read: s.read, Act: s.notify, What: "inboxmail: due notifications"}, err)
	return s
}

type dueRow struct {
	DocumentID string `db:"document_id"`
	MemberID   string `db:"member_id"`
	Attempts   int    `db:"attempts"`
}

func (s *NotificationScheduler) read(ctx context.Context, now time.Time, limit int) ([]dueRow, error) {
	var rows []dueRow
	err := s.d.DB.SelectContext(ctx, &rows, s.d.DB.Rebind("SELECT document_id, member_id, attempts FROM "+dueTable+
		" WHERE due_at <= ? ORDER BY due_at, document_id LIMIT ?"), dbTime(now), limit)
	return rows, err
}

func (s *NotificationScheduler) notify(ctx context.Context, log *slog.Logger, row dueRow, now time.Time) bool {
	id, err1 := uuid.Parse(row.DocumentID)
	memberID, err2 := uuid.Parse(row.MemberID)
	if err1 != nil || err2 != nil {
		log.Error("inboxmail: malformed ids in the due table")
		return s.exec(ctx, log, "DELETE FROM "+dueTable+" WHERE document_id = ?", row.DocumentID)
	}
	log = log.With("document_id", row.DocumentID)
	if err := s.d.Notify(ctx, memberID, id); err != nil {
		if ctx.Err() != nil {
			return false
		}
		attempts := row.Attempts + 1
		delay := messaging.RetryIn(s.d.Interval, attempts)
		log.Warn("inboxmail: deemed notification not recorded; trying again later", "error", messaging.Describe(err),
			"attempts", attempts, "retry_in", delay.String())
		return s.exec(ctx, log, "UPDATE "+dueTable+" SET due_at = ?, attempts = ? WHERE document_id = ?",
			dbTime(now.Add(delay)), attempts, row.DocumentID)
	}
	log.Info("inboxmail: deemed notification recorded")
	return s.exec(ctx, log, "DELETE FROM "+dueTable+" WHERE document_id = ?", row.DocumentID)
}

func (s *NotificationScheduler) exec(ctx context.Context, log *slog.Logger, query string, args ...any) bool {
	return messaging.ExecDue(ctx, s.d.DB, log, "inboxmail: due table not updated", query, args...)
}
