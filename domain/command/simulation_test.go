package command_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// Every top-level name here starts with "estimate": other command tests share the package.

type estimateFixture struct {
	h   handlers
	env *kurrentdbtest.Env
	now time.Time
}

func newEstimateFixture(t *testing.T) *estimateFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, simulation.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.November, 20, 9, 30, 0, 0, time.UTC)
	h, err := newHandlers(testDeps{Store: env.Store, Keys: keys, Hasher: caseHasher{}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &estimateFixture{h: h, env: env, now: now}
}

func (f *estimateFixture) history(t *testing.T, memberID uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(caseCtx(t), event.NewStreamID(simulation.SavedCategory, memberID))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var (
	estimateChef       = simulation.Input{IncomeCents: 3_000_000, Status: simulation.ChefExploitation}
	estimateSolidarite = simulation.Input{IncomeCents: 800_000, Status: simulation.CotisantSolidarite}
)

func TestSaveEstimate(t *testing.T) {
	f := newEstimateFixture(t)
	alice, bob := uuid.New(), uuid.New()
	want, err := simulation.Estimate(estimateChef)
	if err != nil {
		t.Fatal(err)
	}

	key := caseMeta()
	saved, err := f.h.SaveEstimate(caseCtx(t), key, alice, estimateChef)
	if err != nil || saved.EstimateID == uuid.Nil || saved.Position == 0 || !saved.SavedAt.Equal(f.now) {
		t.Fatalf("save: %+v, %v", saved, err)
	}
	if !reflect.DeepEqual(saved.Estimate, want) {
		t.Errorf("saved estimate %+v\nwant the pure function's %+v", saved.Estimate, want)
	}
	h := f.history(t, alice)
	if len(h) != 1 {
		t.Fatalf("history %+v", h)
	}
	if !reflect.DeepEqual(h[0].Event, simulation.Saved(saved.EstimateID, want)) || h[0].Type != simulation.TypeEstimateSaved {
		t.Errorf("stored %+v", h[0].Event)
	}
	if a := h[0].Metadata.Actor; a.ID != alice.String() || a.Role != event.RoleMember {
		t.Errorf("actor %+v", a)
	}

	// the same Idempotency-Key: the same estimate and position, nothing appended; also with another input, which
	// answers with the estimate the key saved
	for _, in := range []simulation.Input{estimateChef, estimateSolidarite} {
		again, err := f.h.SaveEstimate(caseCtx(t), key, alice, in)
		if err != nil || again.EstimateID != saved.EstimateID || again.Position != saved.Position ||
			!reflect.DeepEqual(again.Estimate, saved.Estimate) || !again.SavedAt.Equal(saved.SavedAt) {
			t.Errorf("retry with %+v: %+v, %v; first %+v", in, again, err, saved)
		}
	}
	if n := len(f.history(t, alice)); n != 1 {
		t.Fatalf("%d events after retries, want 1", n)
	}

	// another key: another estimate, on the same stream
	second, err := f.h.SaveEstimate(caseCtx(t), caseMeta(), alice, estimateSolidarite)
	if err != nil || second.EstimateID == saved.EstimateID || second.Position <= saved.Position ||
		second.Estimate.Status != simulation.CotisantSolidarite {
		t.Fatalf("second save: %+v, %v", second, err)
	}
	// another member with the same key: their own estimate, on their own stream
	bobs, err := f.h.SaveEstimate(caseCtx(t), key, bob, estimateChef)
	if err != nil || bobs.EstimateID == saved.EstimateID {
		t.Fatalf("bob's save with alice's key: %+v, %v", bobs, err)
	}
	if a, b := len(f.history(t, alice)), len(f.history(t, bob)); a != 2 || b != 1 {
		t.Errorf("alice has %d estimates, bob %d; want 2 and 1", a, b)
	}
}

func TestSaveEstimateRefusesInvalidInputAndWritesNothing(t *testing.T) {
	f := newEstimateFixture(t)
	alice := uuid.New()
	_, err := f.h.SaveEstimate(caseCtx(t), caseMeta(), alice, simulation.Input{IncomeCents: -1, Status: "astronaute"})
	var fe catalog.FieldErrors
	if !errors.As(err, &fe) || failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != catalog.ErrFormInvalid.Code ||
		!errors.Is(err, simulation.ErrIncomeNegative) || !errors.Is(err, simulation.ErrStatusUnknown) {
		t.Fatalf("invalid input: %v", err)
	}
	if fields := fe.Problems(); len(fields) != 2 || fields[0].Field != "income_cents" || fields[1].Field != "status" {
		t.Errorf("fields %+v", fields)
	}
	if _, err := f.h.SaveEstimate(caseCtx(t), caseMeta(), alice, simulation.Input{IncomeCents: 1}); !errors.Is(err, simulation.ErrStatusRequired) {
		t.Errorf("no status: %v", err)
	}
	if _, err := f.h.SaveEstimate(caseCtx(t), caseMeta(), uuid.Nil, estimateChef); !errors.Is(err, member.ErrNotFound) {
		t.Errorf("no member: %v", err)
	}
	if h := f.history(t, alice); len(h) != 0 {
		t.Errorf("refused saves wrote %+v", h)
	}
}

// Two deliveries of the same save at once (a double click with one Idempotency-Key): one event, one answer.
func TestSaveEstimateConcurrently(t *testing.T) {
	f := newEstimateFixture(t)
	alice := uuid.New()
	key := caseMeta()
	var wg sync.WaitGroup
	results := make(chan command.SavedEstimate, 4)
	errs := make(chan error, 4)
	for i := range 4 {
		in := estimateChef
		in.IncomeCents += int64(i) // a racing twin with other data still gets the estimate stored first
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.h.SaveEstimate(caseCtx(t), key, alice, in)
			results <- res
			errs <- err
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	h := f.history(t, alice)
	if len(h) != 1 {
		t.Fatalf("%d events, want 1", len(h))
	}
	stored := h[0].Event.(simulation.EstimateSaved)
	for res := range results {
		if res.EstimateID != stored.EstimateID || res.Estimate.IncomeCents != stored.IncomeCents || res.Position != h[0].Position {
			t.Errorf("answer %+v, stored %+v at %d", res, stored, h[0].Position)
		}
	}
}
