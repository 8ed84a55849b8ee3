package httpapi

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/casefiles"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// logFailingStore is the real event store, except that, once failing is set, every append to a stream of category
// (a member's access log, a staff member's search log) fails as an unreachable store would.
type logFailingStore struct {
	command.EventStore
	category string
	failing  atomic.Bool
	// staffLoads counts the reads of staff streams (the session check's, and any a command makes again).
	staffLoads atomic.Int32
}

func (s *logFailingStore) Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error) {
	if stream.Category == staff.Category {
		s.staffLoads.Add(1)
	}
	return s.EventStore.Load(ctx, stream)
}

func (s *logFailingStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command,
	decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	if s.failing.Load() && stream.Category == s.category {
		return event.Commit{}, errors.New(s.category + " log unavailable")
	}
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

// TestStaffReadsFailClosedRegress: a staff member's opening of a member's account or of a case file is recorded
// in the member's access log before anything is answered. When that record cannot be written, the answer is an
// error that carries none of the member's data (no record, no data).
func TestStaffReadsFailClosedRegress(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	models := []projections.Projection{accounts.New(), casequeues.New(), casefiles.New()}
	if err := projections.Setup(ctx, db, models...); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, staff.Definitions(), member.Definitions(), servicerequest.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	store := &logFailingStore{EventStore: env.Store, category: staff.AccessCategory}
	sess := sessions.New(db, sessions.Policy{}, nil)
	srv := newTestServer(t, withCommands(t, Deps{Sessions: sess, Queries: readmodels.Queries{
		Accounts: accounts.NewQueries(db, nil), Queues: casequeues.NewQueries(db, nil), CaseFiles: casefiles.NewQueries(db)}},
		store, keys, noPasswords{}, credentials.NewTOTP(nil)))
	s := &accountsServer{&simulationServer{Server: srv, env: env, sessions: sess}}
	runner := projectionstest.StartRunner(t, db, env.Source, models...)

	// A member with an account, and a request of hers in a queue a supervisor reads.
	memberID := uuid.New()
	const nir, lastName, email = "1850375115042", "Dupontel", "jeanne.dupontel@example.fr"
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
	if _, err := env.Store.Update(ctx, event.NewStreamID(member.Category, memberID), cmd, func([]event.Envelope) ([]any, error) {
		return []any{member.Registered{RegistrationID: uuid.New(), NIR: nir, Key: 16, LastName: lastName, FirstName: "Jeanne",
			BirthDate: "1985-03-12", Email: email}, member.PasswordSet{Hash: "h", PolicyVersion: "1", Reason: "activation"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sub, err := s.deps.CaseCommands.SubmitRequest(ctx, command.Meta{CommandID: uuid.New(), CorrelationID: uuid.New()}, memberID,
		command.SubmitInput{Service: "complementaire-sante-solidaire", Form: map[string]any{"household_situation": "couple",
			"household_size": 3, "resources_12_months": 1420000, "housing": "tenant", "managing_body": "msa", "sworn_statement": true}})
	if err != nil {
		t.Fatal(err)
	}
	runner.Wait(t, sub.Position)
	_, token := s.account(t, "s.roux", staff.RoleSupervisor)

	reads := []struct{ name, path string }{
		{"the member's account", "/v1/staff/members/" + memberID.String()},
		{"the case file", "/v1/cases/" + sub.RequestID.String()},
	}
	// Recorded: served, with the member's data.
	for _, rd := range reads {
		rec := do(t, s.Handler(), "GET", rd.path, "", bearer(token))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), memberID.String()) {
			t.Fatalf("%s while the access log works: %d %s", rd.name, rec.Code, rec.Body)
		}
	}
	// One request reads the staff stream once: the session check's read serves the queue check.
	store.staffLoads.Store(0)
	if rec := do(t, s.Handler(), "GET", reads[1].path, "", bearer(token)); rec.Code != 200 || store.staffLoads.Load() != 1 {
		t.Fatalf("the case file: %d, %d reads of the staff stream, want 200 and 1", rec.Code, store.staffLoads.Load())
	}
	opened, err := env.Store.Load(ctx, staff.AccessStreamFor(memberID))
	if err != nil || len(opened) != 3 {
		t.Fatalf("access log after three openings: %d events, %v", len(opened), err)
	}

	// Not recorded: not served.
	store.failing.Store(true)
	for _, rd := range reads {
		rec := do(t, s.Handler(), "GET", rd.path, "", bearer(token))
		if rec.Code < 500 || errorCode(t, rec) == "" {
			t.Errorf("%s while the access log fails: %d, want a server error", rd.name, rec.Code)
		}
		for _, secret := range []string{memberID.String(), nir, lastName, email, "1420000", "household"} {
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("%s while the access log fails: the answer holds %q: %s", rd.name, secret, rec.Body)
			}
		}
		if rec.Header().Get("ETag") != "" {
			t.Errorf("%s while the access log fails: an ETag %q", rd.name, rec.Header().Get("ETag"))
		}
	}
	if opened, err := env.Store.Load(ctx, staff.AccessStreamFor(memberID)); err != nil || len(opened) != 3 {
		t.Fatalf("access log after the failed openings (three recorded before): %d events, %v", len(opened), err)
	}
}
