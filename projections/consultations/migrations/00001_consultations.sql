-- +goose Up
-- One row per member finance stream: the last revision applied, the guard that makes a replayed event a no-op.
CREATE TABLE {{prefix}} (
    member_id     TEXT   NOT NULL PRIMARY KEY,
    revision      BIGINT NOT NULL,
    last_position BIGINT NOT NULL
);

-- Daily-allowance statements (décomptes d'IJ). Dates are YYYY-MM-DD, which sorts as it reads; amounts in cents.
CREATE TABLE {{prefix}}_statements (
    member_id    TEXT    NOT NULL,
    statement_id TEXT    NOT NULL,
    period_start TEXT    NOT NULL,
    period_end   TEXT    NOT NULL,
    days         INTEGER NOT NULL,
    gross_cents  BIGINT  NOT NULL,
    net_cents    BIGINT  NOT NULL,
    paid_on      TEXT    NOT NULL,
    revision     BIGINT  NOT NULL,
    PRIMARY KEY (member_id, statement_id)
);

-- Benefits paid to the member.
CREATE TABLE {{prefix}}_payments (
    member_id    TEXT   NOT NULL,
    payment_id   TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    amount_cents BIGINT NOT NULL,
    paid_on      TEXT   NOT NULL,
    label        TEXT   NOT NULL,
    revision     BIGINT NOT NULL,
    PRIMARY KEY (member_id, payment_id)
);

-- Invoices, with their settlement once paid (paid_at null until then).
CREATE TABLE {{prefix}}_invoices (
    member_id    TEXT      NOT NULL,
    invoice_id   TEXT      NOT NULL,
    label        TEXT      NOT NULL,
    amount_cents BIGINT    NOT NULL,
    due_on       TEXT      NOT NULL,
    paid_at      TIMESTAMP NULL,
    paid_cents   BIGINT    NOT NULL,
    method       TEXT      NOT NULL,
    revision     BIGINT    NOT NULL,
    PRIMARY KEY (member_id, invoice_id)
);

-- Payment attestations asked for; kinds is the comma-separated list of payment kinds covered.
CREATE TABLE {{prefix}}_attestations (
    member_id      TEXT      NOT NULL,
    attestation_id TEXT      NOT NULL,
    year           INTEGER   NOT NULL,
    kinds          TEXT      NOT NULL,
    issued_at      TIMESTAMP NOT NULL,
    revision       BIGINT    NOT NULL,
    PRIMARY KEY (member_id, attestation_id)
);

-- +goose Down
DROP TABLE {{prefix}}_attestations;
DROP TABLE {{prefix}}_invoices;
DROP TABLE {{prefix}}_payments;
DROP TABLE {{prefix}}_statements;
DROP TABLE {{prefix}};
