package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections/appointments"
)

// Appointments ("Demander un rendez-vous"): the member lists free slots, books, lists, cancels and reschedules their
// own appointments; supervisors publish staff availability; staff see their day and their agency's day and record
// the outcome. Member routes take the member from the session: another member's appointment does not exist (404).

// The staff roles of appointments: supervisors publish availability; caseworkers and supervisors hold appointments.
var (
	availabilityRoles = []string{"supervisor"}
	calendarRoles     = []string{"caseworker", "supervisor"}
)

// defaultSlotDays is the period of a slot listing without "to".
const defaultSlotDays = 28

type appointmentCatalogBody struct {
	Version  string               `json:"version"`
	Channels []string             `json:"channels"`
	Themes   []appointment.Theme  `json:"themes"`
	Agencies []appointment.Agency `json:"agencies"`
	Rules    appointment.Rules    `json:"rules"`
	// HelpHours are the hours slots lie in, Monday to Friday, public holidays excepted (Paris time).
	HelpHours []string `json:"help_hours"`
}

func (s *Server) appointmentCatalog(w http.ResponseWriter, r *http.Request) {
	c := appointment.Current()
	var hours []string
	for _, h := range appointment.HelpHours {
		hours = append(hours, appointment.FormatClock(h.Start)+"-"+appointment.FormatClock(h.End))
	}
	writeJSON(w, http.StatusOK, appointmentCatalogBody{Version: c.Version, Channels: appointment.Channels(),
		Themes: c.Themes, Agencies: c.Agencies, Rules: c.Rules, HelpHours: hours})
}

type slotsBody struct {
	Slots []appointments.FreeSlot `json:"slots"`
}

// appointmentSlots lists the free slots of ?theme=&channel=&agency= (agency optional by phone and video) starting
// between ?from= and ?to= (RFC 3339; default now and 28 days later; at most 62 days).
func (s *Server) appointmentSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	theme, channel, agency := q.Get("theme"), q.Get("channel"), q.Get("agency")
	if err := appointment.Current().CheckOffer(theme, channel, agency, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now().UTC()
	from, to := now, now.AddDate(0, 0, defaultSlotDays)
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			s.writeError(w, r, failure.Field("from", appointment.ErrRangeInvalid))
			return
		}
		if v := q.Get("to"); v == "" {
			to = from.AddDate(0, 0, defaultSlotDays)
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			s.writeError(w, r, failure.Field("to", appointment.ErrRangeInvalid))
			return
		}
	}
	if !to.After(from) || to.Sub(from) > appointment.MaxListDays*24*time.Hour {
		s.writeError(w, r, failure.Field("to", appointment.ErrRangeInvalid))
		return
	}
	// Never a slot that could not be booked now: past, too soon, or beyond the horizon.
	rules := appointment.Current().Rules
	from = maxTime(from, now.Add(time.Duration(rules.MinLeadMinutes)*time.Minute))
	to = minTime(to, now.AddDate(0, 0, rules.HorizonDays))
	if !to.After(from) {
		writeJSON(w, http.StatusOK, slotsBody{Slots: []appointments.FreeSlot{}})
		return
	}
	slots, err := s.deps.Appointments.FreeSlots(r.Context(), theme, channel, agency, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, slotsBody{Slots: nonNilSlice(slots)})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// appointmentBody is an appointment as its member sees it (no staff id, no outcome note).
