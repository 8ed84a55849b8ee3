-- +goose Up
-- Version 2: the member's timeline is read from the case file (projections/casefiles), one set of rows for the
-- staff's and the member's timelines. Migrations never change once released, so version 2 creates version 1's
-- tables (00001) and drops the timeline here.
DROP TABLE {{prefix}}_timeline;

-- +goose Down
CREATE TABLE {{prefix}}_timeline (
    request_id TEXT      NOT NULL,
    revision   BIGINT    NOT NULL,
    at         TIMESTAMP NOT NULL,
    status     TEXT      NOT NULL,
    label      TEXT      NOT NULL,
    PRIMARY KEY (request_id, revision)
);
