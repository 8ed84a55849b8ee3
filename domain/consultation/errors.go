package consultation

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of finance decisions, each with a stable code; domain/messages holds the French sentence for the
// member or the operator.
var (
	// ErrConflictingRecord: a fact whose external id is already recorded with other data (facts are never
	// overwritten; a correction needs a new id).
	ErrConflictingRecord = failure.New(failure.Rule, "consultation.conflicting_record",
		"a record with this id already holds other data")
	// ErrUnknownFact: a value that is not a statement, a payment or an invoice was given to record.
	ErrUnknownFact = failure.New(failure.Invalid, "consultation.unknown_fact",
		"unknown fact kind (want statement, payment or invoice)")
	// ErrExternalIDInvalid: an empty external id, over 64 characters, or with characters other than letters,
	// digits and . _ : -.
	ErrExternalIDInvalid = failure.New(failure.Invalid, "consultation.external_id_invalid",
		"external id empty, too long or with forbidden characters")
	// ErrAmountInvalid: an amount that is not positive (or beyond any plausible amount).
	ErrAmountInvalid = failure.New(failure.Invalid, "consultation.amount_invalid", "amount not positive")
	// ErrNetAboveGross: a statement whose net amount exceeds its gross amount.
	ErrNetAboveGross = failure.New(failure.Invalid, "consultation.net_above_gross", "net amount above gross amount")
	// ErrDateInvalid: a date that is not a calendar date YYYY-MM-DD.
	ErrDateInvalid = failure.New(failure.Invalid, "consultation.date_invalid", "invalid date (want YYYY-MM-DD)")
	// ErrPeriodInvalid: a statement period that ends before it starts or lasts over a year, or a number of days
	// outside 1 to the period's length.
	ErrPeriodInvalid = failure.New(failure.Invalid, "consultation.period_invalid",
		"invalid compensated period or number of days")
	// ErrPaymentKindInvalid: a payment kind outside Kinds.
	ErrPaymentKindInvalid = failure.New(failure.Invalid, "consultation.payment_kind_invalid", "unknown payment kind")
	// ErrLabelInvalid: an empty label, or one over 200 characters or holding control characters.
	ErrLabelInvalid = failure.New(failure.Invalid, "consultation.label_invalid",
		"label empty, too long or with control characters")
	// ErrInvoiceNotFound: no invoice of the member has this id.
	ErrInvoiceNotFound = failure.New(failure.NotFound, "consultation.invoice_not_found", "invoice not found")
	// ErrInvoiceAlreadyPaid: the invoice is paid already (by another payment than the one retried).
	ErrInvoiceAlreadyPaid = failure.New(failure.Rule, "consultation.invoice_already_paid", "invoice already paid")
	// ErrPaymentMethodInvalid: a method outside PaymentMethods.
	ErrPaymentMethodInvalid = failure.New(failure.Invalid, "consultation.payment_method_invalid",
		"unknown payment method")
	// ErrNotInsured: a fact about a NIR that names neither an online account nor a person of the insured-person
	// reference: it is not kept (such a person cannot open an account, so it could never be shown).
	ErrNotInsured = failure.New(failure.Rule, "consultation.not_insured",
		"NIR of no known insured person: fact not kept")
	// ErrYearInvalid: an attestation year before 2000 or after the current year.
	ErrYearInvalid = failure.New(failure.Invalid, "consultation.year_invalid", "attestation year out of range")
)

var sentinels = []*failure.Error{
	ErrConflictingRecord, ErrUnknownFact, ErrExternalIDInvalid, ErrAmountInvalid, ErrNetAboveGross, ErrDateInvalid,
	ErrPeriodInvalid, ErrPaymentKindInvalid, ErrLabelInvalid, ErrInvoiceNotFound, ErrInvoiceAlreadyPaid,
	ErrPaymentMethodInvalid, ErrYearInvalid, ErrNotInsured,
}

// Errors returns every sentinel of the package.
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}
