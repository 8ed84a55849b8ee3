-- +goose Up
-- The commit position of the event a processed-event key was recorded for (NULL for keys recorded before this
-- migration, or by a call outside a delivery): Prune removes a key only once the handler's checkpoint is past it.
ALTER TABLE reaction_processed ADD COLUMN position BIGINT NULL;
CREATE INDEX reaction_processed_prune ON reaction_processed (handler, processed_at);

-- Poison replays: an operator asks for one (dossier reactions replay), the handler's runner serves it. The
-- request is cleared once served: a success deletes the row, a failure keeps it with its new error.
-- replay_requested_by is an operator id or ticket reference, never a name or an email.
ALTER TABLE reaction_poison ADD COLUMN replay_requested_at TIMESTAMP NULL;
ALTER TABLE reaction_poison ADD COLUMN replay_requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE reaction_poison ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE reaction_poison DROP COLUMN replays;
ALTER TABLE reaction_poison DROP COLUMN replay_requested_by;
ALTER TABLE reaction_poison DROP COLUMN replay_requested_at;
DROP INDEX reaction_processed_prune;
ALTER TABLE reaction_processed DROP COLUMN position;
