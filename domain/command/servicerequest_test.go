package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// Every top-level name here starts with "case": other command tests share the package.

const (
	caseService = "complementaire-sante-solidaire" // silence: acceptance after 2 months; 30 days; queue sante-c2s
	caseQueue   = "sante-c2s"
	caseForm    = `{"household_situation":"couple","household_size":3,"resources_12_months":1420000,"housing":"tenant","managing_body":"msa","sworn_statement":true}`
)

var caseParis = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

type caseClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *caseClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *caseClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// caseHasher is a PasswordHasher the case commands never call.
type caseHasher struct{}

func (caseHasher) Hash(context.Context, string) (string, error) { return "", errors.New("unused") }
func (caseHasher) Verify(context.Context, string, string) (bool, error) {
	return false, errors.New("unused")
}
func (caseHasher) VerifyDummy(context.Context, string) error { return nil }

type caseFixture struct {
	h     handlers
	env   *kurrentdbtest.Env
	clock *caseClock
}

func newCaseFixture(t *testing.T) *caseFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, servicerequest.Definitions(), staff.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	clock := &caseClock{now: time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC)}
	h, err := newHandlers(testDeps{Store: env.Store, Keys: keys, Hasher: caseHasher{}, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &caseFixture{h: h, env: env, clock: clock}
}

func caseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func caseMeta() command.Meta { return command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()} }

func caseAdminMeta() command.Meta {
	m := caseMeta()
	m.Actor = event.Actor{ID: uuid.NewString(), Role: event.RoleAdmin}
	return m
}

// staff opens a staff account with roles (written directly: logins are not the subject here) and assigns queues.
func (f *caseFixture) staff(t *testing.T, roles []string, queues ...string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleAdmin}, OccurredAt: f.clock.Now()}}
	if _, err := f.env.Store.Update(caseCtx(t), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
		return []any{staff.Created{Login: "agent-" + id.String()[:8], Name: "Agent", Roles: roles}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(queues) > 0 {
		if _, err := f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), id, queues); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (f *caseFixture) caseworker(t *testing.T, queues ...string) uuid.UUID {
	return f.staff(t, []string{staff.RoleCaseworker}, queues...)
}

func caseFormOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	var form map[string]any
	if err := json.Unmarshal([]byte(raw), &form); err != nil {
		t.Fatal(err)
	}
	return form
}

func (f *caseFixture) submit(t *testing.T, memberID uuid.UUID) command.SubmitResult {
	t.Helper()
	res, err := f.h.SubmitRequest(caseCtx(t), caseMeta(), memberID, command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)})
	if err != nil {
		t.Fatalf("SubmitRequest: %v", err)
	}
	return res
}

func (f *caseFixture) history(t *testing.T, id uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(caseCtx(t), servicerequest.StreamID(id))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f *caseFixture) revision(t *testing.T, id uuid.UUID) *uint64 {
	t.Helper()
	h := f.history(t, id)
	rev := h[len(h)-1].Revision
	return &rev
}

