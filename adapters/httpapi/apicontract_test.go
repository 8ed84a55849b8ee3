package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The API contract's conventions (docs/architecture.md, "The API contract"), checked on /openapi.json as a client
// reads it.

// openAPIDoc returns /openapi.json as JSON values.
func openAPIDoc(t *testing.T, s *Server) map[string]any {
	t.Helper()
	rec := do(t, s.Handler(), "GET", "/openapi.json", "", nil)
	var doc map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		t.Fatalf("/openapi.json: %d", rec.Code)
	}
	return doc
}

// resolve follows a $ref to its schema.
func resolve(doc, schema map[string]any) map[string]any {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		return doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
	return schema
}

// TestOpenAPIContract walks the document: no "default" response (each error status a route returns is listed); every
// list (a GET whose body holds an array of objects) declares limit and cursor and answers "next", or says why it is
// not paged (x-unpaged); every instant is a date-time named *_at, every date a date named *_on, and the reverse;
// every position is a string of digits.
func TestOpenAPIContract(t *testing.T) {
	s := newTestServer(t, Deps{})
	doc := openAPIDoc(t, s)
	// Instants are *_at; also, by the convention's other names for them, at (a timeline step), *_until, *_since and
	// deadline. Dates are *_on, and birth_date.
	instantName := func(n string) bool {
		return strings.HasSuffix(n, "_at") || n == "at" || strings.HasSuffix(n, "_until") ||
			strings.HasSuffix(n, "_since") || n == "deadline"
	}
	exceptions := map[string]string{"birth_date": "date"}
	seen := map[string]bool{}
	var walk func(where string, schema map[string]any)
	walk = func(where string, schema map[string]any) {
		schema = resolve(doc, schema)
		if ref, ok := schema["$ref"]; ok {
			if seen[ref.(string)] {
				return
			}
			seen[ref.(string)] = true
		}
		props, _ := schema["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			p := props[name].(map[string]any)
			format, _ := p["format"].(string)
			typ, _ := p["type"].(string)
			switch want, isException := exceptions[name]; {
			case isException:
				if format != want {
					t.Errorf("%s.%s: format %q, want %q", where, name, format, want)
				}
			case format == "date-time" && !instantName(name):
				t.Errorf("%s.%s: an instant not named *_at", where, name)
			case instantName(name) && format != "date-time":
				t.Errorf("%s.%s: named as an instant but not a date-time (%v)", where, name, p)
			case format == "date" && !strings.HasSuffix(name, "_on"):
				t.Errorf("%s.%s: a date not named *_on", where, name)
			case strings.HasSuffix(name, "_on") && format != "date":
				t.Errorf("%s.%s: named *_on but not a date (%v)", where, name, p)
			case name == "position" && typ != "string":
				t.Errorf("%s.position: %v, want a string of digits", where, p)
			case name == "age":
				t.Errorf("%s.age: durations are *_seconds integers", where)
			}
			if items, ok := p["items"].(map[string]any); ok {
				walk(where+"."+name+"[]", items)
			} else if _, ok := p["$ref"]; ok {
				walk(where+"."+name, p)
			} else if _, ok := p["properties"]; ok {
				walk(where+"."+name, p) // an inline object (a multipart body's part)
			}
		}
	}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			responses := op["responses"].(map[string]any)
			if _, ok := responses["default"]; ok {
				t.Errorf("%s: a default response instead of its statuses", where)
			}
			for status, r := range responses {
				content, _ := r.(map[string]any)["content"].(map[string]any)
				if status[0] >= '4' && content == nil {
					t.Errorf("%s %s: an error without the ErrorBody", where, status)
				}
				if content != nil {
					walk(where+" "+status, content["application/json"].(map[string]any)["schema"].(map[string]any))
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				// A JSON body, or a multipart/form-data one (a deposit): each media type's schema, its parts included.
				content := rb["content"].(map[string]any)
				if len(content) == 0 {
					t.Errorf("%s: a request body without content", where)
				}
				for media, c := range content {
					schema, _ := c.(map[string]any)["schema"].(map[string]any)
					switch {
					case schema == nil:
						t.Errorf("%s request %s: no schema", where, media)
					case media != "application/json" && media != "multipart/form-data":
						t.Errorf("%s request: media type %s, want application/json or multipart/form-data", where, media)
					default:
						walk(where+" request "+media, schema)
					}
				}
			}
			if method != "get" {
				continue
			}
			ok, _ := responses["200"].(map[string]any)
			if ok == nil || ok["content"] == nil {
				continue
			}
			body := resolve(doc, ok["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any))
			isList := false
			for _, p := range body["properties"].(map[string]any) {
				if items, ok := p.(map[string]any)["items"].(map[string]any); ok && items["$ref"] != nil {
					isList = true
				}
			}
			params := map[string]bool{}
			for _, p := range asList(op["parameters"]) {
				if p["in"] == "query" {
					params[p["name"].(string)] = true
				}
			}
			_, unpaged := op["x-unpaged"]
			paged := params["limit"] && params["cursor"]
			switch {
			case isList && !paged && !unpaged:
				t.Errorf("%s: a list without limit and cursor, nor x-unpaged", where)
			case paged && body["properties"].(map[string]any)["next"] == nil:
				t.Errorf("%s: paged but no next in the body", where)
			case paged && (responses["422"] == nil || !strings.Contains(responses["422"].(map[string]any)["description"].(string), "limit")):
				t.Errorf("%s: paged without its 422", where)
			}
		}
	}
}

func asList(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

// TestErrorStatusesAreDocumented sends every route the requests the contract refuses the same way everywhere (no
// session, a body that is not JSON, malformed JSON, too large a body, a bad Idempotency-Key, a bad consistency
// position, a path id that is not a UUID, a bad If-Match, too large headers) and checks each answer: the expected
// status and code, and that status listed for the route in /openapi.json.
func TestErrorStatusesAreDocumented(t *testing.T) {
	s := newAccountsServer(t)
	memberToken := s.login(t, uuid.New(), kindMember)
	_, staffToken := s.account(t, "c.contrat", staff.RoleCaseworker, staff.RoleSupervisor, staff.RoleAdmin, staff.RoleAuditor)
	s.deps.Consistency = refusingWait{t} // a bad position is refused before any wait
	doc := openAPIDoc(t, s.Server)
	paths := doc["paths"].(map[string]any)
	type probe struct {
		name, body, contentType string
		headers                 map[string]string
		pathID, query           string
		status                  int
		code                    string
	}
	checked := map[int]int{}
	for _, rt := range s.table {
		docPath := pathParam.ReplaceAllString(rt.Path, "{$1}")
		op := paths[docPath].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
		listed := op["responses"].(map[string]any)
		token := ""
		switch rt.Auth {
		case authMember, authSession, authMemberOptional:
			token = memberToken
		case authStaff:
			token = staffToken
		}
		var probes []probe
		if token != "" && rt.Auth != authMemberOptional {
			probes = append(probes, probe{name: "no session", status: 401, code: "session.required"})
		}
		if rt.Request != nil && rt.BodyLimit > 0 {
			// A streamed body is multipart (a deposit, a message with attachments): its own refusals of a body of
			// another type, a malformed one and one declared above the route's limit.
			codes := [3]string{"document.multipart_required", "document.malformed", "document.body_too_large"}
			if strings.HasPrefix(rt.Path, "/v1/conversations") {
				codes = [3]string{"conversation.multipart_required", "conversation.malformed", "conversation.too_large"}
			}
			probes = append(probes,
				probe{name: "not multipart", body: `{"a":1}`, status: 415, code: codes[0]},
				probe{name: "malformed multipart", body: "no parts", contentType: "multipart/form-data; boundary=b", status: 400, code: codes[1]},
				probe{name: "too large", body: strings.Repeat("x", int(rt.BodyLimit)+1), contentType: "multipart/form-data; boundary=b", status: 413, code: codes[2]})
		} else if rt.Request != nil {
			probes = append(probes,
				probe{name: "not JSON", body: "city=Rennes", contentType: "application/x-www-form-urlencoded", status: 415, code: "request.json_required"},
				probe{name: "malformed JSON", body: `{"a":`, status: 400, code: "request.malformed_json"},
				probe{name: "too large", body: `{"a":"` + strings.Repeat("x", 1<<20) + `"}`, status: 413, code: "request.body_too_large"})
		}
		if rt.Idempotent {
			body := ""
			if rt.Request != nil {
				body = "{}"
			}
			probes = append(probes, probe{name: "bad Idempotency-Key", body: body, headers: map[string]string{IdempotencyKeyHeader: "x"}, status: 400, code: "request.invalid_idempotency_key"})
		}
		if rt.Consistent {
			probes = append(probes, probe{name: "bad position", query: minPositionParam + "=abc", status: 400, code: "consistency.invalid_position"})
		}
		if strings.Contains(rt.Path, "{id}") {
			body := ""
			if rt.Request != nil {
				body = "{}"
			}
			probes = append(probes, probe{name: "id not a UUID", pathID: "pas-un-uuid", body: body, status: 400, code: "request.invalid_id"})
		}
		if strings.HasPrefix(rt.Path, "/v1/cases/{id}/") && rt.Method == "POST" {
			probes = append(probes, probe{name: "bad If-Match", body: "{}", headers: map[string]string{"If-Match": "pas un etag"}, status: 400, code: "request.invalid_if_match"})
		}
		probes = append(probes, probe{name: "headers too large", headers: map[string]string{"X-Padding": strings.Repeat("x", 70<<10)}, status: 431, code: "request.header_too_large"})
		for _, p := range probes {
			path := rt.Path
			id := p.pathID
			if id == "" {
				id = uuid.NewString()
			}
			path = strings.ReplaceAll(path, "{id}", id)
			path = pathParam.ReplaceAllString(path, "x")
			if p.query != "" {
				path += "?" + p.query
			}
			hdr := map[string]string{}
			if p.name != "no session" && token != "" {
				hdr["Authorization"] = "Bearer " + token
			}
			if p.body != "" {
				hdr["Content-Type"] = "application/json"
				if p.contentType != "" {
					hdr["Content-Type"] = p.contentType
				}
			}
			for k, v := range p.headers {
				hdr[k] = v
			}
			rec := do(t, s.Handler(), rt.Method, path, p.body, hdr)
			var body ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code == http.StatusTooManyRequests && rt.Throttle != nil {
				p.status, p.code = rec.Code, "request.too_many" // the probes spent the route's throttle
			}
			if rec.Code != p.status || body.Code != p.code {
				t.Errorf("%s %s, %s: %d %s, want %d %s", rt.Method, rt.Path, p.name, rec.Code, body.Code, p.status, p.code)
				continue
			}
			if _, ok := listed[itoa(rec.Code)]; !ok {
				t.Errorf("%s %s answers %d (%s) for %s, not listed in /openapi.json", rt.Method, rt.Path, rec.Code, body.Code, p.name)
			}
			checked[rec.Code]++
		}
	}
	for _, st := range []int{400, 401, 413, 415, 431} {
		if checked[st] == 0 {
			t.Errorf("no route was checked for %d", st)
		}
	}
}

// refusingWait is the consistency wait of a server whose probes must never wait: a call fails the test.
type refusingWait struct{ t *testing.T }

func (w refusingWait) WaitFor(context.Context, uint64, ...string) error {
	w.t.Error("a probe waited for the read models")
	return nil
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestOutOfRangeDateNamesTheField: a deadline in year 99999 is well-formed JSON with a value out of range: 422
// request.invalid_value naming "deadline", and nothing recorded.
func TestOutOfRangeDateNamesTheField(t *testing.T) {
	s := newAccountsServer(t)
	_, token := s.account(t, "c.delai", staff.RoleCaseworker)
	id := uuid.New()
	for _, deadline := range []string{"99999-01-01T00:00:00Z", "2027-13-01T00:00:00Z"} {
		rec := do(t, s.Handler(), "POST", "/v1/cases/"+id.String()+"/information-requests",
			`{"items":["Avis d'imposition"],"deadline":"`+deadline+`"}`, bearer(token))
		var body ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != 422 || body.Code != "request.invalid_value" || body.Field != "deadline" || body.Message == "" {
			t.Errorf("deadline %s: %d %s", deadline, rec.Code, rec.Body)
		}
	}
	evs, err := s.env.Store.Load(context.Background(), servicerequest.StreamID(id))
	if err != nil || len(evs) != 0 {
		t.Errorf("the case's stream after the refusals: %d events, %v", len(evs), err)
	}
	// Still a 400 for what is not JSON at all.
	if rec := do(t, s.Handler(), "POST", "/v1/cases/"+id.String()+"/information-requests", `{"deadline":`, bearer(token)); rec.Code != 400 {
		t.Errorf("malformed JSON: %d", rec.Code)
	}
}

// TestNothingRecordedMeansNoPosition: the resend-code answer (the same whether or not a code was sent) documents no
// position, and a command answer at position 0 (nothing recorded) has no X-Dossier-Position header.
func TestNothingRecordedMeansNoPosition(t *testing.T) {
	s := newTestServer(t, Deps{})
	doc := openAPIDoc(t, s)
	op := doc["paths"].(map[string]any)["/v1/registrations/{id}/code"].(map[string]any)["post"].(map[string]any)
	schema := resolve(doc, op["responses"].(map[string]any)["202"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any))
	if _, has := schema["properties"].(map[string]any)["position"]; has {
		t.Errorf("the resend-code answer documents a position: %v", schema)
	}
	rec := httptest.NewRecorder()
	(&Server{}).writeCommand(rec, 202, 0, sentenceBody{Message: "x"})
	if rec.Header().Get(PositionHeader) != "" || strings.Contains(rec.Body.String(), "position") {
		t.Errorf("position 0 answered: %v %s", rec.Header(), rec.Body)
	}
	rec = httptest.NewRecorder()
	(&Server{}).writeCommand(rec, 200, 42, positionOf(42))
	if rec.Header().Get(PositionHeader) != "42" || !strings.Contains(rec.Body.String(), `"position":"42"`) {
		t.Errorf("position 42 answered: %v %s", rec.Header(), rec.Body)
	}
}

// headCounterFake stands for the event store's end of log and counts how often it is asked.
type headCounterFake struct {
	end   uint64
	calls int
}

func (h *headCounterFake) Head(context.Context) (uint64, error) { h.calls++; return h.end, nil }

// A position this server answered a command with is within the log: reading with it asks nothing of the event
// store; a higher one is looked up once, and a position beyond the end is refused.
func TestAnsweredPositionsNeedNoLookUp(t *testing.T) {
	head := &headCounterFake{end: 100}
	s := &Server{deps: Deps{Head: head}}
	s.writeCommand(httptest.NewRecorder(), 201, 42, positionOf(42))
	if !s.withinLog(t.Context(), 42) || !s.withinLog(t.Context(), 7) || head.calls != 0 {
		t.Errorf("positions up to an answered 42: %d look-ups of the end of the log, want 0", head.calls)
	}
	if !s.withinLog(t.Context(), 99) || head.calls != 1 {
		t.Errorf("position 99 after the answered 42: %d look-ups, want 1", head.calls)
	}
	if s.withinLog(t.Context(), 101) {
		t.Error("position 101 beyond the end of the log (100) was accepted")
	}
}
