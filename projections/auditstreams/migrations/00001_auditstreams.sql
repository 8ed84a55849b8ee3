-- +goose Up
-- One row per stream: whose data it is (the data subject of its events, and the member a link event names) and
-- which case it belongs to, so the auditor's histories find a member's or a case's streams without scanning the log.
CREATE TABLE {{prefix}} (
    stream         TEXT   NOT NULL PRIMARY KEY,
    category       TEXT   NOT NULL,
    subject        TEXT   NOT NULL,
    member_id      TEXT,
    case_id        TEXT,
    first_position BIGINT NOT NULL,
    last_position  BIGINT NOT NULL
);
CREATE INDEX {{prefix}}_by_subject ON {{prefix}} (subject);
CREATE INDEX {{prefix}}_by_member ON {{prefix}} (member_id);
CREATE INDEX {{prefix}}_by_case ON {{prefix}} (case_id);

-- +goose Down
DROP TABLE {{prefix}};
