-- +goose Up
-- The information deadlines still pending: one row per service request awaiting the member's answer, written by the
-- reaction casework.information-deadlines (in the same transaction as its processed-event key) and read by the
-- Scheduler. deadline is the instant after which the request lapses; due_at is when the Scheduler next tries to
-- lapse it (the deadline at first, later when a try was refused); requested_position is the commit position of the
-- InformationRequested event the row comes from, so that the Scheduler's bookkeeping never touches a newer request.
-- Times are UTC.
CREATE TABLE casework_information_deadline (
    request_id         TEXT PRIMARY KEY,
    deadline           TIMESTAMP NOT NULL,
    requested_position BIGINT NOT NULL,
    due_at             TIMESTAMP NOT NULL,
    attempts           INTEGER NOT NULL
);
CREATE INDEX casework_information_deadline_due_at ON casework_information_deadline (due_at);

-- +goose Down
DROP INDEX casework_information_deadline_due_at;
DROP TABLE casework_information_deadline;
