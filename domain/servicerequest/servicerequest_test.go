package servicerequest_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

func TestServiceRequest(t *testing.T) {
	later := time.Date(2026, 2, 12, 9, 0, 0, 0, time.UTC) // while information is awaited, before the deadline
	rejection := c2s
	rejection.Deadlines.Silence.Outcome = sr.Rejection
	rejection.AppealRoutes = " "
	badPeriod := c2s
	badPeriod.Deadlines.Silence.Period = sr.Period{Count: 2, Unit: "weeks"}
	rejected := sr.Decided{Caseworker: worker, Decision: sr.Rejected, Reason: "Ressources supérieures au plafond.",
		CatalogVersion: "2026.1", RuleApplied: "c2s.resources"}

	tests := []struct {
		name    string
		given   []event.Envelope
		when    func(r *sr.ServiceRequest) error
		then    []any
		wantErr error // matched with errors.Is; failure.Internal means any internal error
	}{
		// Submit
		{
			name: "a submission is acknowledged and queued at once",
			when: func(r *sr.ServiceRequest) error { return r.Submit(submission, c2s, t0, paris) },
			then: []any{submitted, acknowledged, queued},
		},
		{
			name:  "a retried submission (same command id) records nothing",
			given: queuedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Submit(submission, c2s, t0.Add(time.Minute), paris) },
		},
		{
			name:  "another submission on the same stream",
			given: queuedCase,
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.CommandID = uuid.MustParse("a1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6")
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: sr.ErrAlreadySubmitted,
		},
		{
			name: "a form that is not an object",
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.Form = json.RawMessage(`["household", 2]`)
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: sr.ErrFormInvalid,
		},
		{
			name: "a form that is not JSON",
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.Form = json.RawMessage(`{"household":`)
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: sr.ErrFormInvalid,
		},
		{
			name: "a null form",
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.Form = json.RawMessage(`null`)
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: sr.ErrFormInvalid,
		},
		{
			name: "a service without implicit decision is acknowledged without implicit-decision day",
			when: func(r *sr.ServiceRequest) error { return r.Submit(submission, attestations, t0, paris) },
			then: []any{
				sr.Submitted{MemberID: memberID, ServiceCode: attestations.Code, CatalogVersion: "2026.1",
					Form: json.RawMessage(`{"household":2,"resources":11200}`), CommandID: commandID},
				sr.Acknowledged{Reference: reference, ReceivedAt: t0, HandlingTime: attestations.Deadlines.HandlingTime,
					DueOn: "2026-02-05", Silence: sr.SilenceRule{Outcome: sr.NoImplicitDecision}, ImplicitDecisionOn: "",
					TimeZone: paris.String(), AppealRoutes: attestations.AppealRoutes, ServiceInCharge: office},
				sr.Queued{Queue: "pro-attestations"},
			},
		},
		{
			name: "a service without a complete service in charge is a catalog bug (R112-5)",
			when: func(r *sr.ServiceRequest) error {
				svc := c2s
				svc.InCharge.Email = " "
				return r.Submit(submission, svc, t0, paris)
			},
			wantErr: failure.Internal,
		},
		{
			name: "a rule without implicit decision but with a period is a catalog bug",
			when: func(r *sr.ServiceRequest) error {
				svc := attestations
				svc.Deadlines.Silence.Period = sr.Period{Count: 2, Unit: sr.Months}
				return r.Submit(submission, svc, t0, paris)
			},
			wantErr: failure.Internal,
		},
		{
			name:    "a silence that means rejection needs appeal routes",
			when:    func(r *sr.ServiceRequest) error { return r.Submit(submission, rejection, t0, paris) },
			wantErr: failure.Internal,
		},
		{
			name:    "an invalid period is a catalog bug",
			when:    func(r *sr.ServiceRequest) error { return r.Submit(submission, badPeriod, t0, paris) },
			wantErr: failure.Internal,
		},
		{
			name: "a reference that is not canonical is a bug",
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.Reference = strings.ToLower(reference)
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: failure.Internal,
		},
		{
			name:    "no location is a bug",
			when:    func(r *sr.ServiceRequest) error { return r.Submit(submission, c2s, t0, nil) },
			wantErr: failure.Internal,
		},
		{
			name: "no member is a bug",
			when: func(r *sr.ServiceRequest) error {
				s := submission
				s.MemberID = uuid.Nil
				return r.Submit(s, c2s, t0, paris)
			},
			wantErr: failure.Internal,
		},

		// Claim
		{
			name:  "a queued case is claimed",
			given: queuedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Claim(worker) },
			then:  []any{sr.Claimed{Caseworker: worker}},
		},
		{
			name:  "claiming one's own case records nothing",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Claim(worker) },
		},
		{
			name:    "a case claimed by someone else",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Claim(worker2) },
			wantErr: sr.ErrAlreadyClaimed,
		},
		{
			name:  "a released case can be claimed again",
			given: join(claimedCase, on(t0.Add(2*time.Hour), sr.Released{Caseworker: worker})),
			when:  func(r *sr.ServiceRequest) error { return r.Claim(worker2) },
			then:  []any{sr.Claimed{Caseworker: worker2}},
		},
		{
			name:    "a closed case cannot be claimed",
			given:   withdrawnCase,
			when:    func(r *sr.ServiceRequest) error { return r.Claim(worker) },
			wantErr: sr.ErrClosed,
		},
		{
			name:    "claiming nothing",
			when:    func(r *sr.ServiceRequest) error { return r.Claim(worker) },
			wantErr: sr.ErrNotFound,
		},

		// Release
		{
			name:  "the holder releases the case",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Release(worker) },
			then:  []any{sr.Released{Caseworker: worker}},
		},
		{
			name:    "releasing an unclaimed case",
			given:   queuedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Release(worker) },
			wantErr: sr.ErrNotClaimed,
		},
		{
			name:    "releasing someone else's case",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Release(worker2) },
			wantErr: sr.ErrNotYours,
		},
		{
			name:    "releasing a closed case",
			given:   decidedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Release(worker) },
			wantErr: sr.ErrClosed,
		},

		// Reassign
		{
			name:  "a supervisor reassigns a claimed case",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, worker2) },
			then:  []any{sr.Reassigned{Supervisor: supervisor, From: worker, To: worker2}},
		},
		{
			name:  "a supervisor assigns an unclaimed case",
			given: queuedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, worker2) },
			then:  []any{sr.Reassigned{Supervisor: supervisor, To: worker2}},
		},
		{
			name:  "a reassignment while information is awaited",
			given: awaitingCase,
			when:  func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, worker2) },
			then:  []any{sr.Reassigned{Supervisor: supervisor, From: worker, To: worker2}},
		},
		{
			name:  "reassigning to the holder records nothing",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, worker) },
		},
		{
			name:    "reassigning to nobody",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, uuid.Nil) },
			wantErr: sr.ErrAssigneeInvalid,
		},
		{
			name:    "reassigning a closed case",
			given:   lapsedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Reassign(supervisor, worker2) },
			wantErr: sr.ErrClosed,
		},

		// RequestInformation
		{
			name:  "the holder requests information",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"  Avis d'imposition 2025 "}, deadline, t0.Add(2*time.Hour))
			},
			then: []any{sr.InformationRequested{Caseworker: worker, Items: []string{"Avis d'imposition 2025"}, Deadline: deadline}},
		},
		{
			name:  "a second request once the first is answered",
			given: answeredCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB"}, deadline.AddDate(0, 1, 0), deadline)
			},
			then: []any{sr.InformationRequested{Caseworker: worker, Items: []string{"RIB"}, Deadline: deadline.AddDate(0, 1, 0)}},
		},
		{
			name:  "requesting information on an unclaimed case",
			given: queuedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB"}, deadline, t0)
			},
			wantErr: sr.ErrNotClaimed,
		},
		{
			name:  "requesting information on someone else's case",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker2, []string{"RIB"}, deadline, t0)
			},
			wantErr: sr.ErrNotYours,
		},
		{
			name:  "requesting information while some is awaited",
			given: awaitingCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB"}, deadline, later)
			},
			wantErr: sr.ErrAwaitingInformation,
		},
		{
			name:    "requesting no items",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.RequestInformation(worker, nil, deadline, t0) },
			wantErr: sr.ErrInformationItemsInvalid,
		},
		{
			name:  "requesting a blank item",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB", " "}, deadline, t0)
			},
			wantErr: sr.ErrInformationItemsInvalid,
		},
		{
			name:  "a deadline that is not in the future",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB"}, t0, t0)
			},
			wantErr: sr.ErrInformationDeadlineInvalid,
		},
		{
			name:  "requesting information on a closed case",
			given: decidedCase,
			when: func(r *sr.ServiceRequest) error {
				return r.RequestInformation(worker, []string{"RIB"}, deadline, t0)
			},
			wantErr: sr.ErrClosed,
		},

		// ReceiveInformation
		{
			name:  "the member answers",
			given: awaitingCase,
			when: func(r *sr.ServiceRequest) error {
				return r.ReceiveInformation(memberID, " Avis d'imposition 2025 déposé ", later)
			},
			then: []any{received},
		},
		{
			name:  "the member answers at the deadline itself",
			given: awaitingCase,
			when:  func(r *sr.ServiceRequest) error { return r.ReceiveInformation(memberID, "RIB", deadline) },
			then:  []any{sr.InformationReceived{What: "RIB"}},
		},
		{
			name:    "another member answers",
			given:   awaitingCase,
			when:    func(r *sr.ServiceRequest) error { return r.ReceiveInformation(otherID, "RIB", later) },
			wantErr: sr.ErrNotFound,
		},
		{
			name:    "an answer when nothing is awaited",
			given:   answeredCase,
			when:    func(r *sr.ServiceRequest) error { return r.ReceiveInformation(memberID, "RIB", later) },
			wantErr: sr.ErrNotAwaitingInformation,
		},
		{
			name:  "an answer after the deadline",
			given: awaitingCase,
			when: func(r *sr.ServiceRequest) error {
				return r.ReceiveInformation(memberID, "RIB", deadline.Add(time.Second))
			},
			wantErr: sr.ErrInformationLate,
		},
		{
			name:    "an empty answer",
			given:   awaitingCase,
			when:    func(r *sr.ServiceRequest) error { return r.ReceiveInformation(memberID, "  ", later) },
			wantErr: sr.ErrInformationAnswerInvalid,
		},
		{
			name:    "an answer on a lapsed case",
			given:   lapsedCase,
			when:    func(r *sr.ServiceRequest) error { return r.ReceiveInformation(memberID, "RIB", later) },
			wantErr: sr.ErrClosed,
		},

		// LapseInformationDeadline
		{
			name:  "the deadline lapses and closes the case",
			given: awaitingCase,
			when:  func(r *sr.ServiceRequest) error { return r.LapseInformationDeadline(deadline) },
			then:  []any{sr.InformationDeadlineLapsed{Deadline: deadline}, sr.Closed{Reason: sr.CloseLapsed}},
		},
		{
			name:    "a lapse before the deadline",
			given:   awaitingCase,
			when:    func(r *sr.ServiceRequest) error { return r.LapseInformationDeadline(deadline.Add(-time.Second)) },
			wantErr: sr.ErrDeadlineNotReached,
		},
		{
			name:    "a lapse after the member answered",
			given:   answeredCase,
			when:    func(r *sr.ServiceRequest) error { return r.LapseInformationDeadline(deadline) },
			wantErr: sr.ErrNotAwaitingInformation,
		},
		{
			name:  "a lapse recorded twice records nothing",
			given: lapsedCase,
			when:  func(r *sr.ServiceRequest) error { return r.LapseInformationDeadline(deadline.Add(time.Hour)) },
		},
		{
			name: "a lapse on a case withdrawn while awaiting",
			given: join(awaitingCase, on(later, sr.Withdrawn{MemberID: memberID},
				sr.Closed{Reason: sr.CloseWithdrawn})),
			when:    func(r *sr.ServiceRequest) error { return r.LapseInformationDeadline(deadline) },
			wantErr: sr.ErrClosed,
		},

		// Decide
		{
			name:  "the holder approves",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Decide(approved) },
			then:  []any{approved, sr.Closed{Reason: sr.CloseDecided}},
		},
		{
			name:  "the holder rejects with reasons, after the member answered",
			given: answeredCase,
			when:  func(r *sr.ServiceRequest) error { return r.Decide(rejected) },
			then:  []any{rejected, sr.Closed{Reason: sr.CloseDecided}},
		},
		{
			name:  "a rejection without reasons",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := rejected
				d.Reason = "  "
				return r.Decide(d)
			},
			wantErr: sr.ErrReasonRequired,
		},
		{
			name:  "reasons longer than MaxReasonLength",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := rejected
				d.Reason = strings.Repeat("é", sr.MaxReasonLength+1)
				return r.Decide(d)
			},
			wantErr: sr.ErrReasonTooLong,
		},
		{
			name:  "reasons of exactly MaxReasonLength",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := rejected
				d.Reason = strings.Repeat("é", sr.MaxReasonLength)
				return r.Decide(d)
			},
			then: []any{func() sr.Decided { d := rejected; d.Reason = strings.Repeat("é", sr.MaxReasonLength); return d }(),
				sr.Closed{Reason: sr.CloseDecided}},
		},
		{
			name:  "an unknown decision",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := approved
				d.Decision = "maybe"
				return r.Decide(d)
			},
			wantErr: sr.ErrDecisionInvalid,
		},
		{
			name:  "a decision without the rule applied",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := approved
				d.RuleApplied = ""
				return r.Decide(d)
			},
			wantErr: sr.ErrDecisionInvalid,
		},
		{
			name:    "a decision on an unclaimed case",
			given:   queuedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Decide(approved) },
			wantErr: sr.ErrNotClaimed,
		},
		{
			name:  "a decision by someone else than the holder",
			given: claimedCase,
			when: func(r *sr.ServiceRequest) error {
				d := approved
				d.Caseworker = worker2
				return r.Decide(d)
			},
			wantErr: sr.ErrNotYours,
		},
		{
			name:    "a decision while information is awaited",
			given:   awaitingCase,
			when:    func(r *sr.ServiceRequest) error { return r.Decide(approved) },
			wantErr: sr.ErrAwaitingInformation,
		},
		{
			name:    "a decision on a decided case",
			given:   decidedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Decide(rejected) },
			wantErr: sr.ErrClosed,
		},
		{
			name:    "a decision on a withdrawn case",
			given:   join(claimedCase, on(later, sr.Withdrawn{MemberID: memberID}, sr.Closed{Reason: sr.CloseWithdrawn})),
			when:    func(r *sr.ServiceRequest) error { return r.Decide(approved) },
			wantErr: sr.ErrClosed,
		},
		{
			name:  "the new holder decides after a reassignment",
			given: join(claimedCase, on(later, sr.Reassigned{Supervisor: supervisor, From: worker, To: worker2})),
			when: func(r *sr.ServiceRequest) error {
				d := approved
				d.Caseworker = worker2
				return r.Decide(d)
			},
			then: []any{sr.Decided{Caseworker: worker2, Decision: sr.Approved, CatalogVersion: "2026.1",
				RuleApplied: "c2s.eligibility"}, sr.Closed{Reason: sr.CloseDecided}},
		},

		// Withdraw
		{
			name:  "the member withdraws a queued request",
			given: queuedCase,
			when:  func(r *sr.ServiceRequest) error { return r.Withdraw(memberID, " Je n'en ai plus besoin ") },
			then:  []any{sr.Withdrawn{MemberID: memberID, Reason: "Je n'en ai plus besoin"}, sr.Closed{Reason: sr.CloseWithdrawn}},
		},
		{
			name:  "the member withdraws while information is awaited",
			given: awaitingCase,
			when:  func(r *sr.ServiceRequest) error { return r.Withdraw(memberID, "") },
			then:  []any{sr.Withdrawn{MemberID: memberID}, sr.Closed{Reason: sr.CloseWithdrawn}},
		},
		{
			name:    "another member withdraws",
			given:   queuedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Withdraw(otherID, "") },
			wantErr: sr.ErrNotFound,
		},
		{
			name:    "withdrawing a decided request",
			given:   decidedCase,
			when:    func(r *sr.ServiceRequest) error { return r.Withdraw(memberID, "") },
			wantErr: sr.ErrClosed,
		},
		{
			name:    "withdrawing nothing",
			when:    func(r *sr.ServiceRequest) error { return r.Withdraw(memberID, "") },
			wantErr: sr.ErrNotFound,
		},

		// AddNote
		{
			name:  "a caseworker adds a note",
			given: claimedCase,
			when:  func(r *sr.ServiceRequest) error { return r.AddNote(worker2, " Appeler l'adhérent lundi. ") },
			then:  []any{sr.NoteAdded{Author: worker2, Text: "Appeler l'adhérent lundi."}},
		},
		{
			name:  "a note on a closed case",
			given: decidedCase,
			when:  func(r *sr.ServiceRequest) error { return r.AddNote(supervisor, "Contrôle qualité fait.") },
			then:  []any{sr.NoteAdded{Author: supervisor, Text: "Contrôle qualité fait."}},
		},
		{
			name:    "an empty note",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.AddNote(worker, " \n ") },
			wantErr: sr.ErrNoteInvalid,
		},
		{
			name:    "a note too long",
			given:   claimedCase,
			when:    func(r *sr.ServiceRequest) error { return r.AddNote(worker, strings.Repeat("é", sr.MaxNoteLength+1)) },
			wantErr: sr.ErrNoteInvalid,
		},
		{
			name:    "a note on nothing",
			when:    func(r *sr.ServiceRequest) error { return r.AddNote(worker, "x") },
			wantErr: sr.ErrNotFound,
		},

		{
			name:  "events of unknown types are ignored",
			given: join(on(t0, struct{ Other int }{1}), claimedCase),
			when:  func(r *sr.ServiceRequest) error { return r.Release(worker) },
			then:  []any{sr.Released{Caseworker: worker}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sr.Rehydrate(requestID, tt.given)
			err := tt.when(r)
			switch {
			case tt.wantErr == failure.Internal:
				if err == nil || failure.KindOf(err) != failure.Internal {
					t.Fatalf("err = %v, want an internal error", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if got := r.Events(); !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events:\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}

// TestRehydrateMatchesDecisions walks the whole lifecycle through the behaviour methods and checks that the state
// rehydrated from the recorded events is the same: apply is the only way state changes.
func TestRehydrateMatchesDecisions(t *testing.T) {
	r := sr.Rehydrate(requestID, nil)
	steps := []struct {
		do     func() error
		status sr.Status
	}{
		{func() error { return r.Submit(submission, c2s, t0, paris) }, sr.StatusQueued},
		{func() error { return r.Claim(worker) }, sr.StatusClaimed},
		{func() error { return r.RequestInformation(worker, []string{"RIB"}, deadline, t0.Add(time.Hour)) }, sr.StatusAwaitingInformation},
		{func() error { return r.Reassign(supervisor, worker2) }, sr.StatusAwaitingInformation},
		{func() error { return r.ReceiveInformation(memberID, "RIB", t0.Add(48*time.Hour)) }, sr.StatusClaimed},
		{func() error { return r.AddNote(worker2, "RIB conforme") }, sr.StatusClaimed},
		{func() error {
			d := approved
			d.Caseworker = worker2
			return r.Decide(d)
		}, sr.StatusClosed},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := r.Status(); got != s.status {
			t.Fatalf("step %d: status %q, want %q", i, got, s.status)
		}
		again := sr.Rehydrate(requestID, on(t0, r.Events()...))
		if again.String() != r.String() || again.Status() != r.Status() {
			t.Fatalf("step %d: rehydrated %v, recorded %v", i, again, r)
		}
	}
	again := sr.Rehydrate(requestID, on(t0, r.Events()...))
	if again.ID() != requestID || again.MemberID() != memberID || again.Reference() != reference ||
		again.Queue() != "sante" || again.Assignee() != worker2 || !again.Submitted() ||
		again.Deadlines() != c2s.Deadlines {
		t.Fatalf("rehydrated state: %v", again)
	}
	if code, version := again.Service(); code != c2s.Code || version != "2026.1" {
		t.Fatalf("service %q %q", code, version)
	}
	if d, ok := again.Decision(); !ok || d.Decision != sr.Approved || d.Caseworker != worker2 {
		t.Fatalf("decision %+v %t", d, ok)
	}
	if reason, ok := again.Closed(); !ok || reason != sr.CloseDecided {
		t.Fatalf("closed %q %t", reason, ok)
	}
	if _, _, ok := again.Awaiting(); ok {
		t.Fatal("still awaiting")
	}
	if s := again.String(); strings.Contains(s, "11200") || strings.Contains(s, "RIB") {
		t.Fatalf("String leaks the form or notes: %q", s)
	}
}

func TestAwaiting(t *testing.T) {
	r := sr.Rehydrate(requestID, awaitingCase)
	items, until, ok := r.Awaiting()
	if !ok || !reflect.DeepEqual(items, requested.Items) || !until.Equal(deadline) {
		t.Fatalf("awaiting %v %v %t", items, until, ok)
	}
	items[0] = "changed"
	if again, _, _ := r.Awaiting(); again[0] != requested.Items[0] {
		t.Fatal("Awaiting exposes the state")
	}
}

func TestFieldOfRefusals(t *testing.T) {
	r := sr.Rehydrate(requestID, claimedCase)
	err := r.RequestInformation(worker, []string{"RIB", ""}, deadline, t0)
	if failure.FieldOf(err) != "items[1]" || failure.CodeOf(err) != "servicerequest.information_items_invalid" ||
		failure.KindOf(err) != failure.Invalid {
		t.Fatalf("err = %v (field %q, code %q)", err, failure.FieldOf(err), failure.CodeOf(err))
	}
}

func TestMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range sr.Errors() {
		if seen[e.Code] {
			t.Fatalf("%s: a code is used twice", e.Code)
		}
		seen[e.Code] = true
		m, _ := messages.FR(e.Code)
		if !strings.HasPrefix(e.Code, "servicerequest.") || m == "" || e.Kind == failure.Internal {
			t.Errorf("%s: kind %s, message %q", e.Code, e.Kind, m)
		}
	}
	for _, code := range []string{"servicerequest.closed", "servicerequest.not_claimed", "servicerequest.already_claimed",
		"servicerequest.not_yours", "servicerequest.awaiting_information", "servicerequest.reason_too_long"} {
		if m, _ := messages.FR(code); m == "" {
			t.Errorf("no message for %s", code)
		}
	}
	if failure.KindOf(sr.ErrAlreadyClaimed) != failure.Conflict || failure.KindOf(sr.ErrNotYours) != failure.Forbidden {
		t.Fatal("kinds of claim errors")
	}
}

// TestDecisionReasonTooLong: reasons over MaxReasonLength have their own code, about the reason field, and a
// sentence that gives the maximum; they are not answered as missing reasons.
func TestDecisionReasonTooLong(t *testing.T) {
	for _, decision := range []sr.Decision{sr.Approved, sr.Rejected} {
		r := sr.Rehydrate(requestID, claimedCase)
		err := r.Decide(sr.Decided{Caseworker: worker, Decision: decision, Reason: strings.Repeat("a", sr.MaxReasonLength+1),
			CatalogVersion: "2026.1", RuleApplied: "c2s.resources"})
		if !errors.Is(err, sr.ErrReasonTooLong) || errors.Is(err, sr.ErrReasonRequired) ||
			failure.CodeOf(err) != "servicerequest.reason_too_long" || failure.FieldOf(err) != "reason" ||
			failure.KindOf(err) != failure.Invalid {
			t.Fatalf("%s: err = %v (code %q, field %q)", decision, err, failure.CodeOf(err), failure.FieldOf(err))
		}
		if m, _ := messages.FR(failure.CodeOf(err)); !strings.Contains(m, "4 000 caractères") {
			t.Errorf("message %q does not give the maximum", m)
		}
		if len(r.Events()) != 0 {
			t.Errorf("%s: events recorded", decision)
		}
	}
}
