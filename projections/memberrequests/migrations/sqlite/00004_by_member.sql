-- +goose Up
-- Version 5: the rows are stored in the order the member's list reads them. The list (GET /v1/requests, a page of
-- one member's requests, newest first) read each row through the index on (member_id, received_at), one table lookup
-- per row, each on a page of its own since members submit interleaved, and sorted on request_id for the tiebreak;
-- SQLite drops a reader's page cache whenever the WAL changed, so every list paid those page reads again. Here the
-- table is keyed by (member_id, received_at, request_id) WITHOUT ROWID: a member's page of requests is a few
-- neighbouring pages read in key order, nothing sorted. request_id stays unique (the fold's upserts and Get find a
-- row by it). The rows are a few hundred bytes, well under the quarter page SQLite keeps on a b-tree page before
-- spilling to overflow pages. Migrations never change once released: the table is rebuilt here (a new version
-- starts empty; the copy keeps the rows of a database migrated by hand).
CREATE TABLE {{prefix}}_rebuilt (
    request_id           TEXT      NOT NULL,
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
    last_position        BIGINT    NOT NULL,
    service_in_charge    TEXT      NOT NULL DEFAULT '',
    author_name          TEXT      NOT NULL DEFAULT '',
    author_position      TEXT      NOT NULL DEFAULT '',
    PRIMARY KEY (member_id, received_at, request_id)
) WITHOUT ROWID;
INSERT INTO {{prefix}}_rebuilt SELECT request_id, member_id, reference, service_code, catalog_version, status,
    received_at, implicit_decision_on, silence_outcome, time_zone, paused_since, expected_items, expected_deadline,
    decision, decision_reason, decided_at, closed_reason, closed_at, clock, revision, last_position,
    service_in_charge, author_name, author_position FROM {{prefix}};
DROP TABLE {{prefix}};
ALTER TABLE {{prefix}}_rebuilt RENAME TO {{prefix}};
CREATE UNIQUE INDEX {{prefix}}_request_id ON {{prefix}} (request_id);

-- +goose Down
CREATE TABLE {{prefix}}_rebuilt (
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
    last_position        BIGINT    NOT NULL,
    service_in_charge    TEXT      NOT NULL DEFAULT '',
    author_name          TEXT      NOT NULL DEFAULT '',
    author_position      TEXT      NOT NULL DEFAULT ''
);
INSERT INTO {{prefix}}_rebuilt SELECT request_id, member_id, reference, service_code, catalog_version, status,
    received_at, implicit_decision_on, silence_outcome, time_zone, paused_since, expected_items, expected_deadline,
    decision, decision_reason, decided_at, closed_reason, closed_at, clock, revision, last_position,
    service_in_charge, author_name, author_position FROM {{prefix}};
DROP TABLE {{prefix}};
ALTER TABLE {{prefix}}_rebuilt RENAME TO {{prefix}};
CREATE INDEX {{prefix}}_by_member ON {{prefix}} (member_id, received_at);
