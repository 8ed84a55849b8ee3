package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/staff"
)

// authCodes are the error codes the session check answers with; a request that passed it never carries one.
var authCodes = []string{errNoSession.Code, errNotMember.Code, errNotStaff.Code, errRoleForbidden.Code}

// authAnswer returns the session check's error code in rec's body, or "" when the answer is not one.
func authAnswer(status int, body []byte) string {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return ""
	}
	var b ErrorBody
	if json.Unmarshal(body, &b) != nil || !slices.Contains(authCodes, b.Code) {
		return ""
	}
	return b.Code
}

// TestEveryRouteEnforcesTheAuthItDeclares walks the route table and calls every route as nobody, as a member and as
// a staff member of each role: the answer of the session check must be the one the route's metadata (Auth,
// StaffRoles: what the OpenAPI document says) implies. Past the check, the handler may answer anything (most have
// no read model here): only the check's own codes are looked at.
func TestEveryRouteEnforcesTheAuthItDeclares(t *testing.T) {
	s := newAccountsServer(t)
	staffByRole := map[string]uuid.UUID{}
	for _, role := range staff.AllRoles() {
		id, _ := s.account(t, "agent."+role, role)
		staffByRole[role] = id
	}
	call := func(rt route, token string) (int, string) {
		t.Helper()
		path := pathParam.ReplaceAllString(rt.Path, uuid.NewString())
		hdr := map[string]string{"Content-Type": "application/json"}
		if token != "" {
			hdr["Authorization"] = "Bearer " + token
		}
		rec := do(t, s.Handler(), rt.Method, path, "{}", hdr)
		return rec.Code, authAnswer(rec.Code, rec.Body.Bytes())
	}
	expect := func(rt route, who string, status int, code string, want string) {
		t.Helper()
		switch {
		case want == "" && code != "":
			t.Errorf("%s %s (auth %q) as %s: refused by the session check (%d %s)", rt.Method, rt.Path, rt.Auth, who, status, code)
		case want != "" && code != want:
			t.Errorf("%s %s (auth %q) as %s: %d %q, want the session check's %q", rt.Method, rt.Path, rt.Auth, who, status, code, want)
		}
	}
	checked := map[string]int{}
	for _, rt := range s.table {
		checked[rt.Auth]++
		// Nobody: every route but the open ones asks for a session (401).
		status, code := call(rt, "")
		switch rt.Auth {
		case authMember, authStaff, authSession:
			if status != http.StatusUnauthorized {
				t.Errorf("%s %s (auth %q) without a session: %d, want 401", rt.Method, rt.Path, rt.Auth, status)
			}
			expect(rt, "nobody", status, code, errNoSession.Code)
		default:
			expect(rt, "nobody", status, code, "")
		}

		// A member: refused on staff routes (403).
		status, code = call(rt, s.login(t, uuid.New(), kindMember))
		if rt.Auth == authStaff {
			if status != http.StatusForbidden {
				t.Errorf("%s %s (staff) as a member: %d, want 403", rt.Method, rt.Path, status)
			}
			expect(rt, "a member", status, code, errNotStaff.Code)
		} else {
			expect(rt, "a member", status, code, "")
		}

		// A staff member of each role: refused on member routes; on staff routes, refused outside StaffRoles (403)
		// and let through with one of them.
		for role, id := range staffByRole {
			status, code := call(rt, s.login(t, id, kindStaff))
			who := "staff (" + role + ")"
			switch {
			case rt.Auth == authMember:
				expect(rt, who, status, code, errNotMember.Code)
			case rt.Auth == authStaff && !slices.Contains(rt.StaffRoles, role):
				if status != http.StatusForbidden {
					t.Errorf("%s %s (roles %v) as %s: %d, want 403", rt.Method, rt.Path, rt.StaffRoles, who, status)
				}
				expect(rt, who, status, code, errRoleForbidden.Code)
			default:
				expect(rt, who, status, code, "")
			}
		}
	}
	for _, auth := range []string{authNone, authMember, authStaff, authSession, authMemberOptional} {
		if checked[auth] == 0 {
			t.Errorf("no route with auth %q: the walk checked nothing of it", auth)
		}
	}
}

// TestMountRefusesMetadataItCannotEnforce: a route whose auth would be documented but not checked (or checked but
// let nobody in) stops the server from starting.
func TestMountRefusesMetadataItCannotEnforce(t *testing.T) {
	s := newTestServer(t, Deps{})
	h := func(http.ResponseWriter, *http.Request) {}
	for name, rt := range map[string]route{
		"unknown auth":            {Method: "GET", Path: "/x", Auth: "admin", Handler: h},
		"staff without roles":     {Method: "GET", Path: "/x", Auth: authStaff, Handler: h},
		"roles on a member route": {Method: "GET", Path: "/x", Auth: authMember, StaffRoles: adminOnly, Handler: h},
		"roles on an open route":  {Method: "GET", Path: "/x", StaffRoles: adminOnly, Handler: h},
		"no handler":              {Method: "GET", Path: "/x"},
	} {
		if _, err := s.mount(rt); err == nil {
			t.Errorf("%s: mounted", name)
		}
	}
	if _, err := s.mount(route{Method: "GET", Path: "/x", Auth: authStaff, StaffRoles: adminOnly, Handler: h}); err != nil {
		t.Errorf("a staff route with roles: %v", err)
	}
}
