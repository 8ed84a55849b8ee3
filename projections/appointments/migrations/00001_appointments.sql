-- +goose Up
-- The appointments, one row per appointment (the member's view, the staff calendars): folded from the member's
-- stream "appointments-<member id>" through appointment.Appointment.Apply; revision is that stream's revision of the
-- last event applied (a replayed event is not above it and changes nothing). note, phone and outcome_note are
-- personal data. day is the Paris calendar date of start.
CREATE TABLE {{prefix}} (
    appointment_id  TEXT      NOT NULL PRIMARY KEY,
    member_id       TEXT      NOT NULL,
    staff_id        TEXT      NOT NULL,
    theme           TEXT      NOT NULL,
    channel         TEXT      NOT NULL,
    agency          TEXT      NOT NULL,
    start_at        TIMESTAMP NOT NULL,
    end_at          TIMESTAMP NOT NULL,
    day             TEXT      NOT NULL,
    status          TEXT      NOT NULL,
    note            TEXT      NOT NULL,
    phone           TEXT      NOT NULL,
    outcome_note    TEXT      NOT NULL,
    reminded_for    TEXT      NOT NULL,
    catalog_version TEXT      NOT NULL,
    reschedules     INTEGER   NOT NULL,
    revision        BIGINT    NOT NULL
);
CREATE INDEX {{prefix}}_member ON {{prefix}} (member_id, start_at);
CREATE INDEX {{prefix}}_staff_day ON {{prefix}} (staff_id, day);
CREATE INDEX {{prefix}}_agency_day ON {{prefix}} (agency, day);

-- The published availability, one row per (staff, theme, channel, agency): the last publication stands. weekly and
-- exceptions are JSON arrays; revision is the availability stream's.
CREATE TABLE {{prefix}}_availability (
    staff_id     TEXT    NOT NULL,
    theme        TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    agency       TEXT    NOT NULL,
    from_day     TEXT    NOT NULL,
    until_day    TEXT    NOT NULL,
    slot_minutes INTEGER NOT NULL,
    weekly       TEXT    NOT NULL,
    exceptions   TEXT    NOT NULL,
    revision     BIGINT  NOT NULL,
    PRIMARY KEY (staff_id, theme, channel, agency)
);
CREATE INDEX {{prefix}}_availability_offer ON {{prefix}}_availability (theme, channel, agency);

-- The slots held on each staff day: one row per day stream ("appointmentday-…"), its appointment.Day fold written as
-- "start-end-appointment" triples (Unix seconds), space-separated; revision is that stream's. One short row per staff
-- day, not one per hold: the free-slot listing reads a few thousand of them per call (the covering index holds all
-- it reads).
CREATE TABLE {{prefix}}_days (
    day_stream TEXT   NOT NULL PRIMARY KEY,
    staff_id   TEXT   NOT NULL,
    day        TEXT   NOT NULL,
    holds      TEXT   NOT NULL,
    revision   BIGINT NOT NULL
);
CREATE INDEX {{prefix}}_days_day ON {{prefix}}_days (day, staff_id, holds);

-- +goose Down
DROP TABLE {{prefix}}_days;
DROP TABLE {{prefix}}_availability;
DROP TABLE {{prefix}};
