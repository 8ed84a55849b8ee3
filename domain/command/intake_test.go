package command_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// Every top-level name here starts with "intake": other command tests share the package.

// intakeWorld is a member's "d'autres documents" deposit waiting in the intake queue, made five days before a
// caseworker handles it.
type intakeWorld struct {
	f        *caseFixture
	docs     *command.Documents
	member   uuid.UUID
	deposit  uuid.UUID
	received time.Time
}

func newIntakeWorld(t *testing.T) *intakeWorld {
	t.Helper()
	env := kurrentdbtest.Start(t, servicerequest.Definitions(), staff.Definitions(), member.Definitions(),
		document.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	clock := &caseClock{now: time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC)}
	h, err := newHandlers(testDeps{Store: env.Store, Keys: keys, Hasher: caseHasher{}, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &caseFixture{h: h, env: env, clock: clock}
	dep := newDepositFixture(t) // its blob store only: the deposit is recorded on f's store
	docs, err := command.NewDocuments(command.Runtime{Store: f.env.Store, Clock: f.clock.Now}, filecheck.Check, dep.blobs,
		f.h.Cases, command.DocumentLimits{})
	if err != nil {
		t.Fatal(err)
	}
	w := &intakeWorld{f: f, docs: docs, member: uuid.New(), received: f.clock.Now()}
	d, err := docs.Begin(caseCtx(t), caseMeta(), w.member, depositForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddFile(caseCtx(t), 0, "rib.pdf", filechecktest.PDF("RIB")); err != nil {
		t.Fatal(err)
	}
	res, err := d.Commit(caseCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Deposit.Disposition != document.DispositionIntake {
		t.Fatalf("disposition %q, want the intake queue", res.Deposit.Disposition)
	}
	w.deposit = res.Deposit.SubmissionID
	f.clock.Advance(5 * 24 * time.Hour)
	return w
}

func intakeStaffMeta(id uuid.UUID) command.Meta {
	m := caseMeta()
	m.Actor = event.Actor{ID: id.String(), Role: event.RoleCaseworker}
	return m
}

func (w *intakeWorld) deposits(t *testing.T) *document.Deposit {
	t.Helper()
	h, err := w.f.env.Store.Load(caseCtx(t), document.StreamID(w.member))
	if err != nil {
		t.Fatal(err)
	}
	var st document.State
	for _, env := range h {
		st.Apply(env.Event, env.Metadata.OccurredAt)
	}
	return st.Deposits[w.deposit]
}

// TestIntakeOpenCaseFromDeposit: a caseworker opens a case from a deposit of the intake queue. The request is the
// member's, filed on their behalf (the caseworker its actor, the deposit named), acknowledged and queued in the
// chosen service's queue like a member's, its clock running from the deposit's receipt (not from the opening, five
// days later); the deposit is in its case file. Opening again, with another Idempotency-Key, opens nothing more.
func TestIntakeOpenCaseFromDeposit(t *testing.T) {
	w := newIntakeWorld(t)
	worker := w.f.caseworker(t, caseQueue)
	in := command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)}

	res, err := w.docs.OpenCaseFromDeposit(caseCtx(t), intakeStaffMeta(worker), worker, w.member, w.deposit, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequestID != command.IntakeCaseID(w.member, w.deposit) || res.Reference == "" || res.Position == 0 {
		t.Fatalf("answer %+v", res)
	}
	if !res.ReceivedAt.Equal(w.received) {
		t.Fatalf("received at %v, want the deposit's receipt %v", res.ReceivedAt, w.received)
	}
	if got := w.f.legalClock(t, res.RequestID).ReceivedAt; !got.Equal(w.received) {
		t.Fatalf("the legal clock runs from %v, want the deposit's receipt %v", got, w.received)
	}
	if res.HandlingDueOn != "2026-04-09" { // 30 days from 10 March, the deposit's day (not the opening's, 15 March)
		t.Fatalf("handling due on %s", res.HandlingDueOn)
	}

	h := w.f.history(t, res.RequestID)
	if len(h) != 3 {
		t.Fatalf("%d events on the new case, want Submitted, Acknowledged, Queued", len(h))
	}
	sub, ok := h[0].Event.(servicerequest.Submitted)
	if !ok || sub.MemberID != w.member || sub.FromSubmission != w.deposit || sub.ServiceCode != caseService {
		t.Fatalf("Submitted %+v", h[0].Event)
	}
	if a := h[0].Metadata.Actor; a.ID != worker.String() || a.Role != event.RoleCaseworker {
		t.Fatalf("filed by %+v, want the caseworker", a)
	}
	if h[0].Metadata.Subject != w.member {
		t.Fatalf("sealed under %v, want the member's key", h[0].Metadata.Subject)
	}
	if q, ok := h[2].Event.(servicerequest.Queued); !ok || q.Queue != caseQueue {
		t.Fatalf("Queued %+v", h[2].Event)
	}
	if d := w.deposits(t); d.CaseID != res.RequestID || d.Disposition != document.DispositionCaseFile {
		t.Fatalf("the deposit is in %v (%s), want the new case's file", d.CaseID, d.Disposition)
	}

	// Again (another Idempotency-Key): the same case, nothing appended.
	before := w.f.countStreams(t, "")
	again, err := w.docs.OpenCaseFromDeposit(caseCtx(t), intakeStaffMeta(worker), worker, w.member, w.deposit, in)
	if err != nil || again.RequestID != res.RequestID || again.Reference != res.Reference {
		t.Fatalf("again: %+v, %v", again, err)
	}
	if after := w.f.countStreams(t, ""); after != before {
		t.Fatalf("opening again appended %d events", after-before)
	}
	// Nor can it be attached elsewhere any more.
	other := w.f.submit(t, w.member)
	_, err = w.docs.AttachDeposit(caseCtx(t), intakeStaffMeta(worker), w.member, w.deposit, other.RequestID)
	if !errors.Is(err, document.ErrNotInIntake) {
		t.Fatalf("attach after opening: %v", err)
	}
}

// TestIntakeOpenCaseRefusalsWriteNothing: an unknown service, an invalid form, another member's deposit, a deposit
// already in a case file, a confidential queue outside the medical service: refused, nothing written.
func TestIntakeOpenCaseRefusalsWriteNothing(t *testing.T) {
	w := newIntakeWorld(t)
	worker := w.f.caseworker(t, caseQueue)
	ctx := caseCtx(t)
	medical, ok := catalogtest.For(caseMedicalService)
	if !ok {
		t.Fatal("no catalogue sample for " + caseMedicalService)
	}
	before := w.f.countStreams(t, "")
	for _, c := range []struct {
		name   string
		member uuid.UUID
		in     command.SubmitInput
		want   error
	}{
		{"unknown service", w.member, command.SubmitInput{Service: "nope", Form: caseFormOf(t, caseForm)}, catalog.ErrUnknownService},
		{"invalid form", w.member, command.SubmitInput{Service: caseService, Form: map[string]any{"household_size": "x"}}, catalog.ErrFormInvalid},
		{"another member's deposit", uuid.New(), command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)}, document.ErrNotFound},
		{"medical queue", w.member, command.SubmitInput{Service: caseMedicalService, Form: medical.ValidForm()}, command.ErrQueueMedicalOnly},
	} {
		_, err := w.docs.OpenCaseFromDeposit(ctx, intakeStaffMeta(worker), worker, c.member, w.deposit, c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if after := w.f.countStreams(t, ""); after != before {
		t.Fatalf("refusals appended %d events", after-before)
	}
	// A deposit attached to a case already is not opened again.
	existing := w.f.submit(t, w.member)
	if _, err := w.docs.AttachDeposit(ctx, intakeStaffMeta(worker), w.member, w.deposit, existing.RequestID); err != nil {
		t.Fatal(err)
	}
	_, err := w.docs.OpenCaseFromDeposit(ctx, intakeStaffMeta(worker), worker, w.member, w.deposit,
		command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)})
	if !errors.Is(err, document.ErrNotInIntake) {
		t.Fatalf("opening an attached deposit: %v", err)
	}
	if n := len(w.f.history(t, command.IntakeCaseID(w.member, w.deposit))); n != 0 {
		t.Fatalf("%d events on a case that must not exist", n)
	}
}
