package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"
	_ "time/tzdata" // the agency's calendar resolves on a host without a zoneinfo database

	"github.com/google/uuid"
)

// The appointments the journeys book: "Question générale" at the Lille agency, in the caseworkers' calendars.
const (
	apptTheme   = "question-generale"
	apptChannel = "agency"
	apptAgency  = "lille"
	// apptNotice keeps booked slots far enough ahead to be cancelled (the rule asks for 24 hours).
	apptNotice = 26 * time.Hour
)

// paris is the agencies' calendar.
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

var apptSlotsQuery = url.Values{"theme": {apptTheme}, "channel": {apptChannel}, "agency": {apptAgency}}.Encode()

// publishAvailability has a supervisor publish, for each caseworker, the agency's opening hours (Monday to Friday,
// 08:30–12:00 and 13:30–16:30) for the next 60 days.
func publishAvailability(ctx context.Context, supervisor *client, caseworkerIDs []string) error {
	var weekly []map[string]any
	for d := 1; d <= 5; d++ {
		weekly = append(weekly, map[string]any{"weekday": d, "start": "08:30", "end": "12:00"},
			map[string]any{"weekday": d, "start": "13:30", "end": "16:30"})
	}
	today := time.Now().In(paris)
	for _, id := range caseworkerIDs {
		if _, err := supervisor.call(ctx, "POST /v1/staff/accounts/{id}/availability", "POST",
			"/v1/staff/accounts/"+id+"/availability", map[string]any{"theme": apptTheme, "channel": apptChannel,
				"agency": apptAgency, "from_on": today.Format(time.DateOnly), "until_on": today.AddDate(0, 0, 60).Format(time.DateOnly),
				"weekly": weekly}, map[string]string{"Idempotency-Key": uuid.NewString()}); err != nil {
			return fmt.Errorf("loadgen: publish an availability: %w", err)
		}
	}
	return nil
}

// appointmentStep is a member's "Demander un rendez-vous": with an appointment booked, cancel it; otherwise list the
// free slots and book one of those at least apptNotice ahead. A slot taken meanwhile, or the limit of future
// appointments, are refusals the journey expects. It returns the booked appointment's id ("" when none is).
func appointmentStep(ctx context.Context, c *client, rng *rand.Rand, booked string, after map[string]string) (string, string) {
	if booked != "" {
		a, err := c.call(ctx, "POST /v1/appointments/{id}/cancellation", "POST", "/v1/appointments/"+booked+"/cancellation",
			nil, map[string]string{"Idempotency-Key": uuid.NewString()})
		if err != nil {
			return booked, ""
		}
		return "", a.header.Get("X-Dossier-Position")
	}
	a, err := c.call(ctx, "GET /v1/appointment-slots", "GET", "/v1/appointment-slots?"+apptSlotsQuery, nil, after)
	if err != nil {
		return "", ""
	}
	var body struct {
		Slots []struct {
			StartAt string `json:"start_at"`
		} `json:"slots"`
	}
	a.decode(&body)
	var starts []string
	for _, s := range body.Slots {
		start := s.StartAt
		if at, err := time.Parse(time.RFC3339, start); err == nil && at.After(time.Now().Add(apptNotice)) {
			starts = append(starts, start)
		}
	}
	if len(starts) == 0 {
		return "", ""
	}
	b, err := c.call(ctx, "POST /v1/appointments", "POST", "/v1/appointments", map[string]any{"theme": apptTheme,
		"channel": apptChannel, "agency": apptAgency, "start_at": starts[rng.IntN(len(starts))],
		"note": "Question sur mes cotisations"}, map[string]string{"Idempotency-Key": uuid.NewString()},
		"409 appointment.slot_taken", "409 appointment.slot_unavailable", "422 appointment.too_many")
	if err != nil || b.status >= 300 {
		return "", ""
	}
	return b.str("id"), b.header.Get("X-Dossier-Position")
}
