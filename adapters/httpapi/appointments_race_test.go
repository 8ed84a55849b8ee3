package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/appointments"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// TestAppointmentRaceOverHTTP: 100 members, each with a session, book at once over HTTP against one server, among 10
// slots (5 starts, 2 staff members): exactly 10 answers 201 and 90 answers 409 appointment.slot_taken, and the
// free-slot list of that day is then empty. The real node, the real read model and its runner.
func TestAppointmentRaceOverHTTP(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, appointment.Definitions(), staff.Definitions())
	runner := projectionstest.StartRunner(t, db, env.Source, appointments.New())
	queries := appointments.NewQueries(db)
	cmds, err := command.NewAppointments(command.Runtime{Store: env.Store}, queries)
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.Policy{}, nil)
	s := &simulationServer{Server: newTestServer(t, Deps{Sessions: store, Consistency: runner,
		Queries: readmodels.Queries{Appointments: queries}, AppointmentCommands: cmds}), env: env, sessions: store}

	// A working day at least three days ahead, 9:00 to 11:30: five 30-minute slots per staff member.
	day := time.Now().In(appointment.Paris).AddDate(0, 0, 3)
	for !appointment.WorkingDay(day) {
		day = day.AddDate(0, 0, 1)
	}
	var last uint64
	for range 2 {
		id := s.staffMember(t)
		res, err := cmds.PublishAvailability(ctx, command.Meta{Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleSupervisor}},
			appointment.AvailabilityPublished{StaffID: id, Theme: "question-generale", Channel: appointment.ChannelAgency,
				Agency: "lille", From: day.Format(appointment.DateLayout), Until: day.Format(appointment.DateLayout),
				Weekly: []appointment.Period{{Weekday: day.Weekday(), Start: "09:00", End: "11:30"}}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	runner.Wait(t, last)

	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	const members = 100
	tokens := make([]string, members)
	for i := range tokens {
		tokens[i] = s.login(t, uuid.New(), kindMember)
	}
	status := make([]int, members)
	codes := make([]string, members)
	var wg sync.WaitGroup
	for i := range members {
		start := appointment.At(day, 9*60+30*(i%5)).UTC().Format(time.RFC3339)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"theme":"question-generale","channel":"agency","agency":"lille","start_at":"` + start + `"}`
			req, _ := http.NewRequest("POST", srv.URL+"/v1/appointments", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var e struct {
				Code string `json:"code"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			status[i], codes[i] = resp.StatusCode, e.Code
		}()
	}
	wg.Wait()
	booked, taken := 0, 0
	for i := range status {
		switch {
		case status[i] == 201:
			booked++
		case status[i] == 409 && codes[i] == "appointment.slot_taken":
			taken++
		default:
			t.Errorf("member %d: %d %s", i, status[i], codes[i])
		}
	}
	if booked != 10 || taken != 90 {
		t.Fatalf("%d booked, %d refused; want 10 and 90", booked, taken)
	}
	// Once the read model has caught up, the day has no free slot left.
	head, err := env.Client.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runner.Wait(t, head)
	free, err := queries.FreeSlots(ctx, "question-generale", appointment.ChannelAgency, "lille", day.Add(-12*time.Hour),
		day.Add(36*time.Hour))
	if err != nil || len(free) != 0 {
		t.Fatalf("free slots after the race: %+v %v", free, err)
	}
}
