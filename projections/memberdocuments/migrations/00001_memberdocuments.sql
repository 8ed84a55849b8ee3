-- +goose Up
-- One row per document published into a member's inbox, as the fold (inbox.State) leaves it. revision is the place
-- in the member's inbox stream of the last event applied (an older or replayed event changes nothing); seq the
-- revision of its publication: the list's order (newest first) and cursor. deemed is 1 when the notification is the
-- lapse of 15 days, 0 otherwise. Title and file name are personal (erased with the member).
CREATE TABLE {{prefix}} (
    document_id   TEXT      NOT NULL PRIMARY KEY,
    member_id     TEXT      NOT NULL,
    revision      BIGINT    NOT NULL,
    seq           BIGINT    NOT NULL,
    kind          TEXT      NOT NULL,
    source_id     TEXT      NOT NULL,
    title         TEXT      NOT NULL,
    file_name     TEXT      NOT NULL,
    content_type  TEXT      NOT NULL,
    size          BIGINT    NOT NULL,
    sha256        TEXT      NOT NULL,
    blob_key      TEXT      NOT NULL,
    published_at  TIMESTAMP NOT NULL,
    opened_at     TIMESTAMP NULL,
    notified_at   TIMESTAMP NULL,
    deemed        INTEGER   NOT NULL
);
CREATE INDEX {{prefix}}_member ON {{prefix}} (member_id, seq);
CREATE INDEX {{prefix}}_blob ON {{prefix}} (blob_key);

-- +goose Down
DROP TABLE {{prefix}};
