-- +goose Up
-- The audit tree (adapters/auditlog): one row per leaf, the n-th non-system event of $all in commit order, with its
-- positions and its leaf hash; and every stored hash of the Merkle tree (golang.org/x/mod/sumdb/tlog's stored-hash
-- layout: index StoredHashIndex(level, n)). No personal data: hashes and positions only.
CREATE TABLE {{prefix}} (
    leaf             BIGINT NOT NULL PRIMARY KEY,
    commit_position  BIGINT NOT NULL,
    prepare_position BIGINT NOT NULL,
    hash             BYTEA  NOT NULL
);
CREATE UNIQUE INDEX {{prefix}}_by_position ON {{prefix}} (commit_position, prepare_position);
CREATE TABLE {{prefix}}_hashes (
    idx  BIGINT NOT NULL PRIMARY KEY,
    hash BYTEA  NOT NULL
);

-- +goose Down
DROP TABLE {{prefix}}_hashes;
DROP TABLE {{prefix}};
