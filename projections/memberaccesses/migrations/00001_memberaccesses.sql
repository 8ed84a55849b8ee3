-- +goose Up
-- One row per recorded staff opening of a member's data (MemberDataOpenedByStaff on memberaccess-<member id>): when,
-- in which role, which view. The staff member's id and name are not kept here (the member reads the service, not the
-- person; auditors read the events). Rows are only ever inserted: the key is the event's place in the member's access
-- stream, so a replayed event finds its row and changes nothing.
CREATE TABLE {{prefix}} (
    member_id TEXT      NOT NULL,
    revision  BIGINT    NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    role      TEXT      NOT NULL,
    what      TEXT      NOT NULL,
    PRIMARY KEY (member_id, revision)
);

-- +goose Down
DROP TABLE {{prefix}};
