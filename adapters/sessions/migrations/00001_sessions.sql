-- +goose Up
-- One row per login session. digest is the SHA-256 of the token the client holds; the token itself is never
-- stored. expires_at is the absolute end (created_at + absolute lifetime); the idle end is computed from
-- last_seen_at.
CREATE TABLE session (
    digest       BYTEA PRIMARY KEY,
    id           TEXT NOT NULL,
    subject      TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE INDEX session_by_subject ON session (subject);

-- +goose Down
DROP TABLE session;
