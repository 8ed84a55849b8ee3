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
	holdColumns = []string{"appointment_id", "staff_id", "start_at", "end_at", "released", "revision"}
)

// dbTime is how times go into the tables: UTC, to the microsecond (PostgreSQL's precision).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Apply folds the batch.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	appts := projections.GuardedUpsert(p.Table(), []string{"appointment_id"}, apptColumns, "revision")
	avail := projections.GuardedUpsert(p.Table()+"_availability", []string{"staff_id", "theme", "channel", "agency"},
		availColumns, "revision")
	holds := projections.GuardedUpsert(p.Table()+"_holds", []string{"appointment_id", "staff_id", "start_at"},
		holdColumns, "revision")
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
			switch v := e.Event.(type) {
			case appointment.SlotHeld:
				err = holds.Exec(ctx, tx, v.AppointmentID.String(), v.StaffID.String(), dbTime(v.Start), dbTime(v.End),
					0, int64(e.Revision))
			case appointment.SlotReleased:
				err = holds.Exec(ctx, tx, v.AppointmentID.String(), v.StaffID.String(), dbTime(v.Start), dbTime(v.End),
					1, int64(e.Revision))
			}
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
