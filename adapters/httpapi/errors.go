package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
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

// messages holds the French sentence of the HTTP layer's own codes and of each kind. The domain's codes come
// with their sentences through Deps.Messages; a code without a sentence falls back to its kind's.
var messages = map[string]string{
	"invalid":                         "La demande est incomplète ou mal formée.",
	"not_found":                       "L'élément demandé est introuvable.",
	"conflict":                        "Cet élément a été modifié entre-temps. Rechargez la page puis recommencez.",
	"forbidden":                       "Vous n'avez pas accès à cet élément.",
	"rule":                            "Cette opération n'est pas possible dans la situation actuelle.",
	"unauthenticated":                 "Votre session a expiré ou vous n'êtes pas connecté. Merci de vous identifier.",
	"unavailable":                     "Le service est momentanément indisponible. Merci de réessayer dans quelques instants.",
	"internal":                        "Une erreur technique est survenue. Merci de réessayer plus tard.",
	"request.body_too_large":          "Le contenu envoyé est trop volumineux.",
	"request.malformed_json":          "Le contenu envoyé n'est pas un JSON valide ou contient des champs inconnus.",
	"request.json_required":           "Le contenu doit être envoyé au format JSON (Content-Type: application/json).",
	"request.invalid_id":              "L'identifiant indiqué dans l'adresse n'est pas valide.",
	"request.invalid_idempotency_key": "La clé d'idempotence doit être un UUID.",
	"request.invalid_if_match":        "L'en-tête If-Match doit reprendre l'ETag du dossier.",
	"request.method_not_allowed":      "Cette opération n'est pas permise sur cette adresse.",
	"request.route_not_found":         "Cette adresse n'existe pas.",
	"request.too_many":                "Trop de demandes en peu de temps. Merci de patienter avant de réessayer.",
	"consistency.not_reached":         "Vos dernières modifications sont encore en cours d'enregistrement. Merci de réessayer dans un instant.",
	"consistency.invalid_position":    "Le jeton de cohérence fourni est invalide.",
	"session.required":                "Vous devez être connecté pour accéder à cette page.",
	"session.invalid":                 "Votre session a expiré ou n'est plus valide. Merci de vous reconnecter.",
	"session.malformed_token":         "Votre session a expiré ou n'est plus valide. Merci de vous reconnecter.",
	"session.member_required":         "Cette page est réservée aux adhérents connectés.",
	"session.staff_required":          "Cette page est réservée aux agents de la caisse.",
	"staff.role_forbidden":            "Votre rôle ne vous permet pas d'effectuer cette opération.",
	"simulation.login_required":       "Connectez-vous à votre espace privé pour enregistrer cette estimation. Sans connexion, l'estimation reste disponible mais n'est pas conservée.",
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
}

// messageFor returns the French sentence for a code: the HTTP layer's own, then the domain's, then the kind's.
func (s *Server) messageFor(code string, k failure.Kind) string {
	if m, ok := messages[code]; ok {
		return m
	}
	if m, ok := s.deps.Messages[code]; ok {
		return m
	}
	return messages[k.String()]
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
	if kind == failure.Internal {
		code = "internal"
		s.deps.Logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "request_id", RequestID(r.Context()), "err", err)
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
	body := ErrorBody{Code: code, Message: s.messageFor(code, kind), Field: failure.FieldOf(err)}
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
