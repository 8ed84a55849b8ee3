-- +goose Up
-- Version 2, lighter rows for a faster build: a leaf's hash is the stored hash at StoredHashIndex(0, leaf) of
-- {{prefix}}_hashes already, so the leaf table keeps positions only; and positions are looked up by commit position
-- alone (Queries.LeafIndexes), through a plain index instead of a unique one on both positions (the order of the
-- leaves is the runner's: ApplyRecords skips what it has). Migrations never change once released: version 2 creates
-- version 1's tables (00001) and changes them here.
DROP INDEX {{prefix}}_by_position;
ALTER TABLE {{prefix}} DROP COLUMN hash;
CREATE INDEX {{prefix}}_by_commit ON {{prefix}} (commit_position);

-- +goose Down
DROP INDEX {{prefix}}_by_commit;
ALTER TABLE {{prefix}} ADD COLUMN hash BYTEA NOT NULL DEFAULT '';
CREATE UNIQUE INDEX {{prefix}}_by_position ON {{prefix}} (commit_position, prepare_position);
