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
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/memberaccesses"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// accountsServer is a server with real sessions and the access-log read model (SQLite), and real commands over an
// in-memory event store; staff accounts are written directly, as simulationServer does.
type accountsServer struct {
	*simulationServer
}

func newAccountsServer(t *testing.T) *accountsServer {
	t.Helper()
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := projections.Setup(ctx, db, memberaccesses.New()); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, staff.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.Policy{}, nil)
	srv := newTestServer(t, withCommands(t, Deps{Sessions: store, Queries: readmodels.Queries{Accesses: memberaccesses.NewQueries(db)}},
		env.Store, keys, noPasswords{}, credentials.NewTOTP(nil)))
	return &accountsServer{&simulationServer{Server: srv, env: env, sessions: store}}
}

// account opens a staff account with roles (written directly) and logs it in; it returns the id and a token.
func (s *accountsServer) account(t *testing.T, login string, roles ...string) (uuid.UUID, string) {
	t.Helper()
	id := uuid.New()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: "admin/create-staff", Role: event.RoleSystem}, OccurredAt: time.Now().UTC()}}
	if _, err := s.env.Store.Update(context.Background(), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
		return []any{staff.Created{Login: login, Name: "Agent", Roles: roles}, staff.TOTPEnrolled{Sequence: 1}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return id, s.login(t, id, kindStaff)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

// TestStaffTOTPResetRoute: administrators only; the answer carries the new secret once (no-store) and the staff
// member's sessions end at once, by the event and in the session table.
func TestStaffTOTPResetRoute(t *testing.T) {
	s := newAccountsServer(t)
	_, adminToken := s.account(t, "a.martin", staff.RoleAdmin)
	cw, cwToken := s.account(t, "c.dupont", staff.RoleCaseworker)
	path := "/v1/staff/accounts/" + cw.String() + "/totp-reset"

	for _, tt := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"a caseworker", path, cwToken, 403, "staff.role_forbidden"},
		{"no session", path, "", 401, "session.required"},
		{"unknown staff member", "/v1/staff/accounts/" + uuid.NewString() + "/totp-reset", adminToken, 404, "staff.not_found"},
		{"not an id", "/v1/staff/accounts/x/totp-reset", adminToken, 400, "request.invalid_id"},
	} {
		rec := do(t, s.Handler(), "POST", tt.path, "", bearer(tt.token))
		if rec.Code != tt.status || errorCode(t, rec) != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, rec.Code, rec.Body, tt.status, tt.code)
		}
	}
	if rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(cwToken)); rec.Code != 200 {
		t.Fatalf("caseworker session before the reset: %d %s", rec.Code, rec.Body)
	}

	key := uuid.NewString()
	var first totpResetBody
	for i := range 2 {
		h := bearer(adminToken)
		h[IdempotencyKeyHeader] = key
		rec := do(t, s.Handler(), "POST", path, "", h)
		var body totpResetBody
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.TOTPSecret == "" || body.StaffID != cw ||
			body.Login != "c.dupont" || rec.Header().Get("Cache-Control") != "no-store" || body.Position == "" {
			t.Fatalf("reset %d: %d %v %s", i, rec.Code, rec.Header(), rec.Body)
		}
		if i == 0 {
			first = body
		} else if body.TOTPSecret != first.TOTPSecret {
			t.Errorf("a retry with the same key gave another secret")
		}
	}
	rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(cwToken))
	if rec.Code != 401 {
		t.Fatalf("caseworker session after the reset: %d %s", rec.Code, rec.Body)
	}
	// The session table agrees (revoked), so the answer is the table's own.
	if code := errorCode(t, rec); code != "session.invalid" {
		t.Errorf("caseworker session after the reset: %s", code)
	}
	// The admin's own session is untouched.
	if rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(adminToken)); rec.Code != 200 {
		t.Errorf("admin session after resetting someone else: %d", rec.Code)
	}
}

