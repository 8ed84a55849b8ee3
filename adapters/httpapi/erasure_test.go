package httpapi

import (
	"context"
	"encoding/json"
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
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/memberrequests"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// newErasureServer is accountsServer with the member events and the member-requests read model (no request in it).
func newErasureServer(t *testing.T) *accountsServer {
	t.Helper()
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := projections.Setup(ctx, db, memberrequests.New()); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, staff.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.Policy{}, nil)
	srv := newTestServer(t, withCommands(t, Deps{Sessions: store,
		Queries: readmodels.Queries{Requests: memberrequests.NewQueries(db, nil)}},
		env.Store, keys, noPasswords{}, credentials.NewTOTP(nil)))
	return &accountsServer{&simulationServer{Server: srv, env: env, sessions: store}}
}

// TestEraseMemberRoute: administrators only (also one who is a caseworker too); a hold refuses the erasure until
// it is lifted; the erasure ends the member's sessions.
func TestEraseMemberRoute(t *testing.T) {
	s := newErasureServer(t)
	_, adminToken := s.account(t, "a.martin", staff.RoleAdmin, staff.RoleCaseworker)
	_, cwToken := s.account(t, "c.dupont", staff.RoleCaseworker)
	memberID, regID := uuid.New(), uuid.New()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
	if _, err := s.env.Store.Update(context.Background(), event.NewStreamID(member.Category, memberID), cmd,
		func([]event.Envelope) ([]any, error) {
			return []any{member.Registered{RegistrationID: regID, NIR: "1850375115042", Key: 16, LastName: "Dupont",
				FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr"}}, nil
		}); err != nil {
		t.Fatal(err)
	}
	memberToken := s.login(t, memberID, kindMember)
	base := "/v1/staff/members/" + memberID.String()
	erase := `{"reason":"member_request","ticket":"DPO-7"}`

	for _, c := range []struct {
		name, method, path, body, token string
		status                          int
		code                            string
	}{
		{"a caseworker", "POST", base + "/erasure", erase, cwToken, 403, ""},
		{"place a hold", "POST", base + "/legal-holds", `{"ticket":"LIT-1","reason":"litigation"}`, adminToken, 200, ""},
		{"erasure under the hold", "POST", base + "/erasure", erase, adminToken, 422, "member.legal_hold"},
		{"unknown reason", "POST", base + "/erasure", `{"reason":"whim","ticket":"DPO-7"}`, adminToken, 422, "erasure.reason_invalid"},
		{"lift another hold", "DELETE", base + "/legal-holds/LIT-2", "", adminToken, 404, "legal_hold.not_found"},
		{"lift the hold", "DELETE", base + "/legal-holds/LIT-1", "", adminToken, 200, ""},
		{"unknown member", "POST", "/v1/staff/members/" + uuid.NewString() + "/erasure", erase, adminToken, 404, "member.not_found"},
	} {
		rec := do(t, s.Handler(), c.method, c.path, c.body, bearer(c.token))
		if rec.Code != c.status || (c.code != "" && errorCode(t, rec) != c.code) {
			t.Fatalf("%s: %d %s, want %d %s", c.name, rec.Code, rec.Body, c.status, c.code)
		}
	}
	rec := do(t, s.Handler(), "POST", base+"/erasure", erase, bearer(adminToken))
	if rec.Code != 200 {
		t.Fatalf("erasure: %d %s", rec.Code, rec.Body)
	}
	var body erasureBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Subjects) != 2 || body.Subjects[0] != memberID.String() || body.Subjects[1] != regID.String() {
		t.Fatalf("subjects %v", body.Subjects)
	}
	if rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(memberToken)); rec.Code != 401 {
		t.Errorf("the erased member's session: %d, want 401", rec.Code)
	}
}