func (f *caseFixture) legalClock(t *testing.T, id uuid.UUID) servicerequest.LegalClock {
	t.Helper()
	h := f.history(t, id)
	c, err := servicerequest.Clock(h, servicerequest.Rehydrate(id, h).Deadlines(), caseParis)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countStreams counts the stored events whose stream starts with prefix.
func (f *caseFixture) countStreams(t *testing.T, prefix string) int {
	t.Helper()
	n := 0
	for _, r := range f.env.AllRecords(t) {
		if strings.HasPrefix(r.StreamID, prefix) {
			n++
		}
	}
	return n
}

func caseWant(t *testing.T, err error, kind failure.Kind, code string) {
	t.Helper()
	if err == nil || failure.KindOf(err) != kind || failure.CodeOf(err) != code {
		t.Fatalf("error %v (kind %s, code %s), want kind %s, code %s", err, failure.KindOf(err), failure.CodeOf(err), kind, code)
	}
}

func TestCaseSubmitAcknowledgement(t *testing.T) {
	f := newCaseFixture(t)
	now := f.clock.Now()
	res := f.submit(t, uuid.New())

	if _, ok := servicerequest.NormalizeReference(res.Reference); !ok || !strings.HasPrefix(res.Reference, "MSA-2026-") {
		t.Fatalf("reference %q", res.Reference)
	}
	if !res.ReceivedAt.Equal(now) {
		t.Fatalf("received at %v, want %v", res.ReceivedAt, now)
	}
	svc, err := catalog.Current().Lookup(caseService)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := svc.Silence.DecisionDate(now.In(caseParis))
	if !ok || res.ImplicitDecisionAt == nil {
		t.Fatalf("no implicit decision date (%v, %v)", ok, res.ImplicitDecisionAt)
	}
	wantDay := time.Date(want.Year(), want.Month(), want.Day(), 0, 0, 0, 0, caseParis)
	// The last day of silence is the catalog rule's day; the decision is acquired when it ends, at 00:00 of the next
	// day in Paris (servicerequest.EndOfDay), not at its start.
	if res.ImplicitDecisionOn != "2026-05-10" || wantDay.Format(time.DateOnly) != "2026-05-10" ||
		!res.ImplicitDecisionAt.Equal(time.Date(2026, 5, 11, 0, 0, 0, 0, caseParis)) {
		t.Fatalf("implicit decision on %s at %v, want the end of %v (catalog rule)", res.ImplicitDecisionOn,
			res.ImplicitDecisionAt, wantDay)
	}
	if res.Outcome != "acceptance" || res.AppealRoutes == "" || res.Position == 0 {
		t.Fatalf("result %+v", res)
	}
	if got := res.HandlingDueOn; got != "2026-04-09" || !res.HandlingDueAt.Equal(time.Date(2026, 4, 10, 0, 0, 0, 0, caseParis)) {
		t.Fatalf("handling due %s at %v, want 2026-04-09 (30 days), ending at 00:00 on 10 April", got, res.HandlingDueAt)
	}
	if office, ok := catalog.InCharge(svc.Queue); !ok || res.ServiceInCharge != (servicerequest.ServiceInCharge{
		Name: office.Name, Address: office.Address, Phone: office.Phone, Email: office.Email}) || res.TimeZone != "Europe/Paris" {
		t.Fatalf("service in charge %+v (time zone %q), want the queue's %+v", res.ServiceInCharge, res.TimeZone, office)
	}
	// The reference is claimed on its own stream and maps back to the request.
	claim, err := f.env.Store.Load(caseCtx(t), servicerequest.ReferenceStreamID(res.Reference))
	if err != nil || len(claim) != 1 {
		t.Fatalf("reference stream: %v, %d events", err, len(claim))
	}
	if c, ok := claim[0].Event.(servicerequest.ReferenceClaimed); !ok || c.RequestID != res.RequestID {
		t.Fatalf("claim %+v", claim[0].Event)
	}
	r := servicerequest.Rehydrate(res.RequestID, f.history(t, res.RequestID))
	if r.Queue() != caseQueue || r.Status() != servicerequest.StatusQueued || r.Reference() != res.Reference {
		t.Fatalf("request %v", r)
	}
}

func TestCaseSubmitSameIdempotencyKey(t *testing.T) {
	f := newCaseFixture(t)
	memberID := uuid.New()
	m := caseMeta()
	in := command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)}
	first, err := f.h.SubmitRequest(caseCtx(t), m, memberID, in)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	again, err := f.h.SubmitRequest(caseCtx(t), m, memberID, in)
	if err != nil {
		t.Fatal(err)
	}
	if again.RequestID != first.RequestID || again.Reference != first.Reference || !again.ReceivedAt.Equal(first.ReceivedAt) ||
		again.Position != first.Position {
		t.Fatalf("retry %+v, first %+v", again, first)
	}
	if n := f.countStreams(t, servicerequest.Category+"-"); n != 3 {
		t.Fatalf("%d request events, want 3", n)
	}
	if n := f.countStreams(t, servicerequest.ReferenceCategory+"-"); n != 1 {
		t.Fatalf("%d reference claims, want 1", n)
	}
	// The same key from another member is another request.
	other, err := f.h.SubmitRequest(caseCtx(t), m, uuid.New(), in)
	if err != nil || other.RequestID == first.RequestID {
		t.Fatalf("other member: %v, %s", err, other.RequestID)
	}
}

func TestCaseSubmitBadInputWritesNothing(t *testing.T) {
	f := newCaseFixture(t)
	_, err := f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: caseService,
		Form: caseFormOf(t, `{"household_situation":"couple","household_size":3,"resources_12_months":"beaucoup","housing":"tenant","managing_body":"msa"}`)})
	caseWant(t, err, failure.Invalid, "request.form_invalid")
	var fe catalog.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("no FieldErrors in %v", err)
	}
	got := map[string]string{}
	for _, p := range fe.Problems() {
		got[p.Field] = p.Code
		if p.Message == "" {
			t.Errorf("%s: no message", p.Field)
		}
	}
	if got["resources_12_months"] != "form.invalid_amount" || got["sworn_statement"] != "form.required" {
		t.Fatalf("problems %v", got)
	}

	_, err = f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: "no-such-service", Form: map[string]any{}})
	caseWant(t, err, failure.Invalid, "catalog.unknown_service")
	if failure.FieldOf(err) != "service" {
		t.Fatalf("field %q", failure.FieldOf(err))
	}
	_, err = f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: "estimation-cotisations-nsa", Form: map[string]any{}})
	if failure.KindOf(err) != failure.Invalid || failure.FieldOf(err) != "service" {
		t.Fatalf("simulation: %v", err)
	}
	if n := len(f.env.AllRecords(t)); n != 0 {
		t.Fatalf("%d events written", n)
	}
}

func TestCaseConcurrentClaims(t *testing.T) {
	for _, ifMatch := range []bool{true, false} {
		t.Run(map[bool]string{true: "if-match", false: "latest"}[ifMatch], func(t *testing.T) {
			f := newCaseFixture(t)
			req := f.submit(t, uuid.New())
			a, b := f.caseworker(t, caseQueue), f.caseworker(t, caseQueue)
			var rev *uint64
			if ifMatch {
				rev = f.revision(t, req.RequestID)
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, who := range []uuid.UUID{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.h.Act(caseCtx(t), caseMeta(), who, req.RequestID, rev, command.ClaimCase{})
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case failure.KindOf(err) != failure.Conflict:
					t.Fatalf("loser: %v (kind %s), want a Conflict", err, failure.KindOf(err))
				}
			}
			if wins != 1 {
				t.Fatalf("%d claims won: %v", wins, errs)
			}
			holder := servicerequest.Rehydrate(req.RequestID, f.history(t, req.RequestID)).Assignee()
			if holder != a && holder != b {
				t.Fatalf("assignee %s", holder)
			}
		})
	}
}

