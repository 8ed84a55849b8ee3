// Package appointments is the read model of appointments: the member's appointments (GET /v1/appointments), the
// staff calendars (a staff member's day, an agency's day), the published availability and the held slots, from
// which the free slots are computed (GET /v1/appointment-slots) and the offers a booking tries.
//
// Rows are folded by the domain: an appointment row is loaded into an appointment.Appointment, the event applied
// (Appointment.Apply) and the row written back, guarded by its stream's revision, so replays and rebuilds change
// nothing. Free slots are exact after cancellations and reschedules because holds are rows of their own, released
// by SlotReleased; the event store, not this read model, decides whether a slot is taken.
package appointments

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query.
const Name = "appointments"

// Version is the current version of the projection.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds the appointment streams. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var (
	apptColumns = []string{"appointment_id", "member_id", "staff_id", "theme", "channel", "agency", "start_at",
		"end_at", "day", "status", "note", "phone", "outcome_note", "reminded_for", "catalog_version", "reschedules",
		"revision"}
	availColumns = []string{"staff_id", "theme", "channel", "agency", "from_day", "until_day", "slot_minutes",
		"weekly", "exceptions", "revision"}
	dayColumns = []string{"day_stream", "staff_id", "day", "holds", "revision"}
)

// dbTime is how times go into the tables: UTC, to the microsecond (PostgreSQL's precision).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Apply folds the batch.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	appts := projections.GuardedUpsert(p.Table(), []string{"appointment_id"}, apptColumns, "revision")
	avail := projections.GuardedUpsert(p.Table()+"_availability", []string{"staff_id", "theme", "channel", "agency"},
		availColumns, "revision")
	days := projections.GuardedUpsert(p.Table()+"_days", []string{"day_stream"}, dayColumns, "revision")
	for _, e := range batch {
		var err error
		switch e.Stream.Category {
		case appointment.AvailabilityCategory:
			if v, ok := e.Event.(appointment.AvailabilityPublished); ok {
				weekly, _ := json.Marshal(v.Weekly)
				exceptions, _ := json.Marshal(v.Exceptions)
				err = avail.Exec(ctx, tx, v.StaffID.String(), v.Theme, v.Channel, v.Agency, v.From, v.Until,
					v.SlotMinutes, string(weekly), string(exceptions), int64(e.Revision))
			}
		case appointment.DayCategory:
			err = p.foldDay(ctx, tx, days, e)
		case appointment.Category:
			err = p.fold(ctx, tx, appts, e)
		}
		if err != nil {
			return fmt.Errorf("appointments: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+p.Table()+" SET note = CASE WHEN note = '' THEN '' ELSE ? END, "+
			"phone = CASE WHEN phone = '' THEN '' ELSE ? END, outcome_note = CASE WHEN outcome_note = '' THEN '' ELSE ? END "+
			"WHERE member_id = ?"), event.ErasedText, event.ErasedText, event.ErasedText, memberID.String())
		return err
	})
}

// fold applies one event of a member stream to its appointment's row.
func (p *Projection) fold(ctx context.Context, tx *sqldb.Tx, upsert sqldb.Upsert, e event.Envelope) error {
	id, ok := appointment.IDOf(e.Event)
	if !ok {
		return nil
	}
	var a appointment.Appointment
	if _, booked := e.Event.(appointment.Booked); !booked {
		var rev int64
		var err error
		a, rev, err = load(ctx, tx, p.Table(), id)
		if errors.Is(err, sql.ErrNoRows) { // an event before its Booked is a bug upstream: stop loudly
			return fmt.Errorf("no %s for appointment %s", appointment.TypeBooked, id)
		}
		if err != nil {
			return err
		}
		if uint64(rev) >= e.Revision {
			return nil
		}
	}
	a, _ = a.Apply(e.Event)
	reminded := ""
	if !a.RemindedFor.IsZero() {
		reminded = a.RemindedFor.UTC().Format(time.RFC3339)
	}
	return upsert.Exec(ctx, tx, a.ID.String(), e.Stream.ID.String(), a.StaffID.String(), a.Theme, a.Channel, a.Agency,
		dbTime(a.Start), dbTime(a.End), a.Start.In(appointment.Paris).Format(appointment.DateLayout), a.Status, a.Note,
		a.Phone, a.OutcomeNote, reminded, a.CatalogVersion, a.Reschedules, int64(e.Revision))
}

