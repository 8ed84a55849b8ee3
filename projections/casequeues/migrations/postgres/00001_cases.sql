-- +goose Up
-- One row per service request: the caseworker queues' view of the case. Open cases have closed_at null; a closed
-- case keeps its row (so that a replayed event finds it and changes nothing) and leaves every index below, which
-- are partial on closed_at IS NULL. due_on and implicit_decision_on are calendar days (YYYY-MM-DD, sorting as they
-- read) in time_zone, counting the pauses that are over; paused_since is set while information is awaited.
-- breach_at is the instant the handling target is missed (midnight after due_on), or null while a pause that began
-- on time holds the clock: "breached" is breach_at <= now, decided at read time. clock holds what
-- servicerequest.Clock needs (deadlines and the instants of receipt, pauses and closure). revision is the request
-- stream's last revision applied: the replay guard, and the ETag of the case.
-- The sort keys are COLLATE "C" (SQLite compares bytes by default): the same order on both dialects, whatever
-- the database's locale.
CREATE TABLE {{prefix}} (
    request_id           TEXT      COLLATE "C" NOT NULL PRIMARY KEY,
    reference            TEXT      NOT NULL,
    queue                TEXT      COLLATE "C" NOT NULL,
    service_code         TEXT      NOT NULL,
    status               TEXT      COLLATE "C" NOT NULL,
    assignee             TEXT      COLLATE "C" NULL,
    received_at          TIMESTAMP NOT NULL,
    due_on               TEXT      COLLATE "C" NOT NULL,
    implicit_decision_on TEXT      NOT NULL,
    silence_outcome      TEXT      NOT NULL,
    time_zone            TEXT      NOT NULL,
    paused_since         TIMESTAMP NULL,
    breach_at            TIMESTAMP NULL,
    closed_at            TIMESTAMP NULL,
    close_reason         TEXT      NOT NULL,
    clock                TEXT      NOT NULL,
    revision             BIGINT    NOT NULL,
    last_position        BIGINT    NOT NULL
);
-- A queue's listing, by due date then receipt (keyset pagination on the whole key).
CREATE INDEX {{prefix}}_by_queue ON {{prefix}} (queue, due_on, received_at, request_id) WHERE closed_at IS NULL;
-- A queue's listing filtered by assignee.
CREATE INDEX {{prefix}}_by_queue_assignee ON {{prefix}} (queue, assignee, due_on, received_at, request_id)
    WHERE closed_at IS NULL;
-- Claim-next (status 'queued', earliest due first) and the counts by status.
CREATE INDEX {{prefix}}_by_queue_status ON {{prefix}} (queue, status, due_on, received_at, request_id)
    WHERE closed_at IS NULL;
-- A caseworker's own cases, across queues.
CREATE INDEX {{prefix}}_by_assignee ON {{prefix}} (assignee, due_on, received_at, request_id) WHERE closed_at IS NULL;
-- The counts of breaches and the oldest case of a queue.
CREATE INDEX {{prefix}}_by_queue_breach ON {{prefix}} (queue, breach_at) WHERE closed_at IS NULL;
CREATE INDEX {{prefix}}_by_queue_received ON {{prefix}} (queue, received_at) WHERE closed_at IS NULL;

-- +goose Down
DROP TABLE {{prefix}};
