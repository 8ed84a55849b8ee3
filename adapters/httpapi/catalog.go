package httpapi

import (
	"net/http"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// The service catalog and the contributions estimate: public, pure, nothing stored.

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

// simulateContributions estimates NSA contributions from a declared income and status. Nothing is stored.
func (s *Server) simulateContributions(w http.ResponseWriter, r *http.Request) {
	var in simulation.Input
	if err := decode(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := simulation.Estimate(in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