func TestCaseQueueAndRoleRules(t *testing.T) {
	f := newCaseFixture(t)
	req := f.submit(t, uuid.New())
	outsider := f.caseworker(t, "retraite")
	_, err := f.h.Act(caseCtx(t), caseMeta(), outsider, req.RequestID, nil, command.ClaimCase{})
	caseWant(t, err, failure.Forbidden, "case.outside_queues")

	auditor := f.staff(t, []string{staff.RoleAuditor}, caseQueue)
	_, err = f.h.Act(caseCtx(t), caseMeta(), auditor, req.RequestID, nil, command.ClaimCase{})
	caseWant(t, err, failure.Forbidden, "case.role_forbidden")
	_, err = f.h.Act(caseCtx(t), caseMeta(), auditor, req.RequestID, nil, command.AddCaseNote{Text: "Vu."})
	caseWant(t, err, failure.Forbidden, "case.role_forbidden")

	// A caseworker of the queue acting in an auditor session does not write either.
	insider := f.caseworker(t, caseQueue)
	m := caseMeta()
	m.Actor = event.Actor{ID: insider.String(), Role: event.RoleAuditor}
	_, err = f.h.Act(caseCtx(t), m, insider, req.RequestID, nil, command.ClaimCase{})
	caseWant(t, err, failure.Forbidden, "case.role_forbidden")
	if n := f.countStreams(t, servicerequest.Category+"-"); n != 3 {
		t.Fatalf("%d request events, want 3", n)
	}

	// A supervisor works any queue and reassigns; a caseworker may not reassign.
	supervisor := f.staff(t, []string{staff.RoleSupervisor})
	if _, err := f.h.Act(caseCtx(t), caseMeta(), supervisor, req.RequestID, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.h.Act(caseCtx(t), caseMeta(), insider, req.RequestID, nil, command.ReassignCase{To: insider})
	caseWant(t, err, failure.Forbidden, "case.supervisor_required")
	_, err = f.h.Act(caseCtx(t), caseMeta(), supervisor, req.RequestID, nil, command.ReassignCase{To: outsider})
	caseWant(t, err, failure.Invalid, "case.assignee_ineligible")
	if _, err := f.h.Act(caseCtx(t), caseMeta(), supervisor, req.RequestID, f.revision(t, req.RequestID), command.ReassignCase{To: insider}); err != nil {
		t.Fatal(err)
	}
	if got := servicerequest.Rehydrate(req.RequestID, f.history(t, req.RequestID)).Assignee(); got != insider {
		t.Fatalf("assignee %s", got)
	}
	// A stale If-Match is a Conflict.
	_, err = f.h.Act(caseCtx(t), caseMeta(), insider, req.RequestID, new(uint64), command.ReleaseCase{})
	if failure.KindOf(err) != failure.Conflict {
		t.Fatalf("stale release: %v", err)
	}
	if _, err := f.h.Act(caseCtx(t), caseMeta(), insider, req.RequestID, nil, command.ReleaseCase{}); err != nil {
		t.Fatal(err)
	}
}

func TestCaseInformationStopsAndRestartsTheClock(t *testing.T) {
	f := newCaseFixture(t)
	memberID := uuid.New()
	req := f.submit(t, memberID)
	cw := f.caseworker(t, caseQueue)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
	before := f.legalClock(t, req.RequestID)
	f.clock.Advance(24 * time.Hour) // 11 March
	deadline := f.clock.Now().Add(30 * 24 * time.Hour)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, f.revision(t, req.RequestID),
		command.RequestCaseInformation{Items: []string{"Avis d'imposition 2025"}, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	if c := f.legalClock(t, req.RequestID); !c.Paused {
		t.Fatalf("clock not paused: %+v", c)
	}
	f.clock.Advance(10 * 24 * time.Hour) // 21 March
	if _, err := f.h.ProvideInformation(caseCtx(t), caseMeta(), memberID, req.RequestID, "Avis envoyé par courrier."); err != nil {
		t.Fatal(err)
	}
	after := f.legalClock(t, req.RequestID)
	if after.Paused || after.PausedDays != 10 {
		t.Fatalf("clock after the answer: %+v", after)
	}
	// The service's silence means acceptance: the period runs again, whole, from the day of the answer (L114-5),
	// not from the original date moved by the pause.
	if before.Incomplete != servicerequest.Restart {
		t.Fatalf("the fixture's service is not an acceptance-silence one: %+v", before)
	}
	if got, want := after.ImplicitDecisionOn, servicerequest.AddPeriod(f.clock.Now().In(caseParis), before.Deadlines.Silence.Period); !got.Equal(want) ||
		got.Equal(before.ImplicitDecisionOn.AddDate(0, 0, 10)) {
		t.Fatalf("implicit decision %v, want %v", got, want)
	}
	// The answer is the member's: another member does not learn the request exists.
	_, err := f.h.ProvideInformation(caseCtx(t), caseMeta(), uuid.New(), req.RequestID, "x")
	caseWant(t, err, failure.NotFound, "servicerequest.not_found")
}

func TestCaseDecision(t *testing.T) {
	f := newCaseFixture(t)
	memberID := uuid.New()
	req := f.submit(t, memberID)
	cw := f.caseworker(t, caseQueue)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.DecideCase{Approved: false, Reason: " "})
	caseWant(t, err, failure.Invalid, "servicerequest.reason_required")
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, f.revision(t, req.RequestID), command.DecideCase{Approved: true, Reason: ""}); err != nil {
		t.Fatal(err)
	}
	d, ok := servicerequest.Rehydrate(req.RequestID, f.history(t, req.RequestID)).Decision()
	if !ok || d.Decision != servicerequest.Approved || d.CatalogVersion != catalog.CurrentVersion || d.RuleApplied != caseService ||
		d.Caseworker != cw || d.AuthorName != "Agent" || d.AuthorPosition != staff.PositionCaseworker {
		t.Fatalf("decision %+v (L212-1: its author's name and position)", d)
	}
	_, err = f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.DecideCase{Approved: false, Reason: "Ressources trop élevées."})
	caseWant(t, err, failure.Rule, "servicerequest.closed")
	// Notes are still accepted on a closed case.
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.AddCaseNote{Text: "Dossier archivé."}); err != nil {
		t.Fatal(err)
	}
	// The request's data is the member's: every event of the stream names them as its subject (whose key seals it).
	for _, env := range f.history(t, req.RequestID) {
		if env.Metadata.Subject != memberID {
			t.Errorf("%s@%d (%s): subject %s, want the member", env.Stream, env.Revision, env.Type, env.Metadata.Subject)
		}
	}
}

