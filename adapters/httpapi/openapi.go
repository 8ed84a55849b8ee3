package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)(\.\.\.)?\}`)

// OpenAPI returns the OpenAPI 3.1 document of every route, built from the same table as the mux.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	defs := map[string]any{}
	schemaOf(reflect.TypeOf(ErrorBody{}), defs)
	for _, rt := range s.table {
		docPath := pathParam.ReplaceAllString(rt.Path, "{$1}")
		op := map[string]any{
			"operationId": rt.ID,
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			schema := map[string]any{"type": "string"}
			if m[1] == "id" { // {id} is always a UUID (pathID); other parameters name what they hold
				schema["format"] = "uuid"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": schema})
		}
		if rt.Consistent {
			params = append(params,
				map[string]any{"name": MinPositionHeader, "in": "header", "required": false,
					"description": "Commit position from a command's " + PositionHeader + " header: wait until the read reflects it. A position beyond the end of the event log, which no command gave, answers 422 consistency.position_unreachable at once.",
					"schema":      map[string]any{"type": "string", "pattern": "^[0-9]+$"}},
				map[string]any{"name": minPositionParam, "in": "query", "required": false,
					"description": "Same as the " + MinPositionHeader + " header.",
					"schema":      map[string]any{"type": "string", "pattern": "^[0-9]+$"}})
		}
		if rt.Paging != nil {
			params = append(params, rt.Paging.parameters()...)
		}
		if rt.Bounded != "" {
			op["x-unpaged"] = rt.Bounded
		}
		if rt.Idempotent {
			params = append(params, map[string]any{"name": IdempotencyKeyHeader, "in": "header", "required": false,
				"description": "A UUID chosen by the client: retrying the command with the same key returns the same result and acts once. The same key with another request (body, path or route) answers 422 request.idempotency_key_reused: use a new key for a new request.",
				"schema":      map[string]any{"type": "string", "format": "uuid"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request), defs)}}}
			if rt.BodyLimit > 0 { // a streamed body is a multipart deposit (documents.go)
				op["requestBody"] = map[string]any{"required": true, "content": multipartContent(rt.Request, schemaOf(reflect.TypeOf(rt.Request), defs))}
			}
		}
		switch rt.Auth {
		case "member", "staff", "session":
			op["security"] = []map[string][]string{{"sessionCookie": {}}, {"bearer": {}}}
			if len(rt.StaffRoles) > 0 {
				op["x-staff-roles"] = rt.StaffRoles
			}
			op["x-session-kind"] = rt.Auth
		case "member-optional":
			// The empty requirement first: anyone may call; a member session, when sent, is used.
			op["security"] = []map[string][]string{{}, {"sessionCookie": {}}, {"bearer": {}}}
			op["x-session-kind"] = "member"
			op["x-session-optional"] = true
		}
		responses := map[string]any{}
		for status, desc := range contractResponses(rt) {
			resp := map[string]any{"description": desc}
			if status >= 400 {
				resp["content"] = errorContent
			} else if rt.Response != nil {
				resp["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Response), defs)}}
			}
			responses[strconv.Itoa(status)] = resp
		}
		op["responses"] = responses
		if paths[docPath] == nil {
			paths[docPath] = map[string]any{}
		}
		paths[docPath][strings.ToLower(rt.Method)] = op
	}
	tags := map[string]bool{}
	for _, rt := range s.table {
		tags[rt.Tag] = true
	}
	var tagList []map[string]string
	for t := range tags {
		tagList = append(tagList, map[string]string{"name": t})
	}
	sort.Slice(tagList, func(i, j int) bool { return tagList[i]["name"] < tagList[j]["name"] })
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Dossier API",
			"version":     "1",
			"description": "Member space (Mon espace privé) and case management API. Errors are {code, message}: a stable machine code and a French sentence.",
		},
		"tags":  tagList,
		"paths": paths,
		"components": map[string]any{
			"schemas": defs,
			"securitySchemes": map[string]any{
				"sessionCookie": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
				"bearer":        map[string]any{"type": "http", "scheme": "bearer", "description": "The session token returned at login."},
			},
		},
	}
}

var errorContent = map[string]any{"application/json": map[string]any{
	"schema": map[string]any{"$ref": "#/components/schemas/ErrorBody"}}}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

// contractResponses are a route's documented statuses plus those the API's contract adds to every route of its
// kind: 400 for a body that is not JSON in valid UTF-8, 422 for an Idempotency-Key reused for another request, 400
// and 422 for a malformed or unreachable consistency position. A status the route documents keeps its sentence,
// completed with the contract's.
func contractResponses(rt route) map[int]string {
	out := make(map[int]string, len(rt.Responses)+2)
	for st, d := range rt.Responses {
		out[st] = d
	}
	add := func(status int, desc string) {
		if d, ok := out[status]; ok {
			if !strings.Contains(d, desc) {
				out[status] = strings.TrimSuffix(d, ".") + "; " + strings.ToLower(desc[:1]) + desc[1:]
			}
			return
		}
		out[status] = desc
	}
	if rt.Request != nil && rt.BodyLimit == 0 { // a streamed body is multipart: its route lists its own 400/413/415
		add(400, "Malformed JSON, or a body that is not valid UTF-8 (request.malformed_json, request.invalid_utf8).")
		add(413, "Body too large (request.body_too_large).")
		add(415, "Not a JSON body: Content-Type application/json is required (request.json_required).")
		if hasTime(reflect.TypeOf(rt.Request), map[reflect.Type]bool{}) {
			add(422, "A date-time that is no instant (year 99999, month 13), named in field (request.invalid_value).")
		}
	}
	if pathParam.MatchString(rt.Path) && strings.Contains(rt.Path, "{id}") {
		add(400, "An id in the path that is not a UUID (request.invalid_id).")
	}
	if rt.Idempotent {
		add(400, "Malformed Idempotency-Key (request.invalid_idempotency_key).")
		add(422, "Idempotency-Key already used for another request (request.idempotency_key_reused).")
	}
	switch rt.Auth {
	case authMember, authStaff, authSession:
		add(401, "Not connected, or the session ended (session.required, session.invalid, staff.session_ended).")
		if rt.Auth != authSession {
			add(403, "A session of the wrong kind, or a role that may not call this (session.member_required, session.staff_required, staff.role_forbidden).")
		}
	}
	if rt.Throttle != nil {
		add(429, "Too many requests from this client or overall (request.too_many); Retry-After says when to retry.")
	}
	if rt.Paging != nil {
		codes := "page.invalid_limit, page.invalid_cursor, page.invalid_filter"
		if rt.Paging.Err != nil {
			codes = rt.Paging.Err.Code
		}
		add(422, "Invalid limit, cursor or filter, named in field ("+codes+").")
	}
	if rt.Consistent {
		add(400, "Malformed consistency position (consistency.invalid_position).")
		add(422, "Consistency position beyond the end of the event log (consistency.position_unreachable).")
		add(503, "The read models have not reached the position yet (consistency.not_reached); Retry-After says when to retry.")
	}
	// Every route: headers above 64 KiB, and the failures of the server itself.
	add(431, "Request headers too large (request.header_too_large).")
	add(500, "Unexpected error (internal): logged with the request id; nothing was half-done.")
	if rt.Tag != "operations" {
		add(503, "A dependency (event store, database, mail) is unavailable (unavailable): retry later.")
	}
	return out
}

// hasTime reports whether a body type holds a time.Time anywhere (its decoding can refuse a value as out of range).
func hasTime(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t == timeType {
		return true
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return false
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		if hasTime(t.Field(i).Type, seen) {
			return true
		}
	}
	return false
}
