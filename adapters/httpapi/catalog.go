package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/projections/savedestimates"
)

// The service catalog and the contributions estimate: public and pure; an estimate is stored only when a connected
// member asks to save it.

// catalogBody documents the catalog's JSON for the OpenAPI document (the catalog marshals itself).
type catalogBody struct {
	Version  string            `json:"version"`
	Groups   []catalog.Group   `json:"groups"`
	Queues   []catalog.Queue   `json:"queues"`
	Services []catalog.Service `json:"services"`
}

// serveCatalog serves the current catalog with its ETag; a client holding it gets 304.
func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request) {
	c := catalog.Current()
	etag := c.ETag()
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache") // revalidate with If-None-Match
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// errSaveNeedsLogin: "save": true without any session.
var errSaveNeedsLogin = failure.New(failure.Unauthenticated, "simulation.login_required",
	"saving an estimate needs a member session")

// simulationRequest is simulation.Input and whether to keep the estimate.
type simulationRequest struct {
	// IncomeCents is the annual professional income, in euro cents, 0 to 10 million euros.
	IncomeCents int64             `json:"income_cents"`
	Status      simulation.Status `json:"status"`
	// Save keeps the estimate among the connected member's saved estimates (a member session is required).
	Save bool `json:"save,omitempty"`
}

// simulationBody is simulation.Result and, when it was saved, where to find it again.
type simulationBody struct {
	Label       string            `json:"label"`
	Disclaimer  string            `json:"disclaimer"`
	RatesYear   int               `json:"rates_year"`
	Status      simulation.Status `json:"status"`
	IncomeCents int64             `json:"income_cents"`
	Lines       []simulation.Line `json:"lines"`
	TotalCents  int64             `json:"total_cents"`
	// SavedID, SavedAt and Position are there when the estimate was saved; Position is the commit position to
	// pass back (X-Dossier-Min-Position) to list it at once.
	SavedID  uuid.UUID `json:"saved_id,omitzero"`
	SavedAt  time.Time `json:"saved_at,omitzero"`
	Position string    `json:"position,omitempty"`
}

func simulationBodyOf(r simulation.Result) simulationBody {
	return simulationBody{Label: r.Label, Disclaimer: r.Disclaimer, RatesYear: r.RatesYear, Status: r.Status,
		IncomeCents: r.IncomeCents, Lines: nonNilSlice(r.Lines), TotalCents: r.TotalCents}
}

// simulateContributions estimates NSA contributions from a declared income and status. Nothing is stored, unless
// the request asks to save the estimate: then the caller must be a connected member, the estimate is recorded on
// their stream (idempotent with the Idempotency-Key) and the answer is 201 with the saved estimate.
func (s *Server) simulateContributions(w http.ResponseWriter, r *http.Request) {
	var in simulationRequest
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	input := simulation.Input{IncomeCents: in.IncomeCents, Status: in.Status}
	if !in.Save {
		res, err := simulation.Estimate(input)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, simulationBodyOf(res))
		return
	}
	p, err := optionalMember(r, errSaveNeedsLogin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	saved, err := s.deps.EstimateCommands.SaveEstimate(r.Context(), m, p.ID, input)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body := simulationBodyOf(saved.Estimate)
	// saved_at as the list will show it: the read model keeps microseconds
	body.SavedID, body.SavedAt = saved.EstimateID, saved.SavedAt.Truncate(time.Microsecond)
	body.Position = formatPosition(saved.Position)
	s.writeCommand(w, http.StatusCreated, saved.Position, body)
}

type savedEstimatesBody struct {
	Estimates []savedestimates.Estimate `json:"estimates"`
	Next      *string                   `json:"next"`
}

// listSavedEstimates lists a page of the connected member's saved estimates, the most recent first.
func (s *Server) listSavedEstimates(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Estimates.Estimates(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, savedEstimatesBody{Estimates: nonNilSlice(list), Next: nextOf(next)})
}
