package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrorBody is every error response: a stable machine code and a French sentence for the member.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps a failure kind to its HTTP status.
func statusOf(k failure.Kind) int {
	switch k {
	case failure.Invalid:
		return http.StatusBadRequest
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

// messages holds the French sentence for each stable code. Codes without a sentence of their own fall back
// to their kind's sentence.
var messages = map[string]string{
	"invalid":                      "La demande est incomplète ou mal formée.",
	"not_found":                    "L'élément demandé est introuvable.",
	"conflict":                     "Cet élément a été modifié entre-temps. Rechargez la page puis recommencez.",
	"forbidden":                    "Vous n'avez pas accès à cet élément.",
	"rule":                         "Cette opération n'est pas possible dans la situation actuelle.",
	"unauthenticated":              "Votre session a expiré ou vous n'êtes pas connecté. Merci de vous identifier.",
	"unavailable":                  "Le service est momentanément indisponible. Merci de réessayer dans quelques instants.",
	"internal":                     "Une erreur technique est survenue. Merci de réessayer plus tard.",
	"request.body_too_large":       "Le contenu envoyé est trop volumineux.",
	"request.malformed_json":       "Le contenu envoyé n'est pas un JSON valide.",
	"request.method_not_allowed":   "Cette opération n'est pas permise sur cette adresse.",
	"request.route_not_found":      "Cette adresse n'existe pas.",
	"consistency.not_reached":      "Vos dernières modifications sont encore en cours d'enregistrement. Merci de réessayer dans un instant.",
	"consistency.invalid_position": "Le jeton de cohérence fourni est invalide.",
}

// messageFor returns the French sentence for a code, or its kind's sentence.
func messageFor(code string, k failure.Kind) string {
	if m, ok := messages[code]; ok {
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

// writeError answers with {code, message}. Unclassified errors are logged (without request body) and
// answered with a generic 500: never a stack trace or an internal message.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	kind := failure.KindOf(err)
	code := failure.CodeOf(err)
	if kind == failure.Internal {
		code = "internal"
		logger.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "request_id", RequestID(r.Context()), "err", err)
	}
	if errors.Is(err, failure.Unavailable) {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, statusOf(kind), ErrorBody{Code: code, Message: messageFor(code, kind)})
}
