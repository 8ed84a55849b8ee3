-- +goose Up
-- One row per member account: what the portal shows on "Mon compte" (GET /v1/me). Personal data: the member's own.
-- revision is the member stream's last revision applied: the guard that makes a replayed event a no-op, and the
-- value a client sends back as If-Match.
CREATE TABLE {{prefix}} (
    member_id                TEXT      NOT NULL PRIMARY KEY,
    nir                      TEXT      NOT NULL,
    nir_key                  INTEGER   NOT NULL,
    last_name                TEXT      NOT NULL,
    first_name               TEXT      NOT NULL,
    birth_date               TEXT      NOT NULL,
    email                    TEXT      NOT NULL,
    mobile_phone             TEXT      NOT NULL,
    pending_email            TEXT      NOT NULL,
    pending_email_expires_at TIMESTAMP NULL,
    locked_until             TIMESTAMP NULL,
    registered_at            TIMESTAMP NOT NULL,
    last_login_at            TIMESTAMP NULL,
    previous_login_at        TIMESTAMP NULL,
    password_changed_at      TIMESTAMP NULL,
    revision                 BIGINT    NOT NULL,
    last_position            BIGINT    NOT NULL
);

-- Postal addresses with the date they take effect (YYYY-MM-DD, which sorts as it reads). Which one is current
-- depends on the day of the read, so every address still in force or to come is kept and the query picks.
CREATE TABLE {{prefix}}_addresses (
    member_id      TEXT   NOT NULL,
    effective_from TEXT   NOT NULL,
    line1          TEXT   NOT NULL,
    line2          TEXT   NOT NULL,
    postal_code    TEXT   NOT NULL,
    city           TEXT   NOT NULL,
    country        TEXT   NOT NULL,
    revision       BIGINT NOT NULL,
    PRIMARY KEY (member_id, effective_from)
);

-- +goose Down
DROP TABLE {{prefix}}_addresses;
DROP TABLE {{prefix}};