func TestCaseInformationDeadlineLapses(t *testing.T) {
	f := newCaseFixture(t)
	req := f.submit(t, uuid.New())
	cw := f.caseworker(t, caseQueue)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
	deadline := f.clock.Now().Add(15 * 24 * time.Hour)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.RequestCaseInformation{Items: []string{"RIB"}, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	_, err := f.h.LapseInformationDeadline(caseCtx(t), caseMeta(), req.RequestID)
	caseWant(t, err, failure.Rule, "servicerequest.deadline_not_reached")

	f.clock.Advance(15 * 24 * time.Hour)
	if _, err := f.h.LapseInformationDeadline(caseCtx(t), caseMeta(), req.RequestID); err != nil {
		t.Fatal(err)
	}
	history := f.history(t, req.RequestID)
	if reason, closed := servicerequest.Rehydrate(req.RequestID, history).Closed(); !closed || reason != servicerequest.CloseLapsed {
		t.Fatalf("closed %v (%s)", closed, reason)
	}
	if a := history[len(history)-1].Metadata.Actor; a.Role != event.RoleSystem {
		t.Fatalf("actor %+v", a)
	}
	// Idempotent: a second firing of the reaction records nothing.
	if _, err := f.h.LapseInformationDeadline(caseCtx(t), caseMeta(), req.RequestID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.history(t, req.RequestID)); n != len(history) {
		t.Fatalf("%d events after the second lapse, want %d", n, len(history))
	}
}

func TestCaseWithdrawOnlyOwnRequest(t *testing.T) {
	f := newCaseFixture(t)
	a, b := uuid.New(), uuid.New()
	req := f.submit(t, a)
	_, err := f.h.WithdrawRequest(caseCtx(t), caseMeta(), b, req.RequestID, "")
	caseWant(t, err, failure.NotFound, "servicerequest.not_found")
	_, err = f.h.WithdrawRequest(caseCtx(t), caseMeta(), a, uuid.New(), "")
	caseWant(t, err, failure.NotFound, "servicerequest.not_found")
	if _, err := f.h.WithdrawRequest(caseCtx(t), caseMeta(), a, req.RequestID, "Plus nécessaire."); err != nil {
		t.Fatal(err)
	}
	if reason, closed := servicerequest.Rehydrate(req.RequestID, f.history(t, req.RequestID)).Closed(); !closed ||
		reason != servicerequest.CloseWithdrawn {
		t.Fatalf("closed %v (%s)", closed, reason)
	}
}

func TestCaseClaimNext(t *testing.T) {
	f := newCaseFixture(t)
	first, second := f.submit(t, uuid.New()), f.submit(t, uuid.New())
	a, b := f.caseworker(t, caseQueue), f.caseworker(t, caseQueue)
	if _, err := f.h.Act(caseCtx(t), caseMeta(), a, first.RequestID, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
	candidates := []uuid.UUID{first.RequestID, uuid.New(), second.RequestID}
	got, err := f.h.ClaimNext(caseCtx(t), caseMeta(), b, caseQueue, candidates)
	if err != nil || got.RequestID != second.RequestID || got.Position == 0 {
		t.Fatalf("claim next: %+v, %v", got, err)
	}
	_, err = f.h.ClaimNext(caseCtx(t), caseMeta(), b, caseQueue, candidates)
	caseWant(t, err, failure.NotFound, "queue.empty")
	_, err = f.h.ClaimNext(caseCtx(t), caseMeta(), b, "retraite", nil)
	caseWant(t, err, failure.Forbidden, "case.outside_queues")
	_, err = f.h.ClaimNext(caseCtx(t), caseMeta(), b, "nowhere", nil)
	caseWant(t, err, failure.NotFound, "queue.not_found")
}

func TestCaseStaffQueues(t *testing.T) {
	f := newCaseFixture(t)
	cw := f.caseworker(t)
	if q, err := f.h.StaffQueues(caseCtx(t), cw); err != nil || len(q) != 0 {
		t.Fatalf("queues %v, %v", q, err)
	}
	_, err := f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), cw, []string{caseQueue, "no-such-queue"})
	caseWant(t, err, failure.Invalid, "queue.unknown")
	m := caseMeta()
	m.Actor = event.Actor{ID: uuid.NewString(), Role: event.RoleCaseworker}
	_, err = f.h.AssignStaffQueues(caseCtx(t), m, cw, []string{caseQueue})
	caseWant(t, err, failure.Forbidden, "queue.assignment_forbidden")
	if _, err := f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), cw, []string{"retraite", caseQueue, "retraite"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), cw, []string{caseQueue, "retraite"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := f.h.StaffQueues(caseCtx(t), cw)
	if err != nil || strings.Join(q, ",") != "retraite,"+caseQueue {
		t.Fatalf("queues %v, %v", q, err)
	}
	if n := f.countStreams(t, staff.Category+"-"); n != 2 { // Created, one QueuesAssigned
		t.Fatalf("%d staff events (last position %d), want 2", n, res.Position)
	}
	_, err = f.h.StaffQueues(caseCtx(t), uuid.New())
	caseWant(t, err, failure.NotFound, "staff.not_found")
}

