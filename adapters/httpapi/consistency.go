package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/msa-dossier/dossier/domain/failure"
)

const (
	// PositionHeader carries the commit position of a command's events in its response.
	PositionHeader = "X-Dossier-Position"
	// MinPositionHeader (or the min_position query parameter) asks a read to reflect at least that position.
	MinPositionHeader = "X-Dossier-Min-Position"
	minPositionParam  = "min_position"
)

var (
	errInvalidPosition = failure.New(failure.Invalid, "consistency.invalid_position", "invalid consistency position")
	errNotReached      = failure.New(failure.Unavailable, "consistency.not_reached", "read models did not reach the position in time")
)

// consistent makes a read wait until the read models reflect the position the caller passes back, at most
// ConsistencyTimeout; past it the caller gets 503 with Retry-After and may retry the same read.
func (s *Server) consistent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get(MinPositionHeader)
		if raw == "" {
			raw = r.URL.Query().Get(minPositionParam)
		}
		if raw != "" && s.deps.Consistency != nil {
			pos, err := strconv.ParseUint(raw, 10, 64)
			if err != nil {
				s.writeError(w, r, errInvalidPosition)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ConsistencyTimeout)
			err = s.deps.Consistency.WaitFor(ctx, pos)
			cancel()
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					err = errNotReached
				}
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeCommand answers a command with its body and the commit position of its events, the token the
// caller passes back to read its own writes.
func writeCommand(w http.ResponseWriter, status int, position uint64, body any) {
	w.Header().Set(PositionHeader, formatPosition(position))
	writeJSON(w, status, body)
}

func formatPosition(p uint64) string { return strconv.FormatUint(p, 10) }
