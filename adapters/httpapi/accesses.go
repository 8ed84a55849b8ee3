package httpapi

import (
	"net/http"
	"strconv"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections/memberaccesses"
)

// The member's log of staff openings of their data ("qui a consulté mon dossier"): only their own, the newest first,
// by pages. It says when, in which capacity and for what; never who (see domain/staff's access.go).

type accessesBody = memberaccesses.Page

// myAccesses lists the openings of the caller's data by staff members (?limit= 1 to 200, 50 by default; ?before= the
// next_before of a previous page).
func (s *Server) myAccesses(w http.ResponseWriter, r *http.Request) {
	q := memberaccesses.Query{}
	query := r.URL.Query()
	if v := query.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil {
			s.writeError(w, r, failure.Field("limit", memberaccesses.ErrInvalidPage))
			return
		}
		q.Limit = l
	}
	if v := query.Get("before"); v != "" {
		b, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			s.writeError(w, r, failure.Field("before", memberaccesses.ErrInvalidPage))
			return
		}
		q.Before = &b
	}
	page, err := s.deps.Accesses.List(r.Context(), principalOf(r.Context()).ID, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