// A session the table still holds but the staff stream shows ended (a reset whose table update was lost) is refused.
func TestStaffSessionEndedByTheStreamAlone(t *testing.T) {
	s := newAccountsServer(t)
	admin, _ := s.account(t, "a.martin", staff.RoleAdmin)
	cw, cwToken := s.account(t, "c.dupont", staff.RoleCaseworker)
	if _, err := s.deps.StaffCommands.ResetStaffTOTP(context.Background(), command.Meta{Actor: event.Actor{ID: admin.String(), Role: event.RoleAdmin}}, cw); err != nil {
		t.Fatal(err)
	}
	rec := do(t, s.Handler(), "GET", "/v1/session", "", bearer(cwToken))
	if rec.Code != 401 || errorCode(t, rec) != "staff.session_ended" {
		t.Errorf("session after a reset recorded only in the stream: %d %s", rec.Code, rec.Body)
	}
}

// The last administrator cannot demote themselves: 422 staff.last_admin, nothing written.
func TestLastAdminRoute(t *testing.T) {
	s := newAccountsServer(t)
	admin, adminToken := s.account(t, "a.martin", staff.RoleAdmin, staff.RoleCaseworker)
	rec := do(t, s.Handler(), "PUT", "/v1/staff/accounts/"+admin.String()+"/roles", `{"roles":["caseworker"]}`, bearer(adminToken))
	if rec.Code != 422 || errorCode(t, rec) != "staff.last_admin" || rec.Header().Get(PositionHeader) != "" {
		t.Fatalf("last admin steps down: %d %s", rec.Code, rec.Body)
	}
	if roles, err := s.deps.StaffCommands.StaffRoles(context.Background(), admin); err != nil || len(roles) != 2 {
		t.Errorf("roles after the refusal: %v, %v", roles, err)
	}
	other, _ := s.account(t, "b.durand", staff.RoleAdmin)
	// b is counted once b takes part, or logs in: here a names b admin again (a confirmation), then steps down.
	if rec := do(t, s.Handler(), "PUT", "/v1/staff/accounts/"+other.String()+"/roles", `{"roles":["admin"]}`, bearer(adminToken)); rec.Code != 200 {
		t.Fatalf("confirm b: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s.Handler(), "PUT", "/v1/staff/accounts/"+admin.String()+"/roles", `{"roles":["caseworker"]}`, bearer(adminToken)); rec.Code != 200 {
		t.Fatalf("a steps down while b remains: %d %s", rec.Code, rec.Body)
	}
}

// GET /v1/me/accesses: members only, their own; bad paging is a 422 naming the parameter.
func TestMyAccessesRoute(t *testing.T) {
	s := newAccountsServer(t)
	member := uuid.New()
	memberToken := s.login(t, member, kindMember)
	_, staffToken := s.account(t, "c.dupont", staff.RoleCaseworker)

	rec := do(t, s.Handler(), "GET", "/v1/me/accesses", "", bearer(memberToken))
	if rec.Code != 200 || rec.Body.String() != "{\"accesses\":[],\"next\":null}\n" {
		t.Errorf("an empty log: %d %q", rec.Code, rec.Body)
	}
	for _, tt := range []struct {
		name, query, token string
		status             int
		code, field        string
	}{
		{"staff session", "", staffToken, 403, "session.member_required", ""},
		{"no session", "", "", 401, "session.required", ""},
		{"limit too large", "?limit=201", memberToken, 422, "memberaccesses.invalid_page", "limit"},
		{"limit zero", "?limit=0", memberToken, 422, "memberaccesses.invalid_page", "limit"},
		{"garbage cursor", "?cursor=%25%25", memberToken, 422, "memberaccesses.invalid_page", "cursor"},
		{"cursor of another list", "?cursor=eA", memberToken, 422, "memberaccesses.invalid_page", "cursor"},
		{"limit not a number", "?limit=ten", memberToken, 422, "memberaccesses.invalid_page", "limit"},
		{"cursor not a number", "?before=-3", memberToken, 422, "memberaccesses.invalid_page", "before"},
	} {
		rec := do(t, s.Handler(), "GET", "/v1/me/accesses"+tt.query, "", bearer(tt.token))
		var body ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tt.status || errorCode(t, rec) != tt.code || body.Field != tt.field {
			t.Errorf("%s: %d %s, want %d %s %q", tt.name, rec.Code, rec.Body, tt.status, tt.code, tt.field)
		}
	}
	if body := do(t, s.Handler(), "GET", "/v1/me/accesses?limit=ten", "", bearer(memberToken)).Body.String(); !json.Valid([]byte(body)) ||
		!strings.Contains(body, "200 consultations") {
		t.Errorf("the French sentence of an invalid page: %s", body)
	}
}
