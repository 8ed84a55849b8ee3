package appointments

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/projections"
)

// MaxRows bounds a calendar day (a staff member's or an agency's: slots of 15 minutes at least inside the help
// hours) and a page of a member's list.
const MaxRows = 500

// DefaultLimit is the page size of a member's list when the caller names none.
const DefaultLimit = 50

// Queries reads the live version of the projection. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// Appointment is an appointment as read; MemberID is the member it belongs to.
type Appointment struct {
	appointment.Appointment
	MemberID uuid.UUID
}

// list reads at most limit rows matching where, by start then id.
func (q *Queries) list(ctx context.Context, limit int, where string, args ...any) ([]Appointment, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT "+rowColumns+" FROM "+Name+" WHERE "+where+
		" ORDER BY start_at, appointment_id LIMIT ?"), append(args, limit)...); err != nil {
		return nil, fmt.Errorf("appointments: %w", err)
	}
	out := make([]Appointment, len(rows))
	for i, r := range rows {
		out[i] = Appointment{Appointment: r.appointment(), MemberID: uuid.MustParse(r.MemberID)}
	}
	return out, nil
}

// Page returns a page of the member's appointments, by start then id (projections.Page; DefaultLimit for 0, MaxRows
// at most), and the cursor of the next page ("" after the last): the start and id of the page's last row.
func (q *Queries) Page(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Appointment, string, error) {
	n := min(p.Limit1(DefaultLimit)-1, MaxRows)
	where, args := "member_id = ?", []any{memberID.String()}
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, 2)
		if err != nil {
			return nil, "", err
		}
		start, terr := time.Parse(time.RFC3339Nano, key[0])
		id, uerr := uuid.Parse(key[1])
		if terr != nil || uerr != nil {
			return nil, "", projections.ErrInvalidCursor
		}
		where += " AND (start_at, appointment_id) > (?, ?)"
		args = append(args, dbTime(start), id.String())
	}
	list, err := q.list(ctx, n+1, where, args...)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.Trim(list, projections.Page{Limit: n}, n, func(a Appointment) string {
		return projections.EncodeCursor(a.Start.UTC().Format(time.RFC3339Nano), a.ID.String())
	})
	return page, next, nil
}

// StaffDay returns a staff member's appointments on a Paris calendar date ("YYYY-MM-DD"), cancelled ones included.
func (q *Queries) StaffDay(ctx context.Context, staffID uuid.UUID, day string) ([]Appointment, error) {
	return q.list(ctx, MaxRows, "staff_id = ? AND day = ?", staffID.String(), day)
}

// AgencyDay returns an agency's appointments on a Paris calendar date.
func (q *Queries) AgencyDay(ctx context.Context, agency, day string) ([]Appointment, error) {
	return q.list(ctx, MaxRows, "agency = ? AND day = ?", agency, day)
}

// Get returns one appointment (false when there is none).
func (q *Queries) Get(ctx context.Context, id uuid.UUID) (Appointment, bool, error) {
	list, err := q.list(ctx, 1, "appointment_id = ?", id.String())
	if err != nil || len(list) == 0 {
		return Appointment{}, false, err
	}
	return list[0], true, nil
}

// DueReminders returns nothing here: reminders are kept by their reaction's own table (adapters/appointmentmail).

type availRow struct {
	StaffID     string `db:"staff_id"`
	Theme       string `db:"theme"`
	Channel     string `db:"channel"`
	Agency      string `db:"agency"`
	FromDay     string `db:"from_day"`
	UntilDay    string `db:"until_day"`
	SlotMinutes int    `db:"slot_minutes"`
	Weekly      string `db:"weekly"`
	Exceptions  string `db:"exceptions"`
}

