package httpapi

import (
	"net/http"
	"strconv"

	"github.com/msa-dossier/dossier/projections/memberaccesses"
)

// The member's log of staff openings of their data ("qui a consulté mon dossier"): only their own, the newest first,
// by pages. It says when, in which capacity and for what; never who (see domain/staff's access.go).

// accessesBody is a page of the member's access log. next_before is the cursor's older form (a revision), kept for
// the clients written before the paging convention.
type accessesBody struct {
	Accesses   []memberaccesses.Access `json:"accesses"`
	Next       *string                 `json:"next"`
	NextBefore *uint64                 `json:"next_before,omitempty"`
}

// accessesPaging is the access log's paging. Its bad values keep the code they had before the convention
// (memberaccesses.invalid_page), and ?before= (a next_before) still works.
var accessesPaging = paging{Default: memberaccesses.DefaultLimit, Max: memberaccesses.MaxLimit,
	Err: memberaccesses.ErrInvalidPage, Alias: "before", AliasCursor: func(v string) (string, error) {
		b, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return "", err
		}
		return memberaccesses.CursorOf(b), nil
	}}

// myAccesses lists a page of the openings of the caller's data by staff members, the newest first.
func (s *Server) myAccesses(w http.ResponseWriter, r *http.Request) {
	pg := pageOf(r)
	page, err := s.deps.Accesses.List(r.Context(), principalOf(r.Context()).ID,
		memberaccesses.Query{Limit: pg.Limit, After: pg.After})
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, accessesBody{Accesses: nonNilSlice(page.Accesses), Next: nextOf(page.Next), NextBefore: page.Before})
}