// foldDay applies an event of a staff day's stream to its row: the stored holds loaded into an appointment.Day, the
// event applied (Day.Apply), the row written back.
func (p *Projection) foldDay(ctx context.Context, tx *sqldb.Tx, upsert sqldb.Upsert, e event.Envelope) error {
	var staffID uuid.UUID
	var start time.Time
	switch v := e.Event.(type) {
	case appointment.SlotHeld:
		staffID, start = v.StaffID, v.Start
	case appointment.SlotReleased:
		staffID, start = v.StaffID, v.Start
	default:
		return nil
	}
	var stored struct {
		Holds    string `db:"holds"`
		Revision int64  `db:"revision"`
	}
	err := tx.GetContext(ctx, &stored, tx.Rebind("SELECT holds, revision FROM "+p.Table()+"_days WHERE day_stream = ?"),
		e.Stream.ID.String())
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case uint64(stored.Revision) >= e.Revision:
		return nil
	}
	d, err := decodeDay(stored.Holds)
	if err != nil {
		return err
	}
	d = d.Apply(e.Event)
	return upsert.Exec(ctx, tx, e.Stream.ID.String(), staffID.String(),
		start.In(appointment.Paris).Format(appointment.DateLayout), encodeDay(d), int64(e.Revision))
}

// encodeDay writes a day's holds as "start-end-appointment" triples (Unix seconds), space-separated, by start.
func encodeDay(d appointment.Day) string {
	holds := slices.Clone(d.Holds)
	slices.SortFunc(holds, func(a, b appointment.Hold) int { return a.Start.Compare(b.Start) })
	parts := make([]string, len(holds))
	for i, h := range holds {
		parts[i] = fmt.Sprintf("%d-%d-%s", h.Start.Unix(), h.End.Unix(), h.AppointmentID)
	}
	return strings.Join(parts, " ")
}

// decodeDay reads what encodeDay wrote.
func decodeDay(s string) (appointment.Day, error) {
	var d appointment.Day
	for _, part := range strings.Fields(s) {
		a, rest, _ := strings.Cut(part, "-")
		b, id, _ := strings.Cut(rest, "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		appt, err3 := uuid.Parse(id)
		if err := errors.Join(err1, err2, err3); err != nil {
			return d, fmt.Errorf("appointments: stored holds %q: %w", part, err)
		}
		d.Holds = append(d.Holds, appointment.Hold{AppointmentID: appt, Start: time.Unix(start, 0).UTC(),
			End: time.Unix(end, 0).UTC()})
	}
	return d, nil
}

type row struct {
	AppointmentID  string    `db:"appointment_id"`
	MemberID       string    `db:"member_id"`
	StaffID        string    `db:"staff_id"`
	Theme          string    `db:"theme"`
	Channel        string    `db:"channel"`
	Agency         string    `db:"agency"`
	StartAt        time.Time `db:"start_at"`
	EndAt          time.Time `db:"end_at"`
	Status         string    `db:"status"`
	Note           string    `db:"note"`
	Phone          string    `db:"phone"`
	OutcomeNote    string    `db:"outcome_note"`
	RemindedFor    string    `db:"reminded_for"`
	CatalogVersion string    `db:"catalog_version"`
	Reschedules    int       `db:"reschedules"`
	Revision       int64     `db:"revision"`
}

const rowColumns = "appointment_id, member_id, staff_id, theme, channel, agency, start_at, end_at, status, note, " +
	"phone, outcome_note, reminded_for, catalog_version, reschedules, revision"

func (r row) appointment() appointment.Appointment {
	a := appointment.Appointment{ID: uuid.MustParse(r.AppointmentID), StaffID: uuid.MustParse(r.StaffID),
		Theme: r.Theme, Channel: r.Channel, Agency: r.Agency, Start: r.StartAt.UTC(), End: r.EndAt.UTC(),
		Status: r.Status, Note: r.Note, Phone: r.Phone, OutcomeNote: r.OutcomeNote, CatalogVersion: r.CatalogVersion,
		Reschedules: r.Reschedules}
	if r.RemindedFor != "" {
		a.RemindedFor, _ = time.Parse(time.RFC3339, r.RemindedFor)
	}
	return a
}

func load(ctx context.Context, tx *sqldb.Tx, table string, id uuid.UUID) (appointment.Appointment, int64, error) {
	var r row
	err := tx.GetContext(ctx, &r, tx.Rebind("SELECT "+rowColumns+" FROM "+table+" WHERE appointment_id = ?"), id.String())
	if err != nil {
		return appointment.Appointment{}, 0, err
	}
	return r.appointment(), r.Revision, nil
}
