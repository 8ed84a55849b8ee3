-- +goose Up
-- One row per attachment of a member's message: which conversation references which blob (the blob sweep's
-- question). No file name here: names are personal data and stay sealed in the event store.
CREATE TABLE {{prefix}}_attachments (
    blob_key        TEXT    NOT NULL PRIMARY KEY,
    conversation_id TEXT    NOT NULL,
    member_id       TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    attachment_index INTEGER NOT NULL,
    media_type      TEXT    NOT NULL,
    size            BIGINT  NOT NULL
);
CREATE INDEX {{prefix}}_attachments_conversation ON {{prefix}}_attachments (conversation_id);

-- +goose Down
DROP TABLE {{prefix}}_attachments;
