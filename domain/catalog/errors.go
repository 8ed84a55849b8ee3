package catalog

import (
	"errors"
	"strings"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of the catalogue. Each has a stable code and, as its message, the French sentence for the member.
//
// ErrUnknownService is failure.Invalid, not NotFound: the service code arrives in the body of a request
// (POST /v1/requests, the acknowledgement builder, a decision) and names a choice the client should have taken from
// GET /v1/catalog. Retrying the same body cannot succeed, and nothing at the URL is missing, so 422 (Invalid)
// describes it better than 404 (NotFound), which the HTTP layer keeps for routes and resources named by the path.
var (
	// ErrUnknownService is a service code that the catalogue version does not list.
	ErrUnknownService = failure.New(failure.Invalid, "catalog.unknown_service",
		"Ce service n'existe pas dans le catalogue des services en ligne.")
	// ErrNotARequest is a form sent to a service that does not open a case (a consultation, a simulation, a page
	// of information).
	ErrNotARequest = failure.New(failure.Invalid, "catalog.not_a_request",
		"Ce service ne permet pas de déposer une demande en ligne.")
	// ErrUnknownVersion is a catalogue version that was never published.
	ErrUnknownVersion = failure.New(failure.NotFound, "catalog.unknown_version",
		"Cette version du catalogue des services est inconnue.")
	// ErrFormInvalid heads every FieldErrors: the form has at least one field in error.
	ErrFormInvalid = failure.New(failure.Invalid, "request.form_invalid",
		"Le formulaire comporte des erreurs. Corrigez les champs signalés puis validez à nouveau.")
)

// The errors about one field of a form, each returned wrapped with failure.Field inside a FieldErrors.
var (
	ErrRequired     = failure.New(failure.Invalid, "form.required", "Ce champ est obligatoire.")
	ErrUnknownField = failure.New(failure.Invalid, "form.unknown_field",
		"Ce champ ne fait pas partie du formulaire de ce service.")
	ErrInvalidText = failure.New(failure.Invalid, "form.invalid_text",
		"Saisissez un texte, sans caractère de contrôle.")
	ErrTooLong       = failure.New(failure.Invalid, "form.too_long", "Le texte saisi est trop long.")
	ErrInvalidFormat = failure.New(failure.Invalid, "form.invalid_format",
		"La valeur saisie n'a pas le format attendu.")
	ErrInvalidDate = failure.New(failure.Invalid, "form.invalid_date",
		"Saisissez une date valide sous la forme AAAA-MM-JJ (par exemple 2026-03-15).")
	ErrDateOutOfRange = failure.New(failure.Invalid, "form.date_out_of_range",
		"Cette date est en dehors de la période acceptée pour ce champ.")
	ErrInvalidAmount = failure.New(failure.Invalid, "form.invalid_amount",
		"Saisissez un montant en centimes d'euro, sous la forme d'un nombre entier.")
	ErrInvalidInteger = failure.New(failure.Invalid, "form.invalid_integer", "Saisissez un nombre entier.")
	ErrBelowMinimum   = failure.New(failure.Invalid, "form.below_minimum",
		"La valeur saisie est inférieure au minimum accepté.")
	ErrAboveMaximum = failure.New(failure.Invalid, "form.above_maximum",
		"La valeur saisie est supérieure au maximum accepté.")
	ErrNotInChoices = failure.New(failure.Invalid, "form.not_in_choices",
		"Choisissez l'une des réponses proposées.")
	ErrInvalidBoolean = failure.New(failure.Invalid, "form.invalid_boolean", "Répondez par oui ou par non.")
	ErrMustBeTrue     = failure.New(failure.Invalid, "form.must_be_true",
		"Vous devez cocher cette case pour envoyer votre demande.")
)

var sentinels = []*failure.Error{
	ErrUnknownService, ErrNotARequest, ErrUnknownVersion, ErrFormInvalid,
	ErrRequired, ErrUnknownField, ErrInvalidText, ErrTooLong, ErrInvalidFormat, ErrInvalidDate, ErrDateOutOfRange,
	ErrInvalidAmount, ErrInvalidInteger, ErrBelowMinimum, ErrAboveMaximum, ErrNotInChoices, ErrInvalidBoolean,
	ErrMustBeTrue,
}

// Errors returns every error of the package (for documentation and API error catalogues).
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}

// Messages returns the French sentence of every error of the package, by stable code, for the HTTP layer's table.
func Messages() map[string]string {
	m := make(map[string]string, len(sentinels))
	for _, e := range sentinels {
		m[e.Code] = e.Err.Error()
	}
	return m
}

// FieldErrors is every problem found in a form, one failure.Field error per field in error (at most one per
// field), in the order of the form's fields, then unknown fields by name. It is failure.Invalid with the code
// request.form_invalid: its Unwrap puts ErrFormInvalid first, so failure.CodeOf and failure.KindOf see that code,
// while errors.Is still finds each field's sentinel (ErrRequired, …) and failure.FieldOf the first field. Match it
// with errors.As(err, &fe) where fe is a FieldErrors.
type FieldErrors []error

// Error lists the fields in error and their codes (no values: a form may hold personal data).
func (e FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString(ErrFormInvalid.Code)
	for i, p := range e.Problems() {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(p.Field + " " + p.Code)
	}
	return b.String()
}

// Unwrap returns ErrFormInvalid followed by the field errors.
func (e FieldErrors) Unwrap() []error {
	return append([]error{ErrFormInvalid}, e...)
}

// Problem is one field in error, as the HTTP layer shows it next to the field.
type Problem struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Problems returns each field in error with its code and French message.
func (e FieldErrors) Problems() []Problem {
	out := make([]Problem, 0, len(e))
	for _, err := range e {
		p := Problem{Field: failure.FieldOf(err), Code: failure.CodeOf(err)}
		var fe *failure.Error
		if errors.As(err, &fe) && fe.Err != nil {
			p.Message = fe.Err.Error()
		}
		out = append(out, p)
	}
	return out
}