func TestCaseMessages(t *testing.T) {
	for _, code := range []string{"case.outside_queues", "case.role_forbidden", "case.supervisor_required",
		"case.assignee_ineligible", "queue.empty", "queue.unknown", "queue.not_found", "queue.assignment_forbidden",
		"queue.medical_role_required", "queue.medical_only", "case.assignee_medical_required",
		"request.form_invalid", "catalog.unknown_service", "servicerequest.closed",
		"servicerequest.not_found", "form.required"} {
		if msg, _ := messages.FR(code); len(msg) < 15 {
			t.Errorf("no message for %s", code)
		}
	}
}

// caseNoImplicitDecisionServices are the services whose silence gives no implicit decision; their forms are the
// catalogue's valid samples (catalogtest).
var caseNoImplicitDecisionServices = []string{"attestations-pro", "changement-situation", "declaration-ressources",
	"ressources-trimestrielles"}

// caseSampleForm returns the catalogue's valid sample form of service code.
func caseSampleForm(t *testing.T, code string) map[string]any {
	t.Helper()
	sm, ok := catalogtest.For(code)
	if !ok {
		t.Fatalf("no catalogue sample for %s", code)
	}
	return sm.ValidForm()
}

// TestCaseSubmitWithoutImplicitDecision: a document delivered by right (attestations-pro) is taken online and
// acknowledged with its handling target and no implicit-decision date, as the catalogue's rule says.
func TestCaseSubmitWithoutImplicitDecision(t *testing.T) {
	f := newCaseFixture(t)
	svc, err := catalog.Current().Lookup("attestations-pro")
	if err != nil || svc.Silence.Outcome != catalog.SilenceNone {
		t.Fatalf("attestations-pro: %v, silence %+v (want none)", err, svc.Silence)
	}
	if _, ok := svc.Silence.DecisionDate(f.clock.Now()); ok {
		t.Fatal("the catalogue gives attestations-pro an implicit-decision date")
	}
	res, err := f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: "attestations-pro",
		Form: caseSampleForm(t, "attestations-pro")})
	if err != nil {
		t.Fatalf("SubmitRequest: %v", err)
	}
	if res.ImplicitDecisionAt != nil || res.Outcome != "none" {
		t.Fatalf("implicit decision %v (%q), want none", res.ImplicitDecisionAt, res.Outcome)
	}
	// Received 10 March 2026 at 14:00 in Paris; target 5 days.
	if got := res.HandlingDueOn; got != "2026-03-15" || svc.TargetHandlingDays != 5 || res.ImplicitDecisionOn != "" ||
		!res.HandlingDueAt.Equal(time.Date(2026, 3, 16, 0, 0, 0, 0, caseParis)) {
		t.Fatalf("handling due %s, want 2026-03-15 (%d days)", got, svc.TargetHandlingDays)
	}
	if !strings.HasPrefix(res.Reference, "MSA-2026-") || res.AppealRoutes != strings.Join(svc.AppealRoutes, "\n") ||
		res.Position == 0 {
		t.Fatalf("result %+v", res)
	}
	h := f.history(t, res.RequestID)
	var ack servicerequest.Acknowledged
	for _, env := range h {
		if a, ok := env.Event.(servicerequest.Acknowledged); ok {
			ack = a
		}
	}
	if ack.ImplicitDecisionOn != "" || ack.Silence != (servicerequest.SilenceRule{Outcome: servicerequest.NoImplicitDecision}) ||
		ack.DueOn != "2026-03-15" {
		t.Fatalf("stored acknowledgement %+v", ack)
	}
	r := servicerequest.Rehydrate(res.RequestID, h)
	if r.Queue() != svc.Queue || r.Status() != servicerequest.StatusQueued {
		t.Fatalf("request %v", r)
	}
	if c := f.legalClock(t, res.RequestID); !c.ImplicitDecisionOn.IsZero() || c.Outcome != servicerequest.NoImplicitDecision {
		t.Fatalf("legal clock %+v", c)
	}

	// The other services without implicit decision are taken online alike.
	for _, code := range caseNoImplicitDecisionServices[1:] {
		if s, err := catalog.Current().Lookup(code); err != nil || s.Silence.Outcome != catalog.SilenceNone {
			t.Fatalf("%s: %v, silence %+v (want none)", code, err, s.Silence)
		}
		res, err := f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: code,
			Form: caseSampleForm(t, code)})
		if err != nil || res.ImplicitDecisionAt != nil || res.Outcome != "none" || res.HandlingDueAt.IsZero() {
			t.Errorf("%s: %+v, %v", code, res, err)
		}
	}
}

