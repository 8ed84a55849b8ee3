package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
	errInvalidUTF8    = failure.New(failure.Invalid, "request.invalid_utf8", "body is not valid UTF-8")
	errInvalidValue   = failure.New(failure.Invalid, "request.invalid_value", "a field's value is out of range")
)

// IdempotencyKeyHeader makes a retried command return the same result instead of acting twice.
const IdempotencyKeyHeader = "Idempotency-Key"

// decode reads a JSON body into v: Content-Type application/json, one object, no unknown fields. Requiring
// JSON also keeps cross-site HTML forms (which cannot send it) from riding on the session cookie. A body that is
// not valid UTF-8, or whose strings escape a lone surrogate (\ud800), is refused before decoding (RFC 8259 §8.1,
// §8.2): encoding/json would replace those with U+FFFD, and what a member files is never altered.
func decode(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errJSONRequired
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return errMalformedJSON
	}
	if !validText(body) {
		return errInvalidUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) {
			// A string where a date-time goes that is no instant (year 99999, month 13): the JSON is well formed and
			// the value is refused, naming its field.
			return failure.Field(fieldOfBadTime(body, v), errInvalidValue)
		}
		return errMalformedJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return errMalformedJSON
	}
	return nil
}

// fieldOfBadTime returns the JSON name of the top-level field of body (decoded into v, a pointer to a struct) whose
// value is no valid date-time, or "" when none can be told.
func fieldOfBadTime(body []byte, v any) string {
	var raw map[string]json.RawMessage
	t := reflect.TypeOf(v)
	if json.Unmarshal(body, &raw) != nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return ""
	}
	for _, p := range structProps(t.Elem(), map[string]any{}, 0) {
		value, ok := raw[p.name]
		if !ok {
			continue
		}
		f, found := fieldByJSONName(t.Elem(), p.name)
		if !found {
			continue
		}
		var pe *time.ParseError
		if err := json.Unmarshal(value, reflect.New(f.Type).Interface()); errors.As(err, &pe) {
			return p.name
		}
	}
	return ""
}

// fieldByJSONName finds the field of struct t (embedded ones included) that encoding/json names name.
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	return t.FieldByNameFunc(func(n string) bool {
		f, _ := t.FieldByName(n)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return tag == name || (tag == "" && strings.EqualFold(n, name))
	})
}

// validText reports whether a JSON text is valid UTF-8 and none of its \u escapes is a lone surrogate half, the two
// things a decoder would silently replace. Syntax is the decoder's business: this only follows strings and escapes.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	inString := false
	pendingHigh := false // the previous escape was a high surrogate: a low one must follow at once
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		if c == '"' {
			if pendingHigh {
				return false
			}
			inString = false
			continue
		}
		if c != '\\' || i+1 >= len(b) {
			if pendingHigh {
				return false
			}
			continue
		}
		i++
		if b[i] != 'u' {
			if pendingHigh {
				return false
			}
			continue
		}
		if i+4 >= len(b) {
			return true // truncated: the decoder refuses it
		}
		var r rune
		for _, h := range b[i+1 : i+5] {
			r <<= 4
			switch {
			case h >= '0' && h <= '9':
				r |= rune(h - '0')
			case h >= 'a' && h <= 'f':
				r |= rune(h - 'a' + 10)
			case h >= 'A' && h <= 'F':
				r |= rune(h - 'A' + 10)
			default:
				return true // malformed escape: the decoder refuses it
			}
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF: // a low half must close a high one
			if !pendingHigh {
				return false
			}
			pendingHigh = false
		case utf16.IsSurrogate(r): // a high half
			if pendingHigh {
				return false
			}
			pendingHigh = true
		default:
			if pendingHigh {
				return false
			}
		}
	}
	return true
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
// Idempotency-Key (a UUID) as command id when the client sends one, with the request's fingerprint (fingerprinted).
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
		m.RequestHash, _ = r.Context().Value(requestHashKey{}).(string)
	}
	return m, nil
}

type requestHashKey struct{}

// idempotencyKeyChecked refuses a malformed Idempotency-Key (400 request.invalid_idempotency_key) before the
// handler reads or validates anything, so that the answer does not depend on the body.
func (s *Server) idempotencyKeyChecked(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get(IdempotencyKeyHeader); k != "" {
			if _, err := uuid.Parse(k); err != nil {
				s.writeError(w, r, errIdempotencyKey)
				return
			}
		}
		next(w, r)
	}
}

// fingerprinted gives a request sent with an Idempotency-Key its fingerprint, which meta puts in the command's
// metadata (command.Meta.RequestHash): the event store finds a retried command by its id (derived from the key)
// and, before answering with the first result, compares the fingerprints, so the same key with another body, path
// or route is refused with 422 request.idempotency_key_reused (event.ErrRequestReused) instead of being answered
// as if it were the first request. The fingerprint is stored with the command's own events, in the same append:
// nothing else to keep, prune or share between replicas, and a request refused before anything was recorded (a
// validation error) leaves the key free for the corrected request.
//
// It is an HMAC-SHA256, truncated to 128 bits, keyed by the Idempotency-Key, of the route pattern, the escaped path
// and the canonical JSON body (decoded and encoded again: spacing and key order do not count). The key is the
// client's random UUID, which the log never holds (command ids are one-way derivations of it), so nobody reading
// the log can try candidate bodies (a phone number) against it, before or after the member's data is erased. The
// body is read once, within the body limit, and given back to the handler unchanged.
func (s *Server) fingerprinted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := uuid.Parse(r.Header.Get(IdempotencyKeyHeader))
		if err != nil {
			next.ServeHTTP(w, r) // no key, or meta refuses it
			return
		}
		body, readErr := io.ReadAll(r.Body)
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{readErr}))
		mac := hmac.New(sha256.New, key[:])
		for _, part := range [][]byte{[]byte(r.Pattern), []byte(r.URL.EscapedPath()), canonicalJSON(body)} {
			mac.Write(part)
			mac.Write([]byte{0})
		}
		sum := hex.EncodeToString(mac.Sum(nil)[:16])
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestHashKey{}, sum)))
	})
}

// canonicalJSON returns a JSON body decoded and encoded again (object keys sorted, no spacing, numbers as
// written), or the body itself when it is not JSON.
func canonicalJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	if _, err := dec.Token(); err != io.EOF {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// errReader ends a body read in advance with the error the first read met (nil: io.EOF).
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// positionBody is the body of a command that only reports where its events are.
type positionBody struct {
	Position string `json:"position"`
}

func positionOf(p uint64) positionBody { return positionBody{Position: formatPosition(p)} }
