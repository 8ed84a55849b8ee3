-- +goose Up
-- One row per projection version: the last rebuild an operator asked of the replica running it (RequestRebuild,
-- `dossier projections rebuild` beside running servers). The holder builds the version again beside its live rows,
-- then copies the result over them in one transaction.
CREATE TABLE projection_rebuild_requests (
    name         TEXT      NOT NULL,
    version      INTEGER   NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    requested_by TEXT      NOT NULL,
    state        TEXT      NOT NULL,
    position     BIGINT    NOT NULL,
    target       BIGINT    NOT NULL,
    events       BIGINT    NOT NULL,
    finished_at  TIMESTAMP,
    error        TEXT      NOT NULL,
    PRIMARY KEY (name, version)
);

-- +goose Down
DROP TABLE projection_rebuild_requests;
