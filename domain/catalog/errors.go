package catalog

import (
	"strings"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

// The errors of the catalogue. Each has a stable code; its French sentence is in domain/messages.
//
// ErrUnknownService is failure.Invalid, not NotFound: the service code arrives in the body of a request
// (POST /v1/requests, the acknowledgement builder, a decision) and names a choice the client should have taken from
// GET /v1/catalog. Retrying the same body cannot succeed, and nothing at the URL is missing, so 422 (Invalid)
// describes it better than 404 (NotFound), which the HTTP layer keeps for routes and resources named by the path.
var (
	// ErrUnknownService is a service code that the catalogue version does not list.
	ErrUnknownService = failure.New(failure.Invalid, "catalog.unknown_service", "no such service in the catalogue")
	// ErrNotARequest is a form sent to a service that does not open a case (a consultation, a simulation, a page
	// of information).
	ErrNotARequest = failure.New(failure.Invalid, "catalog.not_a_request", "service does not take requests")
	// ErrUnknownVersion is a catalogue version that was never published.
	ErrUnknownVersion = failure.New(failure.NotFound, "catalog.unknown_version", "unknown catalogue version")
	// ErrFormInvalid heads every FieldErrors: the form has at least one field in error.
	ErrFormInvalid = failure.New(failure.Invalid, "request.form_invalid", "form has fields in error")
)

// The errors about one field of a form, each returned wrapped with failure.Field inside a FieldErrors.
var (
	ErrRequired       = failure.New(failure.Invalid, "form.required", "field required")
	ErrUnknownField   = failure.New(failure.Invalid, "form.unknown_field", "field not in the service's form")
	ErrInvalidText    = failure.New(failure.Invalid, "form.invalid_text", "text with control characters")
	ErrTooLong        = failure.New(failure.Invalid, "form.too_long", "text too long")
	ErrInvalidFormat  = failure.New(failure.Invalid, "form.invalid_format", "value does not match the expected format")
	ErrInvalidDate    = failure.New(failure.Invalid, "form.invalid_date", "invalid date (want YYYY-MM-DD)")
	ErrDateOutOfRange = failure.New(failure.Invalid, "form.date_out_of_range", "date outside the accepted period")
	ErrInvalidAmount  = failure.New(failure.Invalid, "form.invalid_amount",
		"invalid amount (want an integer number of cents)")
	ErrInvalidInteger = failure.New(failure.Invalid, "form.invalid_integer", "invalid integer")
	ErrBelowMinimum   = failure.New(failure.Invalid, "form.below_minimum", "value below the minimum")
	ErrAboveMaximum   = failure.New(failure.Invalid, "form.above_maximum", "value above the maximum")
	ErrNotInChoices   = failure.New(failure.Invalid, "form.not_in_choices", "value not among the choices")
	ErrInvalidBoolean = failure.New(failure.Invalid, "form.invalid_boolean", "invalid boolean")
	ErrMustBeTrue     = failure.New(failure.Invalid, "form.must_be_true", "box must be checked")
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

// Problems returns each field in error with its code and French message (domain/messages).
func (e FieldErrors) Problems() []Problem {
	out := make([]Problem, 0, len(e))
	for _, err := range e {
		p := Problem{Field: failure.FieldOf(err), Code: failure.CodeOf(err)}
		p.Message, _ = messages.FR(p.Code)
		out = append(out, p)
	}
	return out
}