// TestCaseResultCarriesTheNewRevision: every case command answers with the case's revision after it (its new ETag),
// so a caseworker chains changes with If-Match without reading the case again; an older revision is a Conflict.
func TestCaseResultCarriesTheNewRevision(t *testing.T) {
	f := newCaseFixture(t)
	memberID := uuid.New()
	req := f.submit(t, memberID)
	if want := *f.revision(t, req.RequestID); req.Revision != want || want != 2 { // Submitted, Acknowledged, Queued
		t.Fatalf("submission revision %d, want %d", req.Revision, want)
	}
	cw := f.caseworker(t, caseQueue)
	claim, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &req.Revision, command.ClaimCase{})
	if err != nil {
		t.Fatal(err)
	}
	if want := *f.revision(t, req.RequestID); claim.Revision != want || claim.Revision <= req.Revision {
		t.Fatalf("claim revision %d, stream at %d", claim.Revision, want)
	}
	// A claim by the holder changes nothing and answers the current revision.
	again, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.ClaimCase{})
	if err != nil || again.Revision != claim.Revision {
		t.Fatalf("claim again: %+v, %v", again, err)
	}
	info, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &claim.Revision,
		command.RequestCaseInformation{Items: []string{"RIB"}, Deadline: f.clock.Now().Add(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatalf("information with the claim's revision: %v", err)
	}
	if want := *f.revision(t, req.RequestID); info.Revision != want || info.Revision <= claim.Revision {
		t.Fatalf("information revision %d, stream at %d", info.Revision, want)
	}
	_, err = f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, nil, command.AddCaseNote{Text: "Relance prévue."})
	if err != nil {
		t.Fatal(err)
	}
	// The claim's revision is stale now.
	_, err = f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &claim.Revision, command.ReleaseCase{})
	if failure.KindOf(err) != failure.Conflict {
		t.Fatalf("stale revision: %v, want a Conflict", err)
	}
	answer, err := f.h.ProvideInformation(caseCtx(t), caseMeta(), memberID, req.RequestID, "RIB envoyé.")
	if err != nil || answer.Revision != *f.revision(t, req.RequestID) {
		t.Fatalf("member's answer: %+v, %v", answer, err)
	}
	decided, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &answer.Revision, command.DecideCase{Approved: true, Reason: ""})
	if err != nil || decided.Revision != *f.revision(t, req.RequestID) {
		t.Fatalf("decision: %+v, %v", decided, err)
	}
}

// TestCaseNoteHonoursIfMatch: a note, like every other case command, is refused (Conflict, nothing recorded) when
// the case moved since the revision the staff member saw, and recorded with the current one.
func TestCaseNoteHonoursIfMatch(t *testing.T) {
	f := newCaseFixture(t)
	req := f.submit(t, uuid.New())
	cw := f.caseworker(t, caseQueue)
	claim, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &req.Revision, command.ClaimCase{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &req.Revision, command.AddCaseNote{Text: "Vu."})
	if failure.KindOf(err) != failure.Conflict {
		t.Fatalf("note with a stale revision: %v, want a Conflict", err)
	}
	if got := *f.revision(t, req.RequestID); got != claim.Revision {
		t.Fatalf("stale note recorded: stream at %d, want %d", got, claim.Revision)
	}
	note, err := f.h.Act(caseCtx(t), caseMeta(), cw, req.RequestID, &claim.Revision, command.AddCaseNote{Text: "Vu."})
	if err != nil {
		t.Fatalf("note with the current revision: %v", err)
	}
	if want := *f.revision(t, req.RequestID); note.Revision != want || note.Revision <= claim.Revision {
		t.Fatalf("note revision %d, stream at %d", note.Revision, want)
	}
}

// Confidential (medical) queue: sante-invalidite holds pension-invalidite requests.
const (
	caseMedicalService = "pension-invalidite"
	caseMedicalQueue   = "sante-invalidite"
)

// caseMedicalWorld is a confidential case and the staff around it: a caseworker of the medical service in its
// queue, a caseworker outside it (in sante-c2s), supervisors and an auditor with and without the medical role.
type caseMedicalWorld struct {
	f                                     *caseFixture
	req                                   uuid.UUID
	medic, plain, medicSupervisor, superv uuid.UUID
	medicAuditor                          uuid.UUID
}