type appointmentBody struct {
	ID          uuid.UUID `json:"id"`
	Theme       string    `json:"theme"`
	ThemeLabel  string    `json:"theme_label"`
	Channel     string    `json:"channel"`
	Agency      string    `json:"agency"`
	AgencyName  string    `json:"agency_name"`
	Start       time.Time `json:"start_at"`
	End         time.Time `json:"end_at"`
	Status      string    `json:"status"`
	Note        string    `json:"note,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Reminded    bool      `json:"reminded"`
	Reschedules int       `json:"reschedules"`
	Position    string    `json:"position,omitempty"`
}

func memberView(a appointment.Appointment) appointmentBody {
	c := appointment.Load(a.CatalogVersion)
	if c.Version == "" {
		c = appointment.Current()
	}
	t, _ := c.Theme(a.Theme)
	ag, _ := c.Agency(a.Agency)
	return appointmentBody{ID: a.ID, Theme: a.Theme, ThemeLabel: t.Label, Channel: a.Channel, Agency: a.Agency,
		AgencyName: ag.Name, Start: a.Start.UTC(), End: a.End.UTC(), Status: a.Status, Note: a.Note, Phone: a.Phone,
		Reminded: !a.RemindedFor.IsZero() && a.RemindedFor.Equal(a.Start), Reschedules: a.Reschedules}
}

type bookingRequest struct {
	Theme   string `json:"theme"`
	Channel string `json:"channel"`
	Agency  string `json:"agency"`
	Start   string `json:"start_at" format:"date-time"` // RFC 3339, a slot's start
	Note    string `json:"note,omitempty"`
	Phone   string `json:"phone,omitempty"` // callback number, required by phone
}

func parseStart(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, failure.Field("start_at", appointment.ErrStartInvalid)
	}
	return t.UTC(), nil
}

// bookAppointment books a slot for the member; with the same Idempotency-Key a retry books once.
func (s *Server) bookAppointment(w http.ResponseWriter, r *http.Request) {
	var in bookingRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		start, err := parseStart(in.Start)
		if err != nil {
			return 0, 0, nil, err
		}
		b, err := s.deps.AppointmentCommands.Book(r.Context(), m, member, command.BookInput{Theme: in.Theme,
			Channel: in.Channel, Agency: in.Agency, Start: start, Note: in.Note, Phone: in.Phone})
		body := memberView(b.Appointment)
		body.Position = formatPosition(b.Position)
		return http.StatusCreated, b.Position, body, err
	})
}

type appointmentsBody struct {
	Appointments []appointmentBody `json:"appointments"`
	Next         *string           `json:"next"`
}

// listAppointments lists a page of the member's appointments, by start (the paging convention, memberPaging).
func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Appointments.Page(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	out := make([]appointmentBody, len(list))
	for i, a := range list {
		out[i] = memberView(a.Appointment)
	}
	writeJSON(w, http.StatusOK, appointmentsBody{Appointments: out, Next: nextOf(next)})
}

// cancelAppointment cancels one of the member's appointments and frees its slot.
func (s *Server) cancelAppointment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.AppointmentCommands.Cancel(r.Context(), m, member, id, false)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type rescheduleRequest struct {
	Start string `json:"start_at" format:"date-time"` // RFC 3339, the new slot's start
}

// rescheduleAppointment moves one of the member's appointments: the new slot is held before the old one is freed.
func (s *Server) rescheduleAppointment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in rescheduleRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		start, err := parseStart(in.Start)
		if err != nil {
			return 0, 0, nil, err
		}
		b, err := s.deps.AppointmentCommands.Reschedule(r.Context(), m, member, id, start)
		body := memberView(b.Appointment)
		body.Position = formatPosition(b.Position)
		return http.StatusOK, b.Position, body, err
	})
}

type availabilityRequest struct {
	Theme       string               `json:"theme"`
	Channel     string               `json:"channel"`
	Agency      string               `json:"agency"`
	From        string               `json:"from_on"`  // YYYY-MM-DD, the first day
	Until       string               `json:"until_on"` // YYYY-MM-DD, the last day (inclusive)
	SlotMinutes int                  `json:"slot_minutes,omitempty"`
	Weekly      []appointment.Period `json:"weekly"`
	Exceptions  []string             `json:"exceptions,omitempty"`
}

// publishAvailability records a staff member's availability for one (theme, channel, agency).
func (s *Server) publishAvailability(w http.ResponseWriter, r *http.Request) {
	staffID, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in availabilityRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.AppointmentCommands.PublishAvailability(r.Context(), m, appointment.AvailabilityPublished{
			StaffID: staffID, Theme: in.Theme, Channel: in.Channel, Agency: in.Agency, From: in.From, Until: in.Until,
			SlotMinutes: in.SlotMinutes, Weekly: in.Weekly, Exceptions: in.Exceptions})
		return http.StatusCreated, res.Position, positionOf(res.Position), err
	})
}

// calendarEntry is an appointment in a staff calendar: the member by id, never their note or phone (a calendar
// is not an opening of the member's file).
type calendarEntry struct {
	ID        uuid.UUID `json:"id"`
	MemberID  uuid.UUID `json:"member_id"`
	StaffID   uuid.UUID `json:"staff_id"`
	StaffName string    `json:"staff_name,omitempty"`
	Theme     string    `json:"theme"`
	Channel   string    `json:"channel"`
	Agency    string    `json:"agency"`
	Start     time.Time `json:"start_at"`
	End       time.Time `json:"end_at"`
	Status    string    `json:"status"`
}

type calendarBody struct {
	Date         string          `json:"date_on"` // the day shown, YYYY-MM-DD (Paris)
	Appointments []calendarEntry `json:"appointments"`
}

// calendarDay reads ?date= (default: today in Paris).
func calendarDay(r *http.Request) (string, error) {
	v := r.URL.Query().Get("date")
	if v == "" {
		return time.Now().In(appointment.Paris).Format(appointment.DateLayout), nil
	}
	if _, err := time.Parse(appointment.DateLayout, v); err != nil {
		return "", failure.Field("date", appointment.ErrDateInvalid)
	}
	return v, nil
}

func (s *Server) writeCalendar(w http.ResponseWriter, r *http.Request, day string, list []appointments.Appointment) {
	out := make([]calendarEntry, len(list))
	names := map[uuid.UUID]string{}
	if s.deps.StaffNames != nil {
		var ids []uuid.UUID
		for _, a := range list {
			if !slices.Contains(ids, a.StaffID) {
				ids = append(ids, a.StaffID)
			}
		}
		if n, err := s.deps.StaffNames.Names(r.Context(), ids); err == nil {
			names = n
		}
	}
	for i, a := range list {
		out[i] = calendarEntry{ID: a.ID, MemberID: a.MemberID, StaffID: a.StaffID, StaffName: names[a.StaffID],
			Theme: a.Theme, Channel: a.Channel, Agency: a.Agency, Start: a.Start.UTC(), End: a.End.UTC(), Status: a.Status}
	}
	writeJSON(w, http.StatusOK, calendarBody{Date: day, Appointments: out})
}

// myStaffDay lists the caller's appointments of ?date=.
func (s *Server) myStaffDay(w http.ResponseWriter, r *http.Request) {
	day, err := calendarDay(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.deps.Appointments.StaffDay(r.Context(), principalOf(r.Context()).ID, day)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCalendar(w, r, day, list)
}

// agencyDay lists an agency's appointments of ?date=.
func (s *Server) agencyDay(w http.ResponseWriter, r *http.Request) {
	agency := r.PathValue("agency")
	if _, ok := appointment.Current().Agency(agency); !ok {
		s.writeError(w, r, appointment.ErrAgencyUnknown)
		return
	}
	day, err := calendarDay(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.deps.Appointments.AgencyDay(r.Context(), agency, day)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCalendar(w, r, day, list)
}

type outcomeRequest struct {
	Held bool   `json:"held"` // true: held; false: missed
	Note string `json:"note,omitempty"`
}

// recordAppointmentOutcome marks an appointment held (with an outcome note) or missed.
func (s *Server) recordAppointmentOutcome(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in outcomeRequest
	p := principalOf(r.Context())
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		a, ok, err := s.deps.Appointments.Get(r.Context(), id)
		if err != nil {
			return 0, 0, nil, err
		}
		if !ok {
			return 0, 0, nil, appointment.ErrNotFound
		}
		res, err := s.deps.AppointmentCommands.RecordOutcome(r.Context(), m, p.ID, slices.Contains(p.Roles, "supervisor"),
			a.MemberID, id, command.Outcome{Held: in.Held, Note: in.Note})
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

// staffCancelAppointment cancels a member's appointment for them: the staff member of the appointment or a
// supervisor, whatever the notice; the member is mailed and the slot is free again.
func (s *Server) staffCancelAppointment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		a, ok, err := s.deps.Appointments.Get(r.Context(), id)
		if err != nil {
			return 0, 0, nil, err
		}
		if !ok {
			return 0, 0, nil, appointment.ErrNotFound
		}
		res, err := s.deps.AppointmentCommands.StaffCancel(r.Context(), m, p.ID, slices.Contains(p.Roles, "supervisor"),
			a.MemberID, id)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}
