package httpapi

import (
	"context"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/domain/failure"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// RequestID returns the id of the request being served.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	waited   *prometheus.HistogramVec // how long consistent reads waited for their read models
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	m := &httpMetrics{
		// Labelled by route pattern, never by URL: paths hold identifiers that must not reach metrics.
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dossier_http_requests_total", Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dossier_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		waited: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dossier_http_consistency_wait_seconds",
			Help:    "How long reads that asked for their own writes (min_position) waited for the read models they read, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.waited} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// middleware wraps the mux: request id, panic recovery, body limit, request deadline, access log and metrics. It also
// answers, in the API's JSON error format, what net/http would otherwise answer in its own: a request line and
// headers above Config.MaxHeaderBytes (431 request.header_too_large; see ServerMaxHeaderBytes) and a path that is not
// in canonical form ("/v1/../x", "//x", "/./x": 404 request.route_not_found, where ServeMux would redirect to the
// cleaned path with an HTML body).
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if _, err := uuid.Parse(id); err != nil {
			id = uuid.NewString() // only well-formed ids are echoed: no header injection, no personal data
		}
		w.Header().Set(RequestIDHeader, id)
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), requestIDKey, id), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		r = r.WithContext(context.WithValue(ctx, rawBodyKey{}, r.Body)) // for a route with its own limit (streamedBody)
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.deps.Logger.ErrorContext(ctx, "panic while serving", "route", r.Pattern, "request_id", id, "panic", p)
				if rec.status == 0 {
					s.writeError(rec, r, failure.Errorf(failure.Internal, "panic"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			s.deps.Logger.InfoContext(ctx, "http request", "route", route, "status", status,
				"duration_ms", time.Since(start).Milliseconds(), "request_id", id)
		}()
		switch {
		case headerBytes(r) > s.cfg.MaxHeaderBytes:
			s.writeError(rec, r, errHeaderTooLarge)
		case r.Method != http.MethodConnect && cleanPath(r.URL.Path) != r.URL.Path:
			s.writeError(rec, r, errRouteNotFound)
		default:
			next.ServeHTTP(rec, r)
		}
	})
}

// headerBytes is the size of the request line and headers as sent (give or take the spacing).
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + len(r.Host)
}

// cleanPath is the canonical form of a path as http.ServeMux computes it (rooted, path.Clean, the trailing slash
// kept): ServeMux redirects any other form, which the middleware refuses instead.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// notFound answers unknown paths and known paths with another method in the API's error format.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, rt := range s.table {
		if matchPath(rt.Path, r.URL.Path) {
			allowed = append(allowed, rt.Method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		code := errMethodNotAllowed.Code
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Code: code, Message: s.messageFor(r, code, errMethodNotAllowed.Kind)})
		return
	}
	s.writeError(w, r, errRouteNotFound)
}

var (
	// errMethodNotAllowed answers a known path asked with another method (405, with Allow).
	errMethodNotAllowed = failure.New(failure.Invalid, "request.method_not_allowed", "method not allowed")
	// errRouteNotFound answers an unknown path.
	errRouteNotFound = failure.New(failure.NotFound, "request.route_not_found", "no such route")
	// errHeaderTooLarge answers a request line and headers above Config.MaxHeaderBytes (431).
	errHeaderTooLarge = failure.New(failure.Invalid, "request.header_too_large", "request line and headers too large")
)
