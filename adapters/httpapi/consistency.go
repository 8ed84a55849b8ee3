package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

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
	errUnreachable     = failure.New(failure.Invalid, "consistency.position_unreachable", "consistency position beyond the end of the event log")
)

// consistent makes a read wait until the read models reflect the position the caller passes back, at most
// ConsistencyTimeout; past it the caller gets 503 with Retry-After and may retry the same read. A position beyond the
// end of the event log (Deps.Head) was never given by a command: it is refused at once with 422
// consistency.position_unreachable, since no retry would ever see it reached.
//
// reads names the projections the route's handler queries: the wait is for them only (none: every read model).
func (s *Server) consistent(next http.Handler, reads ...string) http.Handler {
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
			if !s.withinLog(r.Context(), pos) {
				s.writeError(w, r, errUnreachable)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ConsistencyTimeout)
			start := time.Now()
			err = s.deps.Consistency.WaitFor(ctx, pos, reads...)
			s.metrics.waited.WithLabelValues(r.Pattern).Observe(time.Since(start).Seconds())
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

// withinLog reports whether pos is at or before the end of the event log. Positions up to the highest end already
// seen need no look-up (every position a command returned is); when the head cannot be read, the read waits as
// it would without Deps.Head.
func (s *Server) withinLog(ctx context.Context, pos uint64) bool {
	if s.deps.Head == nil || pos <= s.knownHead.Load() {
		return true
	}
	head, err := s.deps.Head.Head(ctx)
	if err != nil {
		s.deps.Logger.WarnContext(ctx, "cannot read the end of the event log", "err", err)
		return true
	}
	s.sawPosition(head)
	return pos <= head
}

// writeCommand answers a command with its body and the commit position of its events, the token the
// caller passes back to read its own writes.
func (s *Server) writeCommand(w http.ResponseWriter, status int, position uint64, body any) {
	if position != 0 { // 0: nothing recorded (or nothing to tell), no position to wait for
		s.sawPosition(position)
		w.Header().Set(PositionHeader, formatPosition(position))
	}
	writeJSON(w, status, body)
}

// sawPosition notes that the event log reaches position at least (a command's commit): a read that passes it back
// then needs no look-up of the log's end (withinLog).
func (s *Server) sawPosition(position uint64) {
	for {
		known := s.knownHead.Load()
		if position <= known || s.knownHead.CompareAndSwap(known, position) {
			return
		}
	}
}

func formatPosition(p uint64) string { return strconv.FormatUint(p, 10) }
