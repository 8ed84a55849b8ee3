-- +goose Up
-- One row per service request: what the member submitted. Personal data: the member's form, as the request recorded
-- it (form, a compacted JSON object) with the service and the catalog version it was validated against, whose labels
-- the queries put beside it. member_status is where the request stands for the member (memberrequests.Next), the
-- state the member's labels of the next steps depend on. revision is the request stream's last revision applied: the
-- replay guard.
CREATE TABLE {{prefix}} (
    request_id      TEXT      NOT NULL PRIMARY KEY,
    member_id       TEXT      NOT NULL,
    service_code    TEXT      NOT NULL,
    catalog_version TEXT      NOT NULL,
    form            TEXT      NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    member_status   TEXT      NOT NULL,
    revision        BIGINT    NOT NULL,
    last_position   BIGINT    NOT NULL
);

-- The timeline: one row per event of the request stream, keyed by its revision (a replay inserts nothing). at is the
-- event's business time, actor_id and actor_role who caused it (its metadata). audience is 'member' for a step the
-- member is told about (member_status and member_label, in French, say what they are told) and 'staff' for the
-- others (internal notes, releases, claims once taken up, reassignments), which the member's queries leave out.
-- details is a JSON object of what the step says, by kind (items and deadline, the member's answer, the decision
-- and its rule, the note's text…): personal data, never logged.
CREATE TABLE {{prefix}}_steps (
    request_id    TEXT      NOT NULL,
    revision      BIGINT    NOT NULL,
    at            TIMESTAMP NOT NULL,
    kind          TEXT      NOT NULL,
    actor_id      TEXT      NOT NULL,
    actor_role    TEXT      NOT NULL,
    audience      TEXT      NOT NULL,
    member_status TEXT      NOT NULL,
    member_label  TEXT      NOT NULL,
    details       TEXT      NOT NULL,
    PRIMARY KEY (request_id, revision)
);

-- +goose Down
DROP TABLE {{prefix}}_steps;
DROP TABLE {{prefix}};
