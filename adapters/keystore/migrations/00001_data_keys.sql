-- +goose Up
-- One row per data subject (a member, a registration): its data key, wrapped (AES-256-GCM, aad = the subject) by the
-- key-encryption key whose short id is kek_id. Erasing a subject sets wrapped_key to NULL and erased_at: the
-- tombstone tells "erased" from "never had a key". Not a projection: never dropped, never rebuilt from events.
CREATE TABLE data_keys (
    subject     TEXT PRIMARY KEY,
    kek_id      TEXT NOT NULL,
    wrapped_key BYTEA,
    created_at  TIMESTAMP NOT NULL,
    erased_at   TIMESTAMP
);

-- +goose Down
DROP TABLE data_keys;
