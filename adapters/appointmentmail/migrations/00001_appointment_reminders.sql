-- +goose Up
-- The appointment reminders still to send: one row per booked appointment, written by the reaction
-- appointments.reminders-due (in the same transaction as its processed-event key) and read by the ReminderScheduler.
-- start_at is the appointment's start the reminder is for; due_at when it is due (start_at less the lead), later
-- after a refused try; attempts counts refusals. Times are UTC.
CREATE TABLE appointment_reminder (
    appointment_id TEXT PRIMARY KEY,
    member_id      TEXT      NOT NULL,
    start_at       TIMESTAMP NOT NULL,
    due_at         TIMESTAMP NOT NULL,
    attempts       INTEGER   NOT NULL
);
CREATE INDEX appointment_reminder_due_at ON appointment_reminder (due_at);

-- +goose Down
DROP INDEX appointment_reminder_due_at;
DROP TABLE appointment_reminder;