// availability returns the publications for (theme, channel, agency); an empty agency: every agency.
func (q *Queries) availability(ctx context.Context, theme, channel, agency string) ([]appointment.AvailabilityPublished, error) {
	query := "SELECT staff_id, theme, channel, agency, from_day, until_day, slot_minutes, weekly, exceptions FROM " +
		Name + "_availability WHERE theme = ? AND channel = ?"
	args := []any{theme, channel}
	if agency != "" {
		query += " AND agency = ?"
		args = append(args, agency)
	}
	var rows []availRow
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(query+" ORDER BY staff_id, agency"), args...); err != nil {
		return nil, fmt.Errorf("appointments: availability: %w", err)
	}
	out := make([]appointment.AvailabilityPublished, 0, len(rows))
	for _, r := range rows {
		a := appointment.AvailabilityPublished{StaffID: uuid.MustParse(r.StaffID), Theme: r.Theme, Channel: r.Channel,
			Agency: r.Agency, From: r.FromDay, Until: r.UntilDay, SlotMinutes: r.SlotMinutes}
		if err := json.Unmarshal([]byte(r.Weekly), &a.Weekly); err != nil {
			return nil, fmt.Errorf("appointments: weekly of %s: %w", r.StaffID, err)
		}
		if err := json.Unmarshal([]byte(r.Exceptions), &a.Exceptions); err != nil {
			return nil, fmt.Errorf("appointments: exceptions of %s: %w", r.StaffID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// span is a held slot in Unix seconds.
type span struct{ start, end int64 }

// heldSpans returns the held slots of the Paris days of [from, to), by staff member (id as stored), each list sorted
// by start.
func (q *Queries) heldSpans(ctx context.Context, from, to time.Time) (map[string][]span, error) {
	rows, err := q.db.QueryContext(ctx, q.db.Rebind("SELECT staff_id, holds FROM "+Name+
		"_days WHERE day >= ? AND day <= ? AND holds <> ''"), from.In(appointment.Paris).Format(appointment.DateLayout),
		to.In(appointment.Paris).Format(appointment.DateLayout))
	if err != nil {
		return nil, fmt.Errorf("appointments: holds: %w", err)
	}
	defer rows.Close()
	out := map[string][]span{}
	for rows.Next() {
		var staff, holds string
		if err := rows.Scan(&staff, &holds); err != nil {
			return nil, fmt.Errorf("appointments: holds: %w", err)
		}
		for _, part := range strings.Fields(holds) { // "start-end-appointment", by start (encodeDay)
			a, rest, _ := strings.Cut(part, "-")
			b, _, _ := strings.Cut(rest, "-")
			start, err1 := strconv.ParseInt(a, 10, 64)
			end, err2 := strconv.ParseInt(b, 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("appointments: stored holds %q", part)
			}
			out[staff] = append(out[staff], span{start, end})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("appointments: holds: %w", err)
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b span) int { return int(a.start - b.start) })
	}
	return out, nil
}

// overlaps reports whether a held span (sorted by start, not overlapping one another: the staff day's stream
// decided them) overlaps s.
func overlaps(held []span, s appointment.Slot) bool {
	start, end := s.Start.Unix(), s.End.Unix()
	i := sort.Search(len(held), func(i int) bool { return held[i].end > start })
	return i < len(held) && held[i].start < end
}

// FreeSlot is a slot at least one staff member offers and has free.
type FreeSlot struct {
	Start     time.Time `json:"start_at"`
	End       time.Time `json:"end_at"`
	Theme     string    `json:"theme"`
	Channel   string    `json:"channel"`
	Agency    string    `json:"agency"`
	Available int       `json:"available"` // how many staff members have it free
}

// FreeSlots returns the free slots of (theme, channel, agency; empty agency: every agency) starting in [from, to),
// by start then agency: the published slots less those overlapping a held slot of the same staff member.
func (q *Queries) FreeSlots(ctx context.Context, theme, channel, agency string, from, to time.Time) ([]FreeSlot, error) {
	pubs, err := q.availability(ctx, theme, channel, agency)
	if err != nil || len(pubs) == 0 {
		return []FreeSlot{}, err
	}
	held, err := q.heldSpans(ctx, from, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		start, end int64
		agency     string
	}
	count := map[key]int{}
	for _, p := range pubs {
		spans := held[p.StaffID.String()]
		p.EachSlot(from, to, func(s appointment.Slot) {
			if !overlaps(spans, s) {
				count[key{s.Start.Unix(), s.End.Unix(), p.Agency}]++
			}
		})
	}
	out := make([]FreeSlot, 0, len(count))
	for k, n := range count {
		out = append(out, FreeSlot{Start: time.Unix(k.start, 0).UTC(), End: time.Unix(k.end, 0).UTC(), Theme: theme,
			Channel: channel, Agency: k.agency, Available: n})
	}
	slices.SortFunc(out, func(a, b FreeSlot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.Agency != b.Agency {
			if a.Agency < b.Agency {
				return -1
			}
			return 1
		}
		return a.End.Compare(b.End)
	})
	return out, nil
}

// Offers returns the staff members whose publication for (theme, channel, agency) has a slot starting at start,
// those with it free first (by staff id): the candidates a booking tries (command.AppointmentOffers).
func (q *Queries) Offers(ctx context.Context, theme, channel, agency string, start time.Time) ([]appointment.Offer, error) {
	pubs, err := q.availability(ctx, theme, channel, agency)
	if err != nil || len(pubs) == 0 {
		return nil, err
	}
	held, err := q.heldSpans(ctx, start.Add(-appointment.MaxSlotMinutes*time.Minute), start.Add(appointment.MaxSlotMinutes*time.Minute))
	if err != nil {
		return nil, err
	}
	var free, busy []appointment.Offer
	for _, p := range pubs {
		for _, s := range p.Slots(start, start.Add(time.Minute)) {
			if !s.Start.Equal(start) {
				continue
			}
			o := appointment.Offer{StaffID: p.StaffID, End: s.End}
			if overlaps(held[p.StaffID.String()], s) {
				busy = append(busy, o)
			} else {
				free = append(free, o)
			}
		}
	}
	return append(free, busy...), nil
}
