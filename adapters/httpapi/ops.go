package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// CheckResult is one readiness check in the /readyz body.
type CheckResult struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Advisory bool   `json:"advisory,omitempty"` // reported only: a failure does not make the replica unready
	Error    string `json:"error,omitempty"`
}

// readyz runs every check concurrently, each bounded, and answers 503 when one that is not advisory fails.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	results := make([]CheckResult, len(s.deps.Ready))
	var wg sync.WaitGroup
	for i, c := range s.deps.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = CheckResult{Name: c.Name, OK: true, Advisory: c.Advisory}
			if err := c.Check(ctx); err != nil {
				results[i] = CheckResult{Name: c.Name, Advisory: c.Advisory, Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	status, word := http.StatusOK, "ready"
	for _, res := range results {
		if !res.OK && !res.Advisory {
			status, word = http.StatusServiceUnavailable, "not ready"
		}
	}
	writeJSON(w, status, map[string]any{"status": word, "checks": results})
}

// matchPath reports whether a concrete path matches a route pattern ({name} is one segment, {name...} the rest).
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "...}") {
			return true
		}
		if i >= len(xs) {
			return false
		}
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}
