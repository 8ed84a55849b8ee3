-- +goose Up
-- One row per saved estimate, as the member saw it: the inputs, the rates year, the lines (a JSON array of
-- {code, label, base_cents, formula, amount_cents}) and the total. Rows are only ever inserted: the key is the
-- event's place in the member's stream, so a replayed event finds its row and changes nothing.
CREATE TABLE {{prefix}} (
    member_id    TEXT      NOT NULL,
    revision     BIGINT    NOT NULL,
    estimate_id  TEXT      NOT NULL,
    saved_at     TIMESTAMP NOT NULL,
    rates_year   INTEGER   NOT NULL,
    status       TEXT      NOT NULL,
    income_cents BIGINT    NOT NULL,
    total_cents  BIGINT    NOT NULL,
    lines        TEXT      NOT NULL,
    disclaimer   TEXT      NOT NULL,
    PRIMARY KEY (member_id, revision)
);

-- +goose Down
DROP TABLE {{prefix}};
