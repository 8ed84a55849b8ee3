package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/memberdirectory"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// TestDirectorySearchRecordedRegress: a search of the member directory is recorded before anything is answered
// (who, the kind of query, how many members it returned; never the query or a NIR), its results carry no NIR and
// no email, and when the record cannot be written the answer is an error without any member in it.
func TestDirectorySearchRecordedRegress(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	nirHash := func(body string) string { return "h" + body }
	models := []projections.Projection{accounts.New(), memberdirectory.New(nirHash)}
	if err := projections.Setup(ctx, db, models...); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, staff.Definitions(), member.Definitions(), servicerequest.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	store := &logFailingStore{EventStore: env.Store, category: staff.SearchCategory}
	sess := sessions.New(db, sessions.Policy{}, nil)
	srv := newTestServer(t, withCommands(t, Deps{Sessions: sess, Queries: readmodels.Queries{
		Accounts: accounts.NewQueries(db, nil), Directory: memberdirectory.NewQueries(db, nirHash, nil)}},
		store, keys, noPasswords{}, credentials.NewTOTP(nil)))
	s := &accountsServer{&simulationServer{Server: srv, env: env, sessions: sess}}
	runner := projectionstest.StartRunner(t, db, env.Source, models...)

	// Two homonyms: a caseworker tells them apart by their birth dates.
	const nir, email = "1850375115042", "jeanne.dupontel@example.fr"
	members := map[uuid.UUID]member.Registered{
		uuid.New(): {NIR: nir, Key: 16, LastName: "Dupontel", FirstName: "Jeanne", BirthDate: "1985-03-12", Email: email},
		uuid.New(): {NIR: "2900675115049", Key: 43, LastName: "Dupontel", FirstName: "Jeanne", BirthDate: "1990-06-02",
			Email: "j.dupontel@example.fr"},
	}
	var last uint64
	for id, reg := range members {
		reg.RegistrationID = uuid.New()
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: id.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
		c, err := env.Store.Update(ctx, event.NewStreamID(member.Category, id), cmd, func([]event.Envelope) ([]any, error) {
			return []any{reg, member.PasswordSet{Hash: "h", PolicyVersion: "1", Reason: "activation"}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, c.Position)
	}
	runner.Wait(t, last)
	staffID, token := s.account(t, "c.martin", staff.RoleCaseworker)

	// Recorded: served, without NIR or email.
	rec := do(t, s.Handler(), "GET", "/v1/staff/members?q=dupontel", "", bearer(token))
	if rec.Code != 200 {
		t.Fatalf("search by name: %d %s", rec.Code, rec.Body)
	}
	var body struct {
		Members []map[string]any `json:"members"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Members) != 2 {
		t.Fatalf("search by name: %v %s", err, rec.Body)
	}
	for _, m := range body.Members {
		for _, k := range []string{"member_id", "last_name", "first_name", "birth_date", "status"} {
			if _, ok := m[k]; !ok {
				t.Errorf("a search result lacks %s: %v", k, m)
			}
		}
		for _, k := range []string{"nir", "nir_key", "email", "search_name"} {
			if _, ok := m[k]; ok {
				t.Errorf("a search result holds %s: %v", k, m)
			}
		}
	}
	for _, secret := range []string{nir, email, "2900675115049", "@example.fr"} {
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("the search results hold %q: %s", secret, rec.Body)
		}
	}
	if rec := do(t, s.Handler(), "GET", "/v1/staff/members?q="+nir+"16", "", bearer(token)); rec.Code != 200 ||
		strings.Contains(rec.Body.String(), nir) {
		t.Fatalf("search by NIR: %d %s", rec.Code, rec.Body)
	}

	// One event per search, on the caseworker's stream of searches: kind and count, never the query.
	var searches []map[string]any
	for _, re := range env.AllRecords(t) {
		if re.EventType != staff.TypeMemberDirectorySearched {
			continue
		}
		if re.StreamID != staff.SearchStreamFor(staffID).String() {
			t.Errorf("a search recorded on %s", re.StreamID)
		}
		for _, secret := range []string{nir, "2900675115049", "dupontel", "Dupontel", email} {
			if strings.Contains(string(re.Data), secret) || strings.Contains(string(re.UserMetadata), secret) {
				t.Errorf("the recorded search holds %q: %s %s", secret, re.Data, re.UserMetadata)
			}
		}
		if !strings.Contains(string(re.UserMetadata), staffID.String()) {
			t.Errorf("the recorded search does not name its actor: %s", re.UserMetadata)
		}
		var v map[string]any
		if err := json.Unmarshal(re.Data, &v); err != nil {
			t.Fatal(err)
		}
		searches = append(searches, v)
	}
	if len(searches) != 2 {
		t.Fatalf("%d searches recorded, want 2: %v", len(searches), searches)
	}
	for i, want := range []struct {
		kind    string
		results float64
	}{{"name", 2}, {"nir", 1}} {
		got := searches[i]
		if got["kind"] != want.kind || got["results"] != want.results || got["staff_id"] != staffID.String() ||
			got["role"] != staff.RoleCaseworker || len(got["member_ids"].([]any)) != int(want.results) {
			t.Errorf("search %d recorded as %v, want kind %s and %v results", i, got, want.kind, want.results)
		}
	}

	// Not recorded: not served.
	store.failing.Store(true)
	rec = do(t, s.Handler(), "GET", "/v1/staff/members?q=dupontel", "", bearer(token))
	if rec.Code < 500 || errorCode(t, rec) == "" {
		t.Errorf("search while the search log fails: %d, want a server error", rec.Code)
	}
	for id := range members {
		for _, secret := range []string{id.String(), "Jeanne", "1985-03-12", "1990-06-02"} {
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("search while the search log fails: the answer holds %q: %s", secret, rec.Body)
			}
		}
	}
}
