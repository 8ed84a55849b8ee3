-- +goose Up
-- The conversations ("Nous envoyer un message"), one row per conversation: the member's list and the staff queues.
-- Folded from "conversation-<id>"; revision is that stream's revision of the last event applied (a replayed event is
-- not above it and changes nothing). subject is personal data (the bodies stay in the event store, sealed). due_at is
-- set while a reply is awaited (status awaiting_reply), NULL otherwise; assignee_id is '' when unclaimed;
-- unread_by_member counts the staff replies the member has not opened, unread_by_staff the member's messages no
-- staff member has opened.
CREATE TABLE {{prefix}} (
    conversation_id  TEXT      NOT NULL PRIMARY KEY,
    member_id        TEXT      NOT NULL,
    theme            TEXT      NOT NULL,
    queue            TEXT      NOT NULL,
    subject          TEXT      NOT NULL,
    request_id       TEXT      NOT NULL,
    status           TEXT      NOT NULL,
    assignee_id      TEXT      NOT NULL,
    due_at           TIMESTAMP NULL,
    started_at       TIMESTAMP NOT NULL,
    last_message_at  TIMESTAMP NOT NULL,
    messages         INTEGER   NOT NULL,
    unread_by_member INTEGER   NOT NULL,
    unread_by_staff  INTEGER   NOT NULL,
    revision         BIGINT    NOT NULL
);
CREATE INDEX {{prefix}}_member ON {{prefix}} (member_id, started_at, conversation_id);
CREATE INDEX {{prefix}}_queue ON {{prefix}} (queue, status, due_at, conversation_id);

-- +goose Down
DROP TABLE {{prefix}};
