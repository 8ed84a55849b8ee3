package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestCaseMutationsAnswerWithTheNewETag: every case mutation of the route table documents the case's new revision
// in its answer (the ETag header carries it too), and an ETag the server gives parses back as If-Match.
func TestCaseMutationsAnswerWithTheNewETag(t *testing.T) {
	s := newTestServer(t, Deps{})
	mutations := 0
	for _, rt := range s.table {
		if rt.Method != "POST" || !(strings.HasPrefix(rt.Path, "/v1/cases/") || strings.HasSuffix(rt.Path, "/claim-next")) {
			continue
		}
		mutations++
		switch rt.Response.(type) {
		case caseChangeBody, claimNextBody:
		default:
			t.Errorf("%s %s answers %T, without the case's revision", rt.Method, rt.Path, rt.Response)
		}
		if !strings.Contains(rt.Responses[200], "ETag") {
			t.Errorf("%s %s: the 200 answer does not mention the ETag: %q", rt.Method, rt.Path, rt.Responses[200])
		}
	}
	if mutations != 7 { // claim, release, assignment, information-requests, decision, notes, claim-next
		t.Errorf("%d case mutations in the table, want 7", mutations)
	}
	for _, header := range []string{etagOf(12), "W/" + etagOf(12)} {
		r := httptest.NewRequest("POST", "/v1/cases/x/claim", nil)
		r.Header.Set("If-Match", header)
		if rev, err := ifMatch(r); err != nil || rev == nil || *rev != 12 {
			t.Errorf("If-Match %s = %v, %v", header, rev, err)
		}
	}
}

// TestMyCasesRoute: GET /v1/cases is served (a staff session is required) beside GET /v1/cases/{id}.
func TestMyCasesRoute(t *testing.T) {
	s := newTestServer(t, Deps{})
	for _, path := range []string{"/v1/cases", "/v1/cases/6f1d2b7e-0c4e-4b8e-9a55-3f4b1c2d9e01"} {
		rec := do(t, s.Handler(), "GET", path, "", nil)
		if rec.Code != 401 || errorCode(t, rec) != "session.required" {
			t.Errorf("GET %s without a session: %d %s", path, rec.Code, rec.Body)
		}
	}
	var found bool
	for _, rt := range s.table {
		if rt.Method == "GET" && rt.Path == "/v1/cases" {
			found = rt.Auth == "staff" && rt.Consistent && rt.Summary != "" && len(rt.StaffRoles) > 0
		}
	}
	if !found {
		t.Error("GET /v1/cases is not a consistent, documented staff route")
	}
}

// TestCaseFileBodiesAreDocumented: the OpenAPI schemas of GET /v1/cases/{id} and GET /v1/requests/{id} list the
// fields of the embedded case or request (encoding/json promotes them) beside the case file's, staff views name the
// assignee and the actors, and the member's views have no staff actor, id or name.
func TestCaseFileBodiesAreDocumented(t *testing.T) {
	s := newTestServer(t, Deps{})
	rec := do(t, s.Handler(), "GET", "/openapi.json", "", nil)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for schema, want := range map[string][]string{
		"CaseBody":    {"request_id", "queue", "status", "assignee_id", "assignee_name", "revision", "member_id", "form", "timeline"},
		"StaffCase":   {"request_id", "queue", "status", "assignee_id", "assignee_name", "revision"},
		"RequestBody": {"id", "reference", "status", "form", "timeline"},
		"StaffStep":   {"revision", "at", "kind", "actor", "staff_only", "details"},
		"Form":        {"service_code", "catalog_version", "fields"},
		"FormField":   {"name", "label", "value"},
	} {
		got := doc.Components.Schemas[schema]
		for _, name := range want {
			if _, ok := got.Properties[name]; !ok {
				t.Errorf("schema %s has no %q: %v", schema, name, got.Properties)
			}
			if !slices.Contains(got.Required, name) {
				t.Errorf("schema %s does not require %q: %v", schema, name, got.Required)
			}
		}
	}
	if _, ok := doc.Components.Schemas["StaffStep"].Properties["actor_name"]; !ok {
		t.Errorf("StaffStep has no actor_name: %v", doc.Components.Schemas["StaffStep"].Properties)
	}
	// The member's views carry no staff id or name.
	for _, schema := range []string{"MemberStep", "RequestBody"} {
		props := doc.Components.Schemas[schema].Properties
		if len(props) == 0 {
			t.Errorf("%s has no properties", schema)
		}
		for _, staffField := range []string{"actor", "actor_name", "assignee_id", "assignee_name"} {
			if _, ok := props[staffField]; ok {
				t.Errorf("%s has %q: %v", schema, staffField, props)
			}
		}
	}
	if v := string(doc.Components.Schemas["FormField"].Properties["value"]); v != "{}" {
		t.Errorf("FormField.value schema %s, want any JSON value", v)
	}
}
