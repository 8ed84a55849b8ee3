package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/staff"
)

// TestEveryListRouteRefusesBadPaging: on every route of the paging convention, a bad limit, cursor or filter answers
// 422 with the convention's code (or the route's own, published before it) naming the parameter, before the handler
// runs; the server's read models are not even needed (this server has only the access log's).
func TestEveryListRouteRefusesBadPaging(t *testing.T) {
	s := newAccountsServer(t)
	memberToken := s.login(t, uuid.New(), kindMember)
	_, staffToken := s.account(t, "c.pages", staff.RoleCaseworker, staff.RoleSupervisor, staff.RoleAuditor)
	paged := 0
	for _, rt := range s.table {
		if rt.Paging == nil {
			continue
		}
		paged++
		token := memberToken
		if rt.Auth == authStaff {
			token = staffToken
		}
		path := pathParam.ReplaceAllString(rt.Path, "sante-c2s")
		code := func(def string) string {
			if rt.Paging.Err != nil {
				return rt.Paging.Err.Code
			}
			return def
		}
		cases := []struct{ query, code, field string }{
			{"limit=abc", code("page.invalid_limit"), "limit"},
			{"limit=0", code("page.invalid_limit"), "limit"},
			{"limit=-1", code("page.invalid_limit"), "limit"},
			{"limit=1.5", code("page.invalid_limit"), "limit"},
			{fmt.Sprintf("limit=%d", rt.Paging.Max+1), code("page.invalid_limit"), "limit"},
			{"limit=", code("page.invalid_limit"), "limit"},
			{"cursor=", code("page.invalid_cursor"), "cursor"},
		}
		for _, f := range rt.Paging.Filters {
			cases = append(cases, struct{ query, code, field string }{f.Name + "=n%27importe+quoi", code("page.invalid_filter"), f.Name},
				struct{ query, code, field string }{f.Name + "=", code("page.invalid_filter"), f.Name})
		}
		for _, tt := range cases {
			rec := do(t, s.Handler(), rt.Method, path+"?"+tt.query, "", bearer(token))
			var body ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusUnprocessableEntity || body.Code != tt.code || body.Field != tt.field || body.Message == "" {
				t.Errorf("%s %s?%s: %d %s, want 422 %s naming %q", rt.Method, rt.Path, tt.query, rec.Code,
					strings.TrimSpace(rec.Body.String()), tt.code, tt.field)
			}
		}
	}
	if paged < 8 {
		t.Fatalf("only %d routes declare paging", paged)
	}
}

// TestPagingParsesWhatItDeclares: good values reach the handler as the page (limit, cursor, the older cursor name,
// filters), and the next cursor is null at the end.
func TestPagingParsesWhatItDeclares(t *testing.T) {
	me := uuid.New()
	pg := casesPaging
	other := uuid.New()
	for query, want := range map[string]string{
		"":                                   "50  <nil>",
		"limit=7&cursor=abc":                 "7 abc <nil>",
		"limit=200&after=old":                "200 old <nil>",
		"cursor=new&after=old":               "50 new <nil>",
		"assignee=me":                        "50  " + me.String(),
		"assignee=" + other.String():         "50  " + other.String(),
		"limit=1&assignee=" + other.String(): "1  " + other.String(),
	} {
		r, _ := http.NewRequest("GET", "/v1/queues/q/cases?"+query, nil)
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, &principal{Kind: kindStaff, ID: me}))
		p, err := pg.parse(r)
		if err != nil {
			t.Errorf("%q: %v", query, err)
			continue
		}
		if got := fmt.Sprintf("%d %s %v", p.Limit, p.After, p.Filter("assignee")); got != want {
			t.Errorf("%q: %s, want %s", query, got, want)
		}
	}
	if nextOf("") != nil || *nextOf("x") != "x" {
		t.Error("nextOf")
	}
	r, _ := http.NewRequest("GET", "/v1/me/accesses?before=12", nil)
	if p, err := accessesPaging.parse(r); err != nil || p.After == "" || p.After == "12" {
		t.Errorf("before=12 gives the cursor %q, %v", p.After, err)
	}
}
