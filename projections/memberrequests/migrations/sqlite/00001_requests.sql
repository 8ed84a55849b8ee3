-- +goose Up
-- One row per service request: what the member sees of it in the portal ("Mes demandes"). Personal data: the
-- member's own. status is the member's view of the lifecycle (see Status). implicit_decision_on is a calendar day
-- (YYYY-MM-DD) in time_zone counting the pauses that are over; paused_since is set while information is awaited,
-- and the query moves the date by the running pause. expected_items (a JSON array) and expected_deadline say what
-- the member is asked for, while it is awaited. clock holds what servicerequest.Clock needs. revision is the request
-- stream's last revision applied: the replay guard.
CREATE TABLE {{prefix}} (
    request_id           TEXT      NOT NULL PRIMARY KEY,
    member_id            TEXT      NOT NULL,
    reference            TEXT      NOT NULL,
    service_code         TEXT      NOT NULL,
    catalog_version      TEXT      NOT NULL,
    status               TEXT      NOT NULL,
    received_at          TIMESTAMP NOT NULL,
    implicit_decision_on TEXT      NOT NULL,
    silence_outcome      TEXT      NOT NULL,
    time_zone            TEXT      NOT NULL,
    paused_since         TIMESTAMP NULL,
    expected_items       TEXT      NOT NULL,
    expected_deadline    TIMESTAMP NULL,
    decision             TEXT      NOT NULL,
    decision_reason      TEXT      NOT NULL,
    decided_at           TIMESTAMP NULL,
    closed_reason        TEXT      NOT NULL,
    closed_at            TIMESTAMP NULL,
    clock                TEXT      NOT NULL,
    revision             BIGINT    NOT NULL,
    last_position        BIGINT    NOT NULL
);
-- A member's requests, newest first.
CREATE INDEX {{prefix}}_by_member ON {{prefix}} (member_id, received_at);

-- The status timeline: one row per event of the lifecycle the member is told about, keyed by the stream revision
-- of the event (a replay inserts nothing). label is the French sentence the portal shows.
CREATE TABLE {{prefix}}_timeline (
    request_id TEXT      NOT NULL,
    revision   BIGINT    NOT NULL,
    at         TIMESTAMP NOT NULL,
    status     TEXT      NOT NULL,
    label      TEXT      NOT NULL,
    PRIMARY KEY (request_id, revision)
);

-- +goose Down
DROP TABLE {{prefix}}_timeline;
DROP TABLE {{prefix}};
