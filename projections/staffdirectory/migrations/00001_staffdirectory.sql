-- +goose Up
-- One row per staff account (StaffMemberCreated on staff-<staff id>): the name staff read next to a staff id in case
-- views. revision is the staff stream's revision of the event the row reflects: a replayed event is not above it and
-- changes nothing. One text for both dialects.
CREATE TABLE {{prefix}} (
    staff_id TEXT   NOT NULL PRIMARY KEY,
    name     TEXT   NOT NULL,
    revision BIGINT NOT NULL
);

-- +goose Down
DROP TABLE {{prefix}};
