package acceptance

import (
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// TestListsPageOverHTTP (issue 11, items 12 and 13): the member's requests and a queue's cases page by the one
// convention over the real binary: ?limit=, "next" to pass back as ?cursor=, null on the last page, the pages together
// the whole list; bad values are 422 naming the parameter. Case rows give their age in whole seconds, and positions
// are strings in every answer (GET /v1/me included).
func TestListsPageOverHTTP(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin,
		map[string]any{"queues": []string{"pro-attestations"}}), "assign queue")
	var submitted []string
	pos := ""
	for range 5 {
		ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "attestations-pro",
			"form": map[string]any{"attestation_type": "affiliation-nsa", "year": 2026, "copies": 1}},
			"Idempotency-Key", uuid.NewString()), "submit")
		submitted = append(submitted, ack.str("request_id"))
		pos = ack.header.Get("X-Dossier-Position")
	}

	// walk follows the pages of a list of limit 2 and returns the ids of its items.
	walk := func(token, path, list, id string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for page := 0; ; page++ {
			q := url.Values{"limit": {"2"}, "min_position": {pos}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			r := e.must(t, 200, e.call(t, "GET", path+"?"+q.Encode(), token, nil), path+" page")
			items, _ := r.body[list].([]any)
			for _, it := range items {
				ids = append(ids, it.(map[string]any)[id].(string))
			}
			next, present := r.body["next"]
			if !present {
				t.Fatalf("%s: no next in %s", path, r.raw)
			}
			if next == nil {
				return ids
			}
			if len(items) != 2 || page > 5 {
				t.Fatalf("%s: page %d of %d items with a next: %s", path, page, len(items), r.raw)
			}
			cursor = next.(string)
		}
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if got := walk(alice, "/v1/requests", "requests", "id"); !slices.Equal(sorted(got), sorted(submitted)) {
		t.Fatalf("alice's requests by pages: %v, submitted %v", got, submitted)
	}
	if got := walk(claire, "/v1/queues/pro-attestations/cases", "cases", "request_id"); !slices.Equal(sorted(got), sorted(submitted)) {
		t.Fatalf("the queue by pages: %v, submitted %v", got, submitted)
	}

	cases := e.must(t, 200, e.call(t, "GET", "/v1/queues/pro-attestations/cases?limit=1", claire, nil), "one case")
	row := cases.body["cases"].([]any)[0].(map[string]any)
	if age, ok := row["age_seconds"].(float64); !ok || age < 0 || age > 600 || age != float64(int64(age)) {
		t.Errorf("age_seconds %v: %s", row["age_seconds"], cases.raw)
	}
	if _, ok := row["age"]; ok {
		t.Errorf("a case row still has age: %s", cases.raw)
	}
	if me := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "me"); me.str("position") == "" {
		t.Errorf("GET /v1/me position is not a string: %s", me.raw)
	}

	for _, tt := range []struct{ token, path, code, field string }{
		{alice, "/v1/requests?limit=abc", "page.invalid_limit", "limit"},
		{alice, "/v1/requests?limit=0", "page.invalid_limit", "limit"},
		{alice, "/v1/requests?limit=-1", "page.invalid_limit", "limit"},
		{alice, "/v1/requests?cursor=bm9uc2Vucw", "page.invalid_cursor", "cursor"},
		{claire, "/v1/queues/pro-attestations/cases?limit=abc", "page.invalid_limit", "limit"},
		{claire, "/v1/queues/pro-attestations/cases?cursor=garbage", "page.invalid_cursor", "cursor"},
		{claire, "/v1/queues/pro-attestations/cases?assignee=garbage", "page.invalid_filter", "assignee"},
		{claire, "/v1/cases?limit=201", "page.invalid_limit", "limit"},
	} {
		r := e.call(t, "GET", tt.path, tt.token, nil)
		if r.status != 422 || r.str("code") != tt.code || r.str("field") != tt.field || r.str("message") == "" {
			t.Errorf("GET %s: %d %s, want 422 %s naming %s", tt.path, r.status, r.raw, tt.code, tt.field)
		}
	}
}
