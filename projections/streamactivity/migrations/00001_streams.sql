-- +goose Up
-- One row per stream: what operators and auditors ask first about an aggregate instance.
CREATE TABLE {{prefix}} (
    stream            TEXT      NOT NULL PRIMARY KEY,
    category          TEXT      NOT NULL,
    last_revision     BIGINT    NOT NULL,
    last_event_type   TEXT      NOT NULL,
    event_count       BIGINT    NOT NULL,
    first_recorded_at TIMESTAMP NOT NULL,
    last_recorded_at  TIMESTAMP NOT NULL,
    last_position     BIGINT    NOT NULL
);
CREATE INDEX {{prefix}}_by_category ON {{prefix}} (category, last_position);

-- +goose Down
DROP TABLE {{prefix}};
