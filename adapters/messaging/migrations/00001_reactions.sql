-- +goose Up
-- One durable checkpoint per handler name: the commit position of the last event the handler acknowledged.
CREATE TABLE reaction_checkpoint (
    handler    TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Processed-event keys: a (handler, event id) row is written in the same transaction as the handler's database
-- side effect (messaging.Once), or right after its external effect (messaging.OnceExternal).
CREATE TABLE reaction_processed (
    handler      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (handler, event_id)
);

-- Events a handler gave up on. error holds a description without personal data (messaging.Describe).
CREATE TABLE reaction_poison (
    handler        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    stream         TEXT NOT NULL,
    position       BIGINT NOT NULL,
    event_type     TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    kind           TEXT NOT NULL,
    code           TEXT NOT NULL,
    error          TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    failed_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (handler, event_id)
);
CREATE INDEX reaction_poison_failed_at ON reaction_poison (failed_at);

-- +goose Down
DROP INDEX reaction_poison_failed_at;
DROP TABLE reaction_poison;
DROP TABLE reaction_processed;
DROP TABLE reaction_checkpoint;
