package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// route is one served operation and what the OpenAPI document says about it.
type route struct {
	Method    string
	Path      string // net/http pattern syntax: /v1/things/{id}
	ID        string // OpenAPI operationId
	Tag       string
	Summary   string
	Handler   http.Handler
	Responses map[int]string // status → description (errors use the ErrorBody schema)
	// Consistent reads accept X-Dossier-Min-Position / min_position and wait for the read models.
	Consistent bool
}

// routes is the one list of every route Dossier serves.
func (s *Server) routes() []route {
	return []route{
		{Method: "GET", Path: "/healthz", ID: "healthz", Tag: "operations", Summary: "Liveness: the process serves HTTP.",
			Handler: http.HandlerFunc(s.healthz), Responses: map[int]string{200: "Alive."}},
		{Method: "GET", Path: "/readyz", ID: "readyz", Tag: "operations",
			Summary: "Readiness: event store and database reachable, projections caught up.",
			Handler: http.HandlerFunc(s.readyz), Responses: map[int]string{200: "Ready.", 503: "Not ready; the body lists each check."}},
		{Method: "GET", Path: "/metrics", ID: "metrics", Tag: "operations", Summary: "Prometheus metrics.",
			Handler:   promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{ErrorLog: nil}),
			Responses: map[int]string{200: "Metrics in the Prometheus text format."}},
		{Method: "GET", Path: "/openapi.json", ID: "openapi", Tag: "operations", Summary: "This API's OpenAPI 3.1 document.",
			Handler: http.HandlerFunc(s.openapi), Responses: map[int]string{200: "The OpenAPI document."}},
	}
}
