-- +goose Up
-- Counters of the open cases (closed_at IS NULL), kept by the projection in the same transaction as the cases, so
-- that the queue figures (GET /v1/queues) read a handful of rows instead of counting the queue. Each holds exactly
-- what a COUNT(*) over the cases would give, and only the keys whose count is not zero: a row that falls to 0 is
-- deleted in the batch that empties it, so the tables depend on the cases only, never on how the log was batched.
-- One below zero would mean the counters drifted from the cases: the batch that finds it stops the projection
-- loudly. (A CHECK (n >= 0) cannot say it: the databases check the row proposed for insertion, a negative delta,
-- before they find the conflict that turns it into an update.) No index names n, so that on PostgreSQL the updates
-- of these few, often updated rows stay HOT (heap-only: no new index entries).
-- (The PostgreSQL twin of this file declares the keys COLLATE "C", as the cases' sort keys are.)

-- Open cases by queue and status (queued, claimed, awaiting_information; '' for a case submitted and not yet
-- queued, whose queue is '').
CREATE TABLE {{prefix}}_status_counts (
    queue  TEXT   NOT NULL,
    status TEXT   NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (queue, status)
);

-- Open cases by queue and the instant their handling target is missed (breach_at of the cases; the cases whose
-- clock a pause holds have none and are not counted). breach_at is midnight after a due day, so a queue has one row
-- per due day (per time zone): the breaches at an instant are a sum over the days before it, however many cases
-- the queue holds.
CREATE TABLE {{prefix}}_breach_counts (
    queue     TEXT      NOT NULL,
    breach_at TIMESTAMP NOT NULL,
    n         BIGINT    NOT NULL,
    PRIMARY KEY (queue, breach_at)
);

-- +goose Down
DROP TABLE {{prefix}}_breach_counts;
DROP TABLE {{prefix}}_status_counts;
