package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
)

var (
	errMalformedJSON  = failure.New(failure.Invalid, "request.malformed_json", "malformed JSON body")
	errJSONRequired   = failure.New(failure.Invalid, "request.json_required", "JSON body required")
	errBodyTooLarge   = failure.New(failure.Invalid, "request.body_too_large", "body too large")
	errInvalidID      = failure.New(failure.Invalid, "request.invalid_id", "invalid id in path")
	errIdempotencyKey = failure.New(failure.Invalid, "request.invalid_idempotency_key", "invalid Idempotency-Key")
)

// IdempotencyKeyHeader makes a retried command return the same result instead of acting twice.
const IdempotencyKeyHeader = "Idempotency-Key"

// decode reads a JSON body into v: Content-Type application/json, one object, no unknown fields. Requiring
// JSON also keeps cross-site HTML forms (which cannot send it) from riding on the session cookie.
func decode(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errJSONRequired
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return errMalformedJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return errMalformedJSON
	}
	return nil
}

// pathID parses a UUID path parameter.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, errInvalidID
	}
	return id, nil
}

// meta is the command metadata of a request: the caller, the request id as correlation id, and the
// Idempotency-Key (a UUID) as command id when the client sends one.
func meta(r *http.Request) (command.Meta, error) {
	corr, err := uuid.Parse(RequestID(r.Context()))
	if err != nil {
		corr = uuid.New()
	}
	m := command.Meta{Actor: actorOf(r), CorrelationID: corr, CommandID: uuid.New()}
	if k := r.Header.Get(IdempotencyKeyHeader); k != "" {
		id, err := uuid.Parse(k)
		if err != nil {
			return m, errIdempotencyKey
		}
		m.CommandID = id
	}
	return m, nil
}

// positionBody is the body of a command that only reports where its events are.
type positionBody struct {
	Position string `json:"position"`
}

func positionOf(p uint64) positionBody { return positionBody{Position: formatPosition(p)} }
