-- +goose Up
-- One row per deposit of documents, as the fold (document.State) leaves it: its state, and its documents as a JSON
-- array (nature, person concerned, reason, files with name, type, size and SHA-256). revision is the place in the
-- member's stream of the last event applied: an older or replayed event changes nothing.
CREATE TABLE {{prefix}} (
    submission_id  TEXT      NOT NULL PRIMARY KEY,
    member_id      TEXT      NOT NULL,
    revision       BIGINT    NOT NULL,
    seq            BIGINT    NOT NULL, -- the revision of its submission: the member's list order and cursor
    reference      TEXT      NOT NULL,
    subject        TEXT      NOT NULL,
    request_id     TEXT      NOT NULL,
    lists_version  TEXT      NOT NULL,
    status         TEXT      NOT NULL,
    disposition    TEXT      NOT NULL,
    case_id        TEXT      NOT NULL,
    submitted_at   TIMESTAMP NOT NULL,
    attested_at    TIMESTAMP NOT NULL,
    registered_at  TIMESTAMP NULL,
    documents      TEXT      NOT NULL
);
CREATE INDEX {{prefix}}_member ON {{prefix}} (member_id, seq);
CREATE INDEX {{prefix}}_case ON {{prefix}} (case_id);
CREATE INDEX {{prefix}}_intake ON {{prefix}} (disposition, submitted_at);

-- One row per stored file: which deposit references which blob (the sweeper's question, and a staff download's).
CREATE TABLE {{prefix}}_files (
    blob_key       TEXT    NOT NULL PRIMARY KEY,
    submission_id  TEXT    NOT NULL,
    member_id      TEXT    NOT NULL,
    document_index INTEGER NOT NULL,
    file_index     INTEGER NOT NULL,
    media_type     TEXT    NOT NULL,
    size           BIGINT  NOT NULL
);
CREATE INDEX {{prefix}}_files_submission ON {{prefix}}_files (submission_id);

-- +goose Down
DROP TABLE {{prefix}}_files;
DROP TABLE {{prefix}};
