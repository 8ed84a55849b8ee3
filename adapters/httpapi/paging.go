package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections"
)

// The paging convention of every list route (docs/architecture.md, "The API contract"), written once:
//
//   - ?limit= the page size, an integer from 1 to the route's maximum (its default when absent);
//   - ?cursor= the "next" of the previous page, as it was given (opaque);
//   - the route's filters (?assignee=…), each declared with its values;
//   - the body holds the page and "next": the cursor of the following page, null on the last page;
//   - a bad limit, cursor or filter answers 422 naming the parameter in "field" (page.invalid_limit,
//     page.invalid_cursor, page.invalid_filter), before anything is read.
//
// A route adopts it with one field of its line in routes.go, Paging: &paging{…}; mount then parses the parameters
// (after the session check, so that a filter may read the caller), /openapi.json declares them, and the handler
// reads the page with pageOf(r) and answers with nextOf(cursor). A projection pages with projections.Page and
// projections.Trim.

// Errors of the convention; the cursor's is projections.ErrInvalidCursor (a list query finds most bad cursors).
var (
	errInvalidLimit  = failure.New(failure.Invalid, "page.invalid_limit", "invalid page size")
	errInvalidFilter = failure.New(failure.Invalid, "page.invalid_filter", "invalid list filter")
)

// paging declares how a list route pages.
type paging struct {
	// Default and Max bound ?limit=.
	Default, Max int
	// Filters are the route's own query parameters.
	Filters []listFilter
	// Alias is an older name of the cursor parameter, still accepted (deprecated in the document); AliasCursor turns
	// its value into a cursor (nil: the value is a cursor already).
	Alias       string
	AliasCursor func(v string) (string, error)
	// Err, when set, is the one code of every bad value of this route (a code published before the convention).
	Err *failure.Error
}

// listFilter is a filter parameter of a list route.
type listFilter struct {
	Name, Description string
	Schema            map[string]any
	// Parse checks a present value and returns what the handler reads (pageRequest.Filter); an error answers 422.
	Parse func(r *http.Request, v string) (any, error)
}

// pageRequest is what a handler of a list route reads: the page for the projection, and the parsed filters.
type pageRequest struct {
	projections.Page
	paging  *paging
	filters map[string]any
}

// Filter returns the parsed value of filter name, or nil when the request has none.
func (p pageRequest) Filter(name string) any { return p.filters[name] }

type pageKey struct{}

// pageOf returns the page a list route's request asks for (parsed by mount).
func pageOf(r *http.Request) pageRequest {
	p, _ := r.Context().Value(pageKey{}).(pageRequest)
	return p
}

// nextOf is the "next" of a list body: the cursor, or null ("") after the last page.
func nextOf(cursor string) *string {
	if cursor == "" {
		return nil
	}
	return &cursor
}

// fail returns the error of a bad value of parameter name: conventional (def) or the route's own code.
func (pg *paging) fail(name string, def *failure.Error) error {
	if pg != nil && pg.Err != nil {
		return failure.Field(name, pg.Err)
	}
	return failure.Field(name, def)
}

// pageError turns a list query's refusal of the cursor into the convention's answer naming "cursor"; other errors
// pass.
func pageError(r *http.Request, err error) error {
	if errors.Is(err, projections.ErrInvalidCursor) && failure.FieldOf(err) == "" {
		return pageOf(r).paging.fail("cursor", projections.ErrInvalidCursor)
	}
	return err
}

// parse reads the paging parameters of r.
func (pg *paging) parse(r *http.Request) (pageRequest, error) {
	q := r.URL.Query()
	out := pageRequest{Page: projections.Page{Limit: pg.Default}, paging: pg}
	if q.Has("limit") {
		l, err := strconv.Atoi(q.Get("limit"))
		if err != nil || l < 1 || l > pg.Max {
			return pageRequest{}, pg.fail("limit", errInvalidLimit)
		}
		out.Limit = l
	}
	if q.Has("cursor") {
		out.After = q.Get("cursor")
		if out.After == "" {
			return pageRequest{}, pg.fail("cursor", projections.ErrInvalidCursor)
		}
	} else if pg.Alias != "" && q.Has(pg.Alias) {
		v := q.Get(pg.Alias)
		if pg.AliasCursor != nil {
			c, err := pg.AliasCursor(v)
			if err != nil {
				return pageRequest{}, pg.fail(pg.Alias, projections.ErrInvalidCursor)
			}
			v = c
		}
		if v == "" {
			return pageRequest{}, pg.fail(pg.Alias, projections.ErrInvalidCursor)
		}
		out.After = v
	}
	for _, f := range pg.Filters {
		if !q.Has(f.Name) {
			continue
		}
		v, err := f.Parse(r, q.Get(f.Name))
		if err != nil {
			return pageRequest{}, pg.fail(f.Name, errInvalidFilter)
		}
		if out.filters == nil {
			out.filters = map[string]any{}
		}
		out.filters[f.Name] = v
	}
	return out, nil
}

// paged parses a list route's paging before its handler: a bad value answers 422 and the handler does not run.
func (s *Server) paged(pg *paging, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := pg.parse(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), pageKey{}, p)))
	}
}

// check refuses a paging declaration that cannot work as written.
func (pg *paging) check() error {
	if pg.Default < 1 || pg.Max < pg.Default {
		return fmt.Errorf("paging: default %d, max %d", pg.Default, pg.Max)
	}
	for _, f := range pg.Filters {
		if f.Name == "" || f.Parse == nil || f.Name == "limit" || f.Name == "cursor" || f.Name == pg.Alias {
			return fmt.Errorf("paging: filter %q", f.Name)
		}
	}
	return nil
}

// parameters are the OpenAPI declarations of the paging parameters.
func (pg *paging) parameters() []map[string]any {
	params := []map[string]any{
		{"name": "limit", "in": "query", "required": false,
			"description": fmt.Sprintf("Page size, from 1 to %d (%d when absent). Anything else answers 422 (field \"limit\").", pg.Max, pg.Default),
			"schema":      map[string]any{"type": "integer", "minimum": 1, "maximum": pg.Max, "default": pg.Default}},
		{"name": "cursor", "in": "query", "required": false,
			"description": "The \"next\" of the previous page, as given (opaque). Absent: the first page. A cursor no page gave answers 422 (field \"cursor\").",
			"schema":      map[string]any{"type": "string", "minLength": 1}},
	}
	if pg.Alias != "" {
		params = append(params, map[string]any{"name": pg.Alias, "in": "query", "required": false, "deprecated": true,
			"description": "Older name of the cursor, still accepted; use cursor.", "schema": map[string]any{"type": "string"}})
	}
	for _, f := range pg.Filters {
		params = append(params, map[string]any{"name": f.Name, "in": "query", "required": false,
			"description": f.Description + " A value outside these answers 422 (field \"" + f.Name + "\").", "schema": f.Schema})
	}
	return params
}
