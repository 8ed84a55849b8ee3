-- +goose Up
-- The documents of members' inboxes not notified yet: one row per published document, written by the reaction
-- inbox.notification-due (in the same transaction as its processed-event key), deleted when the document is opened
-- or deemed notified, and read by the NotificationScheduler. due_at is when it is deemed notified (made available
-- + 15 days), later after a refused try; attempts counts refusals. Times are UTC.
CREATE TABLE inbox_notification_due (
    document_id TEXT      PRIMARY KEY,
    member_id   TEXT      NOT NULL,
    due_at      TIMESTAMP NOT NULL,
    attempts    INTEGER   NOT NULL
);
CREATE INDEX inbox_notification_due_at ON inbox_notification_due (due_at);

-- +goose Down
DROP INDEX inbox_notification_due_at;
DROP TABLE inbox_notification_due;
