package appointments

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var (
	t0    = time.Date(2026, 2, 20, 8, 0, 0, 0, time.UTC)
	day   = time.Date(2026, 3, 3, 0, 0, 0, 0, appointment.Paris) // a Tuesday
	at930 = appointment.At(day, 9*60+30).UTC()
	at10  = appointment.At(day, 10*60).UTC()
)

func dump(t *testing.T, db *sqldb.DB, version int) []string {
	t.Helper()
	return projectionstest.DumpVersion(t, db, Name, version, "_availability", "_days")
}

type story struct {
	evs           []event.Envelope
	staff, member uuid.UUID
	first, second uuid.UUID
	availability  appointment.AvailabilityPublished
	memberStream  event.StreamID
	memberHistory *projectionstest.History
	dayHistory    *projectionstest.History
	position      *uint64
}

// newStory: a staff member publishes Tuesday mornings (30-minute slots); the member books 9:30, moves it to 10:00
// (held before the old is released), books 9:30 again, cancels it; the first is reminded and held.
func newStory(t *testing.T) *story {
	var pos uint64
	s := &story{staff: uuid.New(), member: uuid.New(), first: uuid.New(), second: uuid.New(), position: &pos}
	a, err := appointment.Current().Validate(appointment.AvailabilityPublished{StaffID: s.staff, Theme: "question-generale",
		Channel: appointment.ChannelAgency, Agency: "lille", From: "2026-03-01", Until: "2026-03-31",
		Weekly: []appointment.Period{{Weekday: time.Tuesday, Start: "08:30", End: "12:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	s.availability = a
	avail := projectionstest.NewHistory(appointment.AvailabilityCategory, &pos, t0)
	avail.Stream = event.NewStreamID(appointment.AvailabilityCategory, s.staff)
	d := projectionstest.NewHistory(appointment.DayCategory, &pos, t0)
	d.Stream = appointment.DayStream(s.staff, at930)
	m := projectionstest.NewHistory(appointment.Category, &pos, t0)
	m.Stream = event.NewStreamID(appointment.Category, s.member)
	s.memberHistory, s.dayHistory, s.memberStream = m, d, m.Stream
	hold := func(id uuid.UUID, start time.Time) appointment.SlotHeld {
		return appointment.SlotHeld{AppointmentID: id, MemberID: s.member, StaffID: s.staff, Theme: a.Theme,
			Channel: a.Channel, Agency: a.Agency, Start: start, End: start.Add(30 * time.Minute)}
	}
	release := func(id uuid.UUID, start time.Time) appointment.SlotReleased {
		return appointment.SlotReleased{AppointmentID: id, StaffID: s.staff, Start: start, End: start.Add(30 * time.Minute)}
	}
	s.evs = []event.Envelope{
		avail.Add(appointment.TypeAvailabilityPublished, a),
		d.Add(appointment.TypeSlotHeld, hold(s.first, at930)),
		m.Add(appointment.TypeBooked, appointment.Booked{AppointmentID: s.first, StaffID: s.staff, Theme: a.Theme,
			Channel: a.Channel, Agency: a.Agency, Start: at930, End: at930.Add(30 * time.Minute), Note: "Ma retraite",
			CatalogVersion: "2026.1"}),
		d.Add(appointment.TypeSlotHeld, hold(s.first, at10)),
		m.Add(appointment.TypeRescheduled, appointment.Rescheduled{AppointmentID: s.first, StaffID: s.staff, Start: at10,
			End: at10.Add(30 * time.Minute), FromStaffID: s.staff, FromStart: at930, FromEnd: at930.Add(30 * time.Minute)}),
		d.Add(appointment.TypeSlotReleased, release(s.first, at930)),
		d.Add(appointment.TypeSlotHeld, hold(s.second, at930)),
		m.Add(appointment.TypeBooked, appointment.Booked{AppointmentID: s.second, StaffID: s.staff, Theme: a.Theme,
			Channel: a.Channel, Agency: a.Agency, Start: at930, End: at930.Add(30 * time.Minute), CatalogVersion: "2026.1"}),
		m.Add(appointment.TypeCancelled, appointment.Cancelled{AppointmentID: s.second, By: appointment.CancelledByMember}),
		d.Add(appointment.TypeSlotReleased, release(s.second, at930)),
		m.Add(appointment.TypeReminderSent, appointment.ReminderSent{AppointmentID: s.first, Start: at10}),
		m.Add(appointment.TypeHeld, appointment.Held{AppointmentID: s.first, StaffID: s.staff, OutcomeNote: "Dossier complet."}),
	}
	return s
}

func startsOf(slots []FreeSlot) []string {
	var out []string
	for _, s := range slots {
		out = append(out, s.Start.In(appointment.Paris).Format("15:04"))
	}
	return out
}

// TestFreeSlotsStayExact: the free slots follow holds, reschedules and cancellations, step by step.
func TestFreeSlotsStayExact(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		s := newStory(t)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)
		free := func() []string {
			got, err := q.FreeSlots(ctx, "question-generale", appointment.ChannelAgency, "lille", day, day.AddDate(0, 0, 1))
			if err != nil {
				t.Fatal(err)
			}
			return startsOf(got)
		}
		all := []string{"08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"}
		without := func(x ...string) []string {
			return slices.DeleteFunc(slices.Clone(all), func(v string) bool { return slices.Contains(x, v) })
		}
		steps := []struct {
			upto int
			want []string
		}{
			{1, all},
			{3, without("09:30")},          // booked at 9:30
			{5, without("09:30", "10:00")}, // the new slot held before the old one is released
			{6, without("10:00")},          // 9:30 is free again
			{8, without("09:30", "10:00")}, // booked again
			{10, without("10:00")},         // cancelled: free again
		}
		done := 0
		for _, st := range steps {
			projectionstest.Apply(t, db, p, s.evs[done:st.upto]...)
			done = st.upto
			if got := free(); !slices.Equal(got, st.want) {
				t.Fatalf("after %d events: %v, want %v", st.upto, got, st.want)
			}
		}
		projectionstest.Apply(t, db, p, s.evs[done:]...)
		offers, err := q.Offers(ctx, "question-generale", appointment.ChannelAgency, "lille", at930)
		if err != nil || len(offers) != 1 || offers[0].StaffID != s.staff || !offers[0].End.Equal(at930.Add(30*time.Minute)) {
			t.Errorf("offers at 9:30: %+v %v", offers, err)
		}
		if offers, _ := q.Offers(ctx, "question-generale", appointment.ChannelAgency, "lille", at930.Add(10*time.Minute)); len(offers) != 0 {
			t.Errorf("offers at 9:40 (no slot starts then): %+v", offers)
		}
		if offers, _ := q.Offers(ctx, "retraite-information", appointment.ChannelAgency, "lille", at930); len(offers) != 0 {
			t.Errorf("offers of another theme: %+v", offers)
		}

		mine, next, err := q.Page(ctx, s.member, projections.Page{})
		if err != nil || len(mine) != 2 || next != "" {
			t.Fatalf("member's appointments: %+v %q %v", mine, next, err)
		}
		// Page by page, one at a time: the same rows in the same order, then the end.
		first, next, err := q.Page(ctx, s.member, projections.Page{Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != s.second || next == "" {
			t.Fatalf("first page: %+v %q %v", first, next, err)
		}
		second, last, err := q.Page(ctx, s.member, projections.Page{Limit: 1, After: next})
		if err != nil || len(second) != 1 || second[0].ID != s.first || last != "" {
			t.Fatalf("second page: %+v %q %v", second, last, err)
		}
		for _, bad := range []string{"%%%", projections.EncodeCursor("x"), projections.EncodeCursor("hier", s.first.String()),
			projections.EncodeCursor(at10.Format(time.RFC3339Nano), "x")} {
			if _, _, err := q.Page(ctx, s.member, projections.Page{Limit: 1, After: bad}); !errors.Is(err, projections.ErrInvalidCursor) {
				t.Errorf("cursor %q: %v, want ErrInvalidCursor", bad, err)
			}
		}
		// by start: the cancelled 9:30 first, then the held 10:00
		if mine[0].ID != s.second || mine[0].Status != appointment.StatusCancelled ||
			mine[1].ID != s.first || mine[1].Status != appointment.StatusHeld || !mine[1].Start.Equal(at10) ||
			mine[1].Note != "Ma retraite" || mine[1].OutcomeNote != "Dossier complet." || !mine[1].RemindedFor.Equal(at10) ||
			mine[1].Reschedules != 1 {
			t.Errorf("member's appointments: %+v", mine)
		}
		if other, _, _ := q.Page(ctx, uuid.New(), projections.Page{}); len(other) != 0 {
			t.Errorf("another member sees %+v", other)
		}
		staffDay, _ := q.StaffDay(ctx, s.staff, "2026-03-03")
		agencyDay, _ := q.AgencyDay(ctx, "lille", "2026-03-03")
		if len(staffDay) != 2 || len(agencyDay) != 2 {
			t.Errorf("calendars: staff %d, agency %d", len(staffDay), len(agencyDay))
		}
		if got, ok, _ := q.Get(ctx, s.first); !ok || got.MemberID != s.member {
			t.Errorf("get: %+v %v", got, ok)
		}
	})
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newStory(t)
		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		cp := projectionstest.Setup(t, clean, New())
		for _, e := range s.evs {
			projectionstest.Apply(t, clean, cp, e)
		}
		want := dump(t, clean, Version)
		if len(want) != 2+1+1 { // 2 appointments, 1 availability, 1 staff day
			t.Fatalf("rows: %q", want)
		}
		projectionstest.ReplaysAndRebuild(t, db, projectionstest.Setup(t, db, New()), &Projection{Meta: meta.At(Version + 1)},
			s.evs, want, func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return dump(t, db, version) })
	})
}

// TestErasureBlanksTheNotes: the member's data erased, their notes read "données effacées" at once.
func TestErasureBlanksTheNotes(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		s := newStory(t)
		projectionstest.Apply(t, db, p, s.evs...)
		erased := projectionstest.NewHistory(member.Category, s.position, t0)
		erased.Stream = event.NewStreamID(member.Category, s.member)
		projectionstest.Apply(t, db, p, erased.Add(member.TypeDataErased, member.DataErased{}))
		rows := dump(t, db, Version)
		projectionstest.AssertErased(t, rows, "Ma retraite", "Dossier complet.")
		if !strings.Contains(strings.Join(rows, "\n"), event.ErasedText) {
			t.Errorf("no erased text in %q", rows)
		}
	})
}

// TestEventBeforeBookedStops: an event of an appointment whose Booked never came stops the projection.
func TestEventBeforeBookedStops(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(appointment.Category, &pos, t0)
		e := h.Add(appointment.TypeCancelled, appointment.Cancelled{AppointmentID: uuid.New()})
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error {
			return p.Apply(projectionstest.Ctx(t), tx, []event.Envelope{e})
		})
		if err == nil {
			t.Fatal("Apply(cancellation without booking) = nil, want an error")
		}
	})
}
