-- +goose Up
-- When the store recorded the event of the checkpoint: with updated_at (when it was acknowledged), how long after
-- its event a handler acted (for a mail handler, the mail lag), shown by dossier reactions status.
ALTER TABLE reaction_checkpoint ADD COLUMN last_recorded_at TIMESTAMP NULL;

-- +goose Down
ALTER TABLE reaction_checkpoint DROP COLUMN last_recorded_at;
