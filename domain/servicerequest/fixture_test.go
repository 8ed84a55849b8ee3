package servicerequest_test

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

var (
	// t0 is 31 January 2026, 10:00 UTC (11:00 in Paris).
	t0 = time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)

	requestID  = uuid.MustParse("0b7f3c2e-4d5a-4f6b-8c9d-1e2f3a4b5c6d")
	memberID   = uuid.MustParse("5b8f2f0e-7d1c-4f55-9a55-1f0c8f0b6f2a")
	otherID    = uuid.MustParse("9e4d2c1b-0a9f-4e8d-b7c6-a5b4c3d2e1f0")
	commandID  = uuid.MustParse("d2c1b0a9-8f7e-4d6c-9b5a-493827161504")
	worker     = uuid.MustParse("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	worker2    = uuid.MustParse("6f5e4d3c-2b1a-4f0e-9d8c-7b6a59483726")
	supervisor = uuid.MustParse("c0ffee00-1234-4abc-9def-0123456789ab")

	reference = sr.DeriveReference(requestID, 2026, 0)

	c2s = sr.Service{
		Code:           "complementaire-sante-solidaire",
		CatalogVersion: "2026.1",
		Queue:          "sante",
		Deadlines: sr.Deadlines{
			Silence:      sr.SilenceRule{Outcome: sr.Acceptance, Period: sr.Period{Count: 2, Unit: sr.Months}},
			HandlingTime: sr.Period{Count: 30, Unit: sr.Days},
		},
		AppealRoutes: "À défaut de réponse dans ce délai, votre demande est acceptée ; vous pouvez demander une attestation.",
		InCharge:     office,
	}

	// attestations is a document delivered by right: silence decides nothing (no period), handling target 5 days.
	attestations = sr.Service{
		Code:           "attestations-pro",
		CatalogVersion: "2026.1",
		Queue:          "pro-attestations",
		Deadlines: sr.Deadlines{
			Silence:      sr.SilenceRule{Outcome: sr.NoImplicitDecision},
			HandlingTime: sr.Period{Count: 5, Unit: sr.Days},
		},
		AppealRoutes: "Recours amiable : vous pouvez contester la décision devant la commission de recours amiable.",
		InCharge:     office,
	}

	office = sr.ServiceInCharge{Name: "Service santé — complémentaire santé solidaire",
		Address: "MSA\n1 rue de la Mutualité\n49000 Angers", Phone: "02 41 31 75 75", Email: "c2s@msa.example.fr"}

	submission = sr.Submission{MemberID: memberID, Form: json.RawMessage(`{"household": 2, "resources": 11200}`),
		CommandID: commandID, Reference: reference}

	submitted = sr.Submitted{MemberID: memberID, ServiceCode: c2s.Code, CatalogVersion: "2026.1",
		Form: json.RawMessage(`{"household":2,"resources":11200}`), CommandID: commandID}
	acknowledged = sr.Acknowledged{Reference: reference, ReceivedAt: t0, HandlingTime: c2s.Deadlines.HandlingTime,
		DueOn: "2026-03-02", Silence: c2s.Deadlines.Silence, ImplicitDecisionOn: "2026-03-31",
		TimeZone: paris.String(), AppealRoutes: c2s.AppealRoutes, ServiceInCharge: office}
	queued = sr.Queued{Queue: "sante"}

	deadline  = time.Date(2026, 2, 25, 23, 0, 0, 0, time.UTC) // end of 25 February in Paris
	requested = sr.InformationRequested{Caseworker: worker, Items: []string{"Avis d'imposition 2025"}, Deadline: deadline}
	received  = sr.InformationReceived{What: "Avis d'imposition 2025 déposé"}
	approved  = sr.Decided{Caseworker: worker, Decision: sr.Approved, CatalogVersion: "2026.1", RuleApplied: "c2s.eligibility"}
)

// paris is Europe/Paris when the system has tzdata, else a fixed CET (+01:00): the tests' dates compare calendar
// days, which both give alike.
var paris = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}()

// on dates events at t, as the store hands them out.
func on(t time.Time, events ...any) []event.Envelope {
	out := make([]event.Envelope, len(events))
	for i, e := range events {
		out[i] = event.Envelope{Event: e, Metadata: event.Metadata{OccurredAt: t}}
	}
	return out
}

func join(parts ...[]event.Envelope) []event.Envelope {
	var out []event.Envelope
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Histories, each built on the previous one.
var (
	queuedCase   = on(t0, submitted, acknowledged, queued)
	claimedCase  = join(queuedCase, on(t0.Add(time.Hour), sr.Claimed{Caseworker: worker}))
	awaitingCase = join(claimedCase, on(time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC), requested))
	answeredCase = join(awaitingCase, on(time.Date(2026, 2, 20, 15, 0, 0, 0, time.UTC), received))
	decidedCase  = join(claimedCase, on(t0.Add(48*time.Hour), approved, sr.Closed{Reason: sr.CloseDecided}))
	lapsedCase   = join(awaitingCase, on(deadline, sr.InformationDeadlineLapsed{Deadline: deadline},
		sr.Closed{Reason: sr.CloseLapsed}))
	withdrawnCase = join(queuedCase, on(t0.Add(time.Hour), sr.Withdrawn{MemberID: memberID},
		sr.Closed{Reason: sr.CloseWithdrawn}))
)

// rejection2Months are c2s's periods under a silence that means rejection.
var rejection2Months = sr.Deadlines{
	Silence:      sr.SilenceRule{Outcome: sr.Rejection, Period: sr.Period{Count: 2, Unit: sr.Months}},
	HandlingTime: sr.Period{Count: 30, Unit: sr.Days},
}
