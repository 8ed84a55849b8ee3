package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/msa-dossier/dossier/domain/failure"
)

var errTooMany = failure.New(failure.Unavailable, "request.too_many", "too many requests")

// throttle limits a sensitive endpoint (registration, login, password reset) per client address and overall:
// it slows down guessing and enumeration, and bounds the CPU argon2id can take. Past the limit the answer is
// 429 with Retry-After. The client address is the connection's peer: behind a reverse proxy, configure the
// proxy to limit too (X-Forwarded-For is not trusted here).
type throttle struct {
	perClient rate.Limit
	burst     int
	global    *rate.Limiter

	mu      sync.Mutex
	clients map[string]*clientLimiter
}

type clientLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

func newThrottle(perMinute, burst int, globalPerSecond float64) *throttle {
	return &throttle{
		perClient: rate.Limit(float64(perMinute) / 60),
		burst:     burst,
		global:    rate.NewLimiter(rate.Limit(globalPerSecond), int(math.Max(1, globalPerSecond))),
		clients:   map[string]*clientLimiter{},
	}
}

func (t *throttle) limiter(client string, now time.Time) *rate.Limiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.clients) > 10000 { // forget clients idle for 10 minutes: memory stays bounded
		for k, c := range t.clients {
			if now.Sub(c.seen) > 10*time.Minute {
				delete(t.clients, k)
			}
		}
	}
	c := t.clients[client]
	if c == nil {
		c = &clientLimiter{lim: rate.NewLimiter(t.perClient, t.burst)}
		t.clients[client] = c
	}
	c.seen = now
	return c.lim
}

func (t *throttle) wrap(s *Server, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		now := time.Now()
		res := t.limiter(host, now).ReserveN(now, 1)
		if !res.OK() || res.DelayFrom(now) > 0 {
			res.CancelAt(now)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(res.DelayFrom(now).Seconds()))+1))
			writeTooMany(w, r, s)
			return
		}
		if !t.global.AllowN(now, 1) {
			w.Header().Set("Retry-After", "1")
			writeTooMany(w, r, s)
			return
		}
		next(w, r)
	}
}

func writeTooMany(w http.ResponseWriter, r *http.Request, s *Server) {
	code := errTooMany.Code
	writeJSON(w, http.StatusTooManyRequests, ErrorBody{Code: code, Message: s.messageFor(r, code, errTooMany.Kind)})
}
