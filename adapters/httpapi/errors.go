package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/staff"
)

// ErrorBody is every error response: a stable machine code and a French sentence for the member.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the input field the error is about, when there is one ("email", "address.postal_code").
	Field string `json:"field,omitempty"`
	// Fields lists every field in error when a whole form was checked at once.
	Fields []catalog.Problem `json:"fields,omitempty"`
}

// statusOf maps a failure kind to its HTTP status.
func statusOf(k failure.Kind) int {
	switch k {
	case failure.Invalid:
		return http.StatusUnprocessableEntity
	case failure.NotFound:
		return http.StatusNotFound
	case failure.Conflict:
		return http.StatusConflict
	case failure.Forbidden:
		return http.StatusForbidden
	case failure.Rule:
		return http.StatusUnprocessableEntity
	case failure.Unauthenticated:
		return http.StatusUnauthorized
	case failure.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// requestStatus are the codes about the request's form rather than its content.
var requestStatus = map[string]int{
	"request.malformed_json":          http.StatusBadRequest,
	"request.json_required":           http.StatusUnsupportedMediaType,
	"request.body_too_large":          http.StatusRequestEntityTooLarge,
	"request.invalid_id":              http.StatusBadRequest,
	"request.invalid_idempotency_key": http.StatusBadRequest,
	"request.invalid_if_match":        http.StatusBadRequest,
	"consistency.invalid_position":    http.StatusBadRequest,
	"request.invalid_utf8":            http.StatusBadRequest,
	"request.idempotency_key_reused":  http.StatusUnprocessableEntity,
	"request.header_too_large":        http.StatusRequestHeaderFieldsTooLarge,
}

// messageFor returns the French sentence of a code (domain/messages). A code without one is a bug that
// domain/messages' tests catch; should one slip through, it is logged and answered with its kind's sentence.
func (s *Server) messageFor(r *http.Request, code string, k failure.Kind) string {
	if m, ok := messages.FR(code); ok {
		return m
	}
	s.deps.Logger.ErrorContext(r.Context(), "no French message for an error code", "code", code, "route", r.Pattern)
	m, _ := messages.FR(k.String())
	return m
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with {code, message[, field]}. Unclassified errors are logged (never a request body) and
// answered with a generic 500: never a stack trace or an internal message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := failure.KindOf(err)
	code := failure.CodeOf(err)
	if kind == failure.Internal && errors.Is(err, context.DeadlineExceeded) && !errors.Is(r.Context().Err(), context.Canceled) {
		// Out of time (the request's own deadline, or a store or database call's): the server is busy or a
		// dependency slow, not broken; the client may try again.
		s.deps.Logger.WarnContext(r.Context(), "request timed out", "route", r.Pattern, "request_id", RequestID(r.Context()))
		kind, code = failure.Unavailable, failure.Unavailable.String()
	}
	if kind == failure.Internal {
		code = "internal"
		if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
			// The client left (or the server is shutting down): nobody reads this answer and nothing failed.
			s.deps.Logger.InfoContext(r.Context(), "request abandoned", "route", r.Pattern, "request_id", RequestID(r.Context()))
		} else {
			s.deps.Logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "request_id", RequestID(r.Context()), "err", err)
		}
	}
	if until, ok := retryAt(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(time.Until(until).Seconds())))))
	}
	if kind == failure.Unavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	status := statusOf(kind)
	if s, ok := requestStatus[code]; ok {
		status = s // the request itself is malformed, not its content
	}
	body := ErrorBody{Code: code, Message: s.messageFor(r, code, kind), Field: failure.FieldOf(err)}
	var fe catalog.FieldErrors
	if errors.As(err, &fe) {
		body.Fields = fe.Problems()
	}
	writeJSON(w, status, body)
}

// retryAt finds when a refused request may be tried again: an account lock or a resend cooldown.
func retryAt(err error) (time.Time, bool) {
	if t, ok := command.RetryAt(err); ok {
		return t, true
	}
	var locked *staff.LockedError
	if errors.As(err, &locked) {
		return locked.Until, true
	}
	return time.Time{}, false
}
