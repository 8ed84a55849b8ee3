package loadgen

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// posHeader carries a client's last write position into its next reads (read your writes).
const posHeader = "X-Dossier-Min-Position"

// memberJourney is a member's session in the portal: mostly reads (account, requests, one request, deposits,
// payments), sometimes a new request, (cfg.Deposit) a document deposit or (cfg.Book) an appointment booked or cancelled, and an answer to each information request that shows up in the list; with
// cfg.Relogin, now and then a logout and a new login.
// step admits each request and says when the run is over.
func memberJourney(ctx context.Context, cfg Config, c *client, seed int64, step func() bool) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d656d626572))
	var (
		lastPos  string
		requests []string // ids of the member's requests, newest first
		awaiting []string // requests the last list showed awaiting information
		booked   string   // the member's appointment booked by this journey, if any
		skip     int      // steps left to sit out after a login gave up
	)
	after := func() map[string]string {
		if lastPos == "" {
			return nil
		}
		return map[string]string{posHeader: lastPos}
	}
	for step() {
		switch {
		case skip > 0: // the last login gave up: sit this step out
			skip--
			c.rec.stepSkipped()
		case c.token == "": // a login failed (relogin): log in again before anything else, a bounded number of times
			if login(ctx, c); c.token == "" {
				skip = loginSkippedSteps
			}
		case len(awaiting) > 0:
			id := awaiting[0]
			awaiting = awaiting[1:]
			a, err := c.call(ctx, "POST /v1/requests/{id}/information", "POST", "/v1/requests/"+id+"/information",
				map[string]string{"what": "Avis d'imposition envoyé par courrier"}, map[string]string{"Idempotency-Key": uuid.NewString()})
			if err == nil {
				lastPos = a.header.Get("X-Dossier-Position")
			}
		case cfg.Relogin > 0 && rng.Float64() < cfg.Relogin:
			relogin(ctx, c)
		case cfg.Book > 0 && rng.Float64() < cfg.Book:
			var pos string
			if booked, pos = appointmentStep(ctx, c, rng, booked, after()); pos != "" {
				lastPos = pos
			}
		case cfg.Deposit > 0 && rng.Float64() < cfg.Deposit:
			// A throttled deposit (six a minute per member) is the server doing its job, not an error.
			if body, err := depositBody(); err == nil {
				a, err := c.call(ctx, depositRoute, "POST", "/v1/document-submissions", body,
					map[string]string{"Idempotency-Key": uuid.NewString()}, "429")
				if err == nil && a.status < 300 {
					lastPos = a.header.Get("X-Dossier-Position")
				}
			}
		case rng.Float64() < cfg.Submit:
			a, err := c.call(ctx, "POST /v1/requests", "POST", "/v1/requests", map[string]any{"service": service, "form": c2sForm},
				map[string]string{"Idempotency-Key": uuid.NewString()})
			if err == nil {
				lastPos = a.header.Get("X-Dossier-Position")
			}
		default:
			switch r := rng.IntN(10); {
			case r < 3:
				_, _ = c.call(ctx, "GET /v1/me", "GET", "/v1/me", nil, after())
			case r < 6:
				a, err := c.call(ctx, "GET /v1/requests", "GET", "/v1/requests", nil, after())
				if err == nil {
					requests, awaiting = requests[:0], awaiting[:0]
					var body struct {
						Requests []struct{ ID, Status string } `json:"requests"`
					}
					a.decode(&body)
					for _, r := range body.Requests {
						if r.ID == "" {
							continue
						}
						requests = append(requests, r.ID)
						if r.Status == "awaiting_information" {
							awaiting = append(awaiting, r.ID)
						}
					}
				}
			case r < 8 && len(requests) > 0:
				_, _ = c.call(ctx, "GET /v1/requests/{id}", "GET", "/v1/requests/"+requests[rng.IntN(len(requests))], nil, after())
			case r < 9:
				_, _ = c.call(ctx, "GET /v1/document-submissions", "GET", "/v1/document-submissions", nil, after())
			default:
				_, _ = c.call(ctx, "GET /v1/payments", "GET", "/v1/payments", nil, after())
			}
		}
	}
}

// caseworkerJourney is a caseworker's day: look at the queues and the queue's cases, claim the next case, read it,
// then ask for information (half the time) or decide; look at their own cases and decide those whose information
// came back.
func caseworkerJourney(ctx context.Context, c *client, seed int64, step func() bool) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6167656e74))
	var lastPos string
	asked := map[string]bool{} // cases this caseworker asked information for, not decided yet
	after := func() map[string]string {
		if lastPos == "" {
			return nil
		}
		return map[string]string{posHeader: lastPos}
	}
	wrote := func(a answer, err error) bool {
		if err != nil {
			return false
		}
		if p := a.header.Get("X-Dossier-Position"); p != "" {
			lastPos = p
		}
		return true
	}
	decide := func(id string) {
		if step() && wrote(c.call(ctx, "POST /v1/cases/{id}/decision", "POST", "/v1/cases/"+id+"/decision",
			map[string]any{"approved": true}, map[string]string{"Idempotency-Key": uuid.NewString()})) {
			delete(asked, id)
		}
	}
	for step() {
		_, _ = c.call(ctx, "GET /v1/queues", "GET", "/v1/queues", nil, after())
		if !step() {
			return
		}
		_, _ = c.call(ctx, "GET /v1/queues/{queue}/cases", "GET", "/v1/queues/"+queue+"/cases", nil, after())
		if !step() {
			return
		}
		// Nothing to claim (404 queue.empty) and a case another caseworker took first (409) are part of the day.
		next, err := c.call(ctx, "POST /v1/queues/{queue}/claim-next", "POST", "/v1/queues/"+queue+"/claim-next", nil,
			map[string]string{"Idempotency-Key": uuid.NewString()}, "404 queue.empty", "409")
		if err == nil && next.status == 200 && wrote(next, nil) {
			id := next.str("request_id")
			if !step() {
				return
			}
			_, _ = c.call(ctx, "GET /v1/cases/{id}", "GET", "/v1/cases/"+id, nil, after())
			if rng.IntN(2) == 0 {
				deadline := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
				if step() && wrote(c.call(ctx, "POST /v1/cases/{id}/information-requests", "POST",
					"/v1/cases/"+id+"/information-requests",
					map[string]any{"items": []string{"Avis d'imposition 2025"}, "deadline": deadline},
					map[string]string{"Idempotency-Key": uuid.NewString()})) {
					asked[id] = true
				}
			} else {
				decide(id)
			}
		}
		if !step() {
			return
		}
		mine, err := c.call(ctx, "GET /v1/cases", "GET", "/v1/cases", nil, after())
		if err != nil {
			continue
		}
		var body struct {
			Cases []struct {
				RequestID string `json:"request_id"`
				Status    string `json:"status"`
			} `json:"cases"`
		}
		mine.decode(&body)
		for _, cs := range body.Cases {
			id := cs.RequestID
			// A case back from awaiting information is claimed again: decide it.
			if id != "" && cs.Status == "claimed" && asked[id] {
				decide(id)
			}
		}
	}
}
