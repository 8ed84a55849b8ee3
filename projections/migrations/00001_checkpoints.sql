-- +goose Up
-- One row per (projection, version): where that version has got to in the global log, and whether readers see it.
-- The runner updates position in the same transaction as the version's rows; the update is a compare-and-set on the
-- previous position, which fences out a replica that lost its lease without noticing yet.
CREATE TABLE projection_checkpoints (
    name             TEXT      NOT NULL,
    version          INTEGER   NOT NULL,
    state            TEXT      NOT NULL,
    position         BIGINT    NOT NULL DEFAULT 0,
    events           BIGINT    NOT NULL DEFAULT 0,
    last_recorded_at TIMESTAMP NULL,
    last_error       TEXT      NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (name, version)
);
-- At most one live version per projection.
CREATE UNIQUE INDEX projection_checkpoints_live ON projection_checkpoints (name) WHERE state = 'live';

-- +goose Down
DROP TABLE projection_checkpoints;
