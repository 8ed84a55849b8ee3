package httpapi

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// TestCaseMutationsHonourIfMatch: case mutations (a claim, an information request, and the internal note before and
// after it) refuse a stale If-Match with 409 and record nothing, and go through with the case's current ETag,
// answering the new one.
func TestCaseMutationsHonourIfMatch(t *testing.T) {
	s := newSimulationServer(t) // its event store knows the service requests
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmds := s.deps

	const service, queue = "complementaire-sante-solidaire", "sante-c2s"
	cw := s.staffMember(t)
	admin := command.Meta{Actor: event.Actor{ID: "admin/test", Role: event.RoleAdmin}}
	if _, err := cmds.StaffCommands.AssignStaffQueues(ctx, admin, cw, []string{queue}); err != nil {
		t.Fatal(err)
	}
	token := s.login(t, cw, kindStaff)
	sample, ok := catalogtest.For(service)
	if !ok {
		t.Fatalf("no catalogue sample for %s", service)
	}
	req, err := cmds.CaseCommands.SubmitRequest(ctx, command.Meta{}, uuid.New(), command.SubmitInput{Service: service,
		Form: sample.ValidForm()})
	if err != nil {
		t.Fatal(err)
	}
	base := "/v1/cases/" + req.RequestID.String()
	revision := func() uint64 {
		t.Helper()
		h, err := s.env.Store.Load(ctx, servicerequest.StreamID(req.RequestID))
		if err != nil || len(h) == 0 {
			t.Fatalf("case stream: %d events, %v", len(h), err)
		}
		return h[len(h)-1].Revision
	}
	stale := etagOf(req.Revision - 1) // the case is at req.Revision: one before is stale
	for _, step := range []struct{ path, body string }{
		{"/claim", ""},
		{"/notes", `{"text":"Pièces vérifiées."}`},
		{"/information-requests", `{"items":["RIB"],"deadline":"` + time.Now().Add(10*24*time.Hour).UTC().Format(time.RFC3339) + `"}`},
		{"/notes", `{"text":"Relance prévue."}`},
	} {
		before := revision()
		h := bearer(token)
		h["If-Match"] = stale
		if rec := do(t, s.Handler(), "POST", base+step.path, step.body, h); rec.Code != 409 {
			t.Errorf("POST %s with a stale If-Match: %d %s, want 409", step.path, rec.Code, rec.Body)
		}
		if after := revision(); after != before {
			t.Fatalf("POST %s with a stale If-Match recorded something: revision %d → %d", step.path, before, after)
		}
		h = bearer(token)
		h["If-Match"] = etagOf(before)
		rec := do(t, s.Handler(), "POST", base+step.path, step.body, h)
		if rec.Code != 200 {
			t.Fatalf("POST %s with the current If-Match: %d %s", step.path, rec.Code, rec.Body)
		}
		if got, want := rec.Header().Get("ETag"), etagOf(revision()); got != want || revision() <= before {
			t.Fatalf("POST %s: ETag %s, case at %s (was %d)", step.path, got, want, before)
		}
		stale = etagOf(before)
	}
}
