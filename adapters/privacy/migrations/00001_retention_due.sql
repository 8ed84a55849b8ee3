-- +goose Up
-- The erasures the retention rules have due: one row per data subject whose data is kept until due_at, written by
-- the reaction privacy.retention-due (in the same transaction as its processed-event key) and read by the
-- RetentionScheduler, which destroys the subject's key once due_at is past and sets erased_at. kind names the rule
-- (privacy.Rules); last_position is the commit position of the event the row was last computed from. Times are UTC.
CREATE TABLE privacy_retention_due (
    subject       TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    due_at        TIMESTAMP NOT NULL,
    last_position BIGINT NOT NULL,
    erased_at     TIMESTAMP NULL
);
CREATE INDEX privacy_retention_due_due_at ON privacy_retention_due (due_at);

-- +goose Down
DROP INDEX privacy_retention_due_due_at;
DROP TABLE privacy_retention_due;
