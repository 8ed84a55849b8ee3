-- +goose Up
-- Version 5: the rows are stored in the order the member's list reads them. The list (GET /v1/requests, a page of
-- one member's requests, newest first) read each row through the index on (member_id, received_at), one table lookup
-- per row, each on a page of its own since members submit interleaved, and sorted on request_id for the tiebreak;
-- SQLite drops a reader's page cache whenever the WAL changed, so every list paid those page reads again. Here the
-- table is keyed by (member_id, received_at, request_id) WITHOUT ROWID: a member's page of requests is a few
-- neighbouring pages read in key order, nothing sorted. request_id stays unique (the fold's upserts and Get find a
-- row by it). A row is a few hundred bytes (the clock grows with the events): SQLite keeps up to about 1,000 bytes
-- of a row on a 4 KiB b-tree page and spills the rest of a larger one to an overflow page.
-- Migrations never change once released, so the table is created again here. It is empty: a version's tables are
-- created for that version and filled from the log by the runner (Setup migrates the version being built, never
-- the live one), so there is nothing to copy.
DROP TABLE {{prefix}};
CREATE TABLE {{prefix}} (
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
CREATE UNIQUE INDEX {{prefix}}_request_id ON {{prefix}} (request_id);

-- +goose Down
DROP TABLE {{prefix}};
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
    last_position        BIGINT    NOT NULL,
    service_in_charge    TEXT      NOT NULL DEFAULT '',
    author_name          TEXT      NOT NULL DEFAULT '',
    author_position      TEXT      NOT NULL DEFAULT ''
);
CREATE INDEX {{prefix}}_by_member ON {{prefix}} (member_id, received_at);