func newCaseMedicalWorld(t *testing.T) *caseMedicalWorld {
	t.Helper()
	f := newCaseFixture(t)
	sample, ok := catalogtest.For(caseMedicalService)
	if !ok {
		t.Fatal("no catalogue sample for " + caseMedicalService)
	}
	if q, ok := catalog.Current().Queue(caseMedicalQueue); !ok || !q.Confidential {
		t.Fatalf("queue %s is not confidential in the catalogue", caseMedicalQueue)
	}
	res, err := f.h.SubmitRequest(caseCtx(t), caseMeta(), uuid.New(), command.SubmitInput{Service: caseMedicalService, Form: sample.ValidForm()})
	if err != nil {
		t.Fatal(err)
	}
	if q := servicerequest.Rehydrate(res.RequestID, f.history(t, res.RequestID)).Queue(); q != caseMedicalQueue {
		t.Fatalf("queued in %s", q)
	}
	return &caseMedicalWorld{f: f, req: res.RequestID,
		medic:           f.staff(t, []string{staff.RoleCaseworker, staff.RoleMedical}, caseMedicalQueue),
		plain:           f.caseworker(t, caseQueue),
		medicSupervisor: f.staff(t, []string{staff.RoleSupervisor, staff.RoleMedical}),
		superv:          f.staff(t, []string{staff.RoleSupervisor}),
		medicAuditor:    f.staff(t, []string{staff.RoleAuditor, staff.RoleMedical}),
	}
}

// eventTypes returns the types of stream's events from revision from on.
func (w *caseMedicalWorld) eventTypes(t *testing.T, stream event.StreamID, from int) []string {
	t.Helper()
	h, err := w.f.env.Store.Load(caseCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, env := range h[min(from, len(h)):] {
		out = append(out, env.Type)
	}
	return out
}

func (w *caseMedicalWorld) claimBy(t *testing.T, who uuid.UUID) {
	t.Helper()
	if _, err := w.f.h.Act(caseCtx(t), caseMeta(), who, w.req, nil, command.ClaimCase{}); err != nil {
		t.Fatal(err)
	}
}

func (w *caseMedicalWorld) setRoles(t *testing.T, who uuid.UUID, roles ...string) {
	t.Helper()
	if _, err := w.f.h.ChangeStaffRoles(caseCtx(t), caseAdminMeta(), who, roles); err != nil {
		t.Fatal(err)
	}
}

// TestCaseConfidentialQueue: given a confidential case (and what happened to it), when a staff member acts, then
// the error (kind, code, field) and the events appended on the stream under test (the case's unless said).
func TestCaseConfidentialQueue(t *testing.T) {
	tests := []struct {
		name        string
		given       func(t *testing.T, w *caseMedicalWorld)
		when        func(w *caseMedicalWorld) error
		staffStream func(w *caseMedicalWorld) uuid.UUID // the stream under test is this staff member's
		wantKind    failure.Kind
		wantCode    string
		wantField   string
		then        []string
	}{
		{
			name: "an admin assigns the confidential queue to a caseworker outside the medical service",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), w.plain, []string{caseQueue, caseMedicalQueue})
				return err
			},
			staffStream: func(w *caseMedicalWorld) uuid.UUID { return w.plain },
			wantKind:    failure.Invalid, wantCode: "queue.medical_role_required", wantField: "queues",
		},
		{
			name: "an admin assigns it once the medical role is given",
			given: func(t *testing.T, w *caseMedicalWorld) {
				w.setRoles(t, w.plain, staff.RoleCaseworker, staff.RoleMedical)
			},
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), w.plain, []string{caseQueue, caseMedicalQueue})
				return err
			},
			staffStream: func(w *caseMedicalWorld) uuid.UUID { return w.plain },
			then:        []string{staff.TypeQueuesAssigned},
		},
		{
			name: "a caseworker of the medical service claims",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medic, w.req, nil, command.ClaimCase{})
				return err
			},
			then: []string{servicerequest.TypeClaimed},
		},
		{
			name: "a supervisor outside the medical service claims: the case does not exist for them",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.superv, w.req, nil, command.ClaimCase{})
				return err
			},
			wantKind: failure.NotFound, wantCode: "servicerequest.not_found",
		},
		{
			name: "a supervisor outside the medical service claims the next case of the queue",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.ClaimNext(caseCtx(t), caseMeta(), w.superv, caseMedicalQueue, []uuid.UUID{w.req})
				return err
			},
			wantKind: failure.Forbidden, wantCode: "queue.medical_only",
		},
		{
			name:  "a supervisor outside the medical service reassigns it",
			given: func(t *testing.T, w *caseMedicalWorld) { w.claimBy(t, w.medic) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.superv, w.req, nil, command.ReassignCase{To: w.superv})
				return err
			},
			wantKind: failure.NotFound, wantCode: "servicerequest.not_found",
		},
		{
			name:  "a supervisor outside the medical service adds a note",
			given: func(t *testing.T, w *caseMedicalWorld) { w.claimBy(t, w.medic) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.superv, w.req, nil, command.AddCaseNote{Text: "Vu."})
				return err
			},
			wantKind: failure.NotFound, wantCode: "servicerequest.not_found",
		},
		{
			name:  "a medical supervisor reassigns it to a caseworker outside the medical service",
			given: func(t *testing.T, w *caseMedicalWorld) { w.claimBy(t, w.medic) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medicSupervisor, w.req, nil, command.ReassignCase{To: w.plain})
				return err
			},
			wantKind: failure.Invalid, wantCode: "case.assignee_medical_required", wantField: "to",
		},
		{
			name:  "a medical supervisor reassigns it to a supervisor outside the medical service",
			given: func(t *testing.T, w *caseMedicalWorld) { w.claimBy(t, w.medic) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medicSupervisor, w.req, nil, command.ReassignCase{To: w.superv})
				return err
			},
			wantKind: failure.Invalid, wantCode: "case.assignee_medical_required", wantField: "to",
		},
		{
			name: "a medical supervisor reassigns it to a caseworker of the medical service",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medicSupervisor, w.req, nil, command.ReassignCase{To: w.medic})
				return err
			},
			then: []string{servicerequest.TypeReassigned},
		},
		{
			name: "an auditor of the medical service never writes",
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medicAuditor, w.req, nil, command.AddCaseNote{Text: "Vu."})
				return err
			},
			wantKind: failure.Forbidden, wantCode: "case.role_forbidden",
		},
		{
			name: "the holder loses the medical role: the case is gone for them at once",
			given: func(t *testing.T, w *caseMedicalWorld) {
				w.claimBy(t, w.medic)
				w.setRoles(t, w.medic, staff.RoleCaseworker)
			},
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.Act(caseCtx(t), caseMeta(), w.medic, w.req, nil, command.DecideCase{Approved: true, Reason: ""})
				return err
			},
			wantKind: failure.NotFound, wantCode: "servicerequest.not_found",
		},
		{
			name:  "a caseworker who lost the medical role claims the next case of the queue still assigned",
			given: func(t *testing.T, w *caseMedicalWorld) { w.setRoles(t, w.medic, staff.RoleCaseworker) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.ClaimNext(caseCtx(t), caseMeta(), w.medic, caseMedicalQueue, []uuid.UUID{w.req})
				return err
			},
			wantKind: failure.Forbidden, wantCode: "queue.medical_only",
		},
		{
			name:  "an admin re-assigns the queue to a caseworker who lost the medical role",
			given: func(t *testing.T, w *caseMedicalWorld) { w.setRoles(t, w.medic, staff.RoleCaseworker) },
			when: func(w *caseMedicalWorld) error {
				_, err := w.f.h.AssignStaffQueues(caseCtx(t), caseAdminMeta(), w.medic, []string{caseMedicalQueue})
				return err
			},
			staffStream: func(w *caseMedicalWorld) uuid.UUID { return w.medic },
			wantKind:    failure.Invalid, wantCode: "queue.medical_role_required", wantField: "queues",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newCaseMedicalWorld(t)
			if tt.given != nil {
				tt.given(t, w)
			}
			stream := servicerequest.StreamID(w.req)
			if tt.staffStream != nil {
				stream = staff.StreamFor(tt.staffStream(w))
			}
			before := len(w.eventTypes(t, stream, 0))
			err := tt.when(w)
			if tt.wantCode == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.wantCode != "" {
				caseWant(t, err, tt.wantKind, tt.wantCode)
				if got := failure.FieldOf(err); got != tt.wantField {
					t.Fatalf("field %q, want %q", got, tt.wantField)
				}
			}
			if got := w.eventTypes(t, stream, before); !slices.Equal(got, tt.then) {
				t.Fatalf("appended %v, want %v", got, tt.then)
			}
		})
	}
}

