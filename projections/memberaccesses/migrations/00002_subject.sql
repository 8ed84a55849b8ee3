-- +goose Up
-- Version 2: which item of the view was opened (MemberDataOpenedByStaff.subject, the request's reference for a case
-- file), '' when the event has none (the openings recorded before it, the views of the whole account). Migrations
-- never change once released, so version 2 creates version 1's table (00001) and adds the column here; one text for
-- both dialects.
ALTER TABLE {{prefix}} ADD COLUMN subject TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE {{prefix}} DROP COLUMN subject;
