-- +goose Up
-- External effects in flight (messaging.OnceExternal): written before the effect runs, removed in the transaction
-- that records its processed-event key (or when the effect fails). A later holder of the handler that finds a row
-- younger than the in-flight window waits for the key instead of running the effect again; an older row is a holder
-- that crashed between the effect and its record, and the effect runs again with the same key. holder names a
-- process (replica id or host-pid, and a random suffix per start), never a person.
CREATE TABLE reaction_in_flight (
    handler  TEXT NOT NULL,
    event_id TEXT NOT NULL,
    holder   TEXT NOT NULL,
    since    TIMESTAMP NOT NULL,
    PRIMARY KEY (handler, event_id)
);

-- +goose Down
DROP TABLE reaction_in_flight;
