-- +goose Up
-- Version 5: the keys of the SQLite twin of this file, which stores the rows in the order the member's list reads
-- them (WITHOUT ROWID, keyed by member_id, received_at, request_id). PostgreSQL does not cluster a table by its key;
-- the same keys give the list (a page of one member's requests, newest first, request_id breaking ties) an index
-- that covers its whole order, so nothing is sorted. request_id stays unique (the fold's upserts and Get).
ALTER TABLE {{prefix}} DROP CONSTRAINT {{prefix}}_pkey;
DROP INDEX {{prefix}}_by_member;
ALTER TABLE {{prefix}} ADD PRIMARY KEY (member_id, received_at, request_id);
CREATE UNIQUE INDEX {{prefix}}_request_id ON {{prefix}} (request_id);

-- +goose Down
DROP INDEX {{prefix}}_request_id;
ALTER TABLE {{prefix}} DROP CONSTRAINT {{prefix}}_pkey;
ALTER TABLE {{prefix}} ADD PRIMARY KEY (request_id);
CREATE INDEX {{prefix}}_by_member ON {{prefix}} (member_id, received_at);
