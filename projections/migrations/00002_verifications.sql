-- +goose Up
-- One row per projection: the last `dossier projections verify` (Verify) of its live version, which the runner's
-- metrics read at scrape time (dossier_projection_verified_*).
CREATE TABLE projection_verifications (
    name        TEXT      NOT NULL PRIMARY KEY,
    version     INTEGER   NOT NULL,
    verified_at TIMESTAMP NOT NULL,
    position    BIGINT    NOT NULL,
    clean       INTEGER   NOT NULL,
    rows_compared BIGINT  NOT NULL,
    differences BIGINT    NOT NULL
);

-- +goose Down
DROP TABLE projection_verifications;
