-- +goose Up
-- One row per member: what staff find in the member directory. nir holds the NIR body for display only; lookups by
-- NIR go through nir_hash, a keyed hash of the body, so no index holds a NIR in clear. last_key and first_key are
-- the folded names (lower case, no accents), the sort order. revision is the member stream's last revision applied.
-- (The PostgreSQL twin of this file declares the folded columns COLLATE "C": byte order on both dialects.)
CREATE TABLE {{prefix}} (
    member_id     TEXT      NOT NULL PRIMARY KEY,
    last_name     TEXT      NOT NULL,
    first_name    TEXT      NOT NULL,
    search_name   TEXT      NOT NULL,
    last_key      TEXT      NOT NULL,
    first_key     TEXT      NOT NULL,
    birth_date    TEXT      NOT NULL,
    nir           TEXT      NOT NULL,
    nir_key       INTEGER   NOT NULL,
    nir_hash      TEXT      NOT NULL,
    email         TEXT      NOT NULL,
    locked_until  TIMESTAMP NULL,
    registered_at TIMESTAMP NOT NULL,
    revision      BIGINT    NOT NULL,
    last_position BIGINT    NOT NULL
);
CREATE INDEX {{prefix}}_by_nir_hash ON {{prefix}} (nir_hash);
CREATE INDEX {{prefix}}_by_name ON {{prefix}} (last_key, first_key, member_id);

-- The words of every member's folded names, for prefix search: "dup" finds the members one of whose name words
-- starts with "dup" through a range scan of the primary key.
CREATE TABLE {{prefix}}_words (
    word      TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (word, member_id)
);
CREATE INDEX {{prefix}}_words_by_member ON {{prefix}}_words (member_id);

-- +goose Down
DROP TABLE {{prefix}}_words;
DROP TABLE {{prefix}};