// TestCaseQueueAccess: what each staff member sees of the queues, read from their account at each call.
func TestCaseQueueAccess(t *testing.T) {
	w := newCaseMedicalWorld(t)
	all := []string{}
	for _, q := range catalog.Current().Queues() {
		all = append(all, q.Code)
	}
	withoutMedical := slices.DeleteFunc(slices.Clone(all), func(q string) bool { return q == caseMedicalQueue })
	access := func(id uuid.UUID) command.QueueAccess {
		t.Helper()
		a, err := w.f.h.QueueAccess(caseCtx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name string
		who  uuid.UUID
		want []string
	}{
		{"medical supervisor", w.medicSupervisor, all},
		{"supervisor", w.superv, withoutMedical},
		{"medical auditor", w.medicAuditor, all},
		{"medical caseworker", w.medic, []string{caseMedicalQueue}},
		{"caseworker", w.plain, []string{caseQueue}},
	} {
		if got := access(tc.who).Queues(); !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.name, got, tc.want)
		}
	}
	a := access(w.superv)
	caseWant(t, a.Check(caseMedicalQueue), failure.Forbidden, "queue.medical_only")
	caseWant(t, a.CaseCheck(caseMedicalQueue), failure.NotFound, "servicerequest.not_found")
	caseWant(t, a.Check("nowhere"), failure.NotFound, "queue.not_found")
	if a.Check(caseQueue) != nil || a.CaseCheck(caseQueue) != nil {
		t.Error("a supervisor does not see an ordinary queue")
	}
	caseWant(t, access(w.plain).Check("retraite"), failure.Forbidden, "case.outside_queues")
	caseWant(t, access(w.plain).CaseCheck("retraite"), failure.Forbidden, "case.outside_queues")
	if err := access(w.medic).CaseCheck(caseMedicalQueue); err != nil {
		t.Errorf("medical caseworker: %v", err)
	}

	// Removing the role hides the queue at once, though it stays assigned.
	w.setRoles(t, w.medic, staff.RoleCaseworker)
	if got := access(w.medic).Queues(); len(got) != 0 {
		t.Errorf("after losing the medical role: sees %v", got)
	}
	if q, err := w.f.h.StaffQueues(caseCtx(t), w.medic); err != nil || !slices.Equal(q, []string{caseMedicalQueue}) {
		t.Errorf("assigned queues %v, %v", q, err)
	}
	_, err := w.f.h.QueueAccess(caseCtx(t), uuid.New())
	caseWant(t, err, failure.NotFound, "staff.not_found")
}
