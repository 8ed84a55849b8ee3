-- +goose Up
-- Version 4: the service in charge named by the acknowledgement (CRPA R112-5 2°, JSON), and the name and position of
-- the decision's author (L212-1). Migrations never change once released: version 4 adds these columns here.
ALTER TABLE {{prefix}} ADD COLUMN service_in_charge TEXT NOT NULL DEFAULT '';
ALTER TABLE {{prefix}} ADD COLUMN author_name TEXT NOT NULL DEFAULT '';
ALTER TABLE {{prefix}} ADD COLUMN author_position TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE {{prefix}} DROP COLUMN author_position;
ALTER TABLE {{prefix}} DROP COLUMN author_name;
ALTER TABLE {{prefix}} DROP COLUMN service_in_charge;
