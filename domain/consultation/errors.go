package consultation

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of finance decisions, each with a stable code and, as message, the French sentence for the member or
// the operator.
var (
	// ErrConflictingRecord: a fact whose external id is already recorded with other data (facts are never
	// overwritten; a correction needs a new id).
	ErrConflictingRecord = failure.New(failure.Rule, "consultation.conflicting_record",
		"Un élément portant cet identifiant est déjà enregistré avec d'autres données.")
	// ErrUnknownFact: a value that is not a statement, a payment or an invoice was given to record.
	ErrUnknownFact = failure.New(failure.Invalid, "consultation.unknown_fact",
		"Ce type d'élément est inconnu : seuls les décomptes, paiements et factures sont acceptés.")
	// ErrExternalIDInvalid: an empty external id, over 64 characters, or with characters other than letters,
	// digits and . _ : -.
	ErrExternalIDInvalid = failure.New(failure.Invalid, "consultation.external_id_invalid",
		"L'identifiant est vide, trop long ou contient des caractères non autorisés.")
	// ErrAmountInvalid: an amount that is not positive (or beyond any plausible amount).
	ErrAmountInvalid = failure.New(failure.Invalid, "consultation.amount_invalid",
		"Le montant doit être positif.")
	// ErrNetAboveGross: a statement whose net amount exceeds its gross amount.
	ErrNetAboveGross = failure.New(failure.Invalid, "consultation.net_above_gross",
		"Le montant net ne peut pas dépasser le montant brut.")
	// ErrDateInvalid: a date that is not a calendar date YYYY-MM-DD.
	ErrDateInvalid = failure.New(failure.Invalid, "consultation.date_invalid",
		"La date est invalide : elle doit être au format AAAA-MM-JJ.")
	// ErrPeriodInvalid: a statement period that ends before it starts or lasts over a year, or a number of days
	// outside 1 to the period's length.
	ErrPeriodInvalid = failure.New(failure.Invalid, "consultation.period_invalid",
		"La période indemnisée est invalide : vérifiez ses dates et le nombre de jours.")
	// ErrPaymentKindInvalid: a payment kind outside Kinds.
	ErrPaymentKindInvalid = failure.New(failure.Invalid, "consultation.payment_kind_invalid",
		"La nature du paiement est inconnue.")
	// ErrLabelInvalid: an empty label, or one over 200 characters or holding control characters.
	ErrLabelInvalid = failure.New(failure.Invalid, "consultation.label_invalid",
		"Le libellé est vide ou trop long (200 caractères au plus).")
	// ErrInvoiceNotFound: no invoice of the member has this id.
	ErrInvoiceNotFound = failure.New(failure.NotFound, "consultation.invoice_not_found",
		"Cette facture est introuvable.")
	// ErrInvoiceAlreadyPaid: the invoice is paid already (by another payment than the one retried).
	ErrInvoiceAlreadyPaid = failure.New(failure.Rule, "consultation.invoice_already_paid",
		"Cette facture est déjà réglée.")
	// ErrPaymentMethodInvalid: a method outside PaymentMethods.
	ErrPaymentMethodInvalid = failure.New(failure.Invalid, "consultation.payment_method_invalid",
		"Choisissez un moyen de paiement : carte bancaire, prélèvement SEPA ou virement.")
	// ErrNotInsured: a fact about a NIR that names neither an online account nor a person of the insured-person
	// reference: it is not kept (such a person cannot open an account, so it could never be shown).
	ErrNotInsured = failure.New(failure.Rule, "consultation.not_insured",
		"Ce NIR ne correspond à aucun assuré connu de la caisse : l'élément n'est pas conservé.")
	// ErrYearInvalid: an attestation year before 2000 or after the current year.
	ErrYearInvalid = failure.New(failure.Invalid, "consultation.year_invalid",
		"L'année demandée est invalide : choisissez une année écoulée ou l'année en cours.")
)

var sentinels = []*failure.Error{
	ErrConflictingRecord, ErrUnknownFact, ErrExternalIDInvalid, ErrAmountInvalid, ErrNetAboveGross, ErrDateInvalid,
	ErrPeriodInvalid, ErrPaymentKindInvalid, ErrLabelInvalid, ErrInvoiceNotFound, ErrInvoiceAlreadyPaid,
	ErrPaymentMethodInvalid, ErrYearInvalid, ErrNotInsured,
}

// Errors returns every sentinel of the package, for the table of messages.
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}

// Messages returns the French sentence of every error of Errors, by stable code, for the HTTP layer's table.
func Messages() map[string]string {
	m := make(map[string]string, len(sentinels))
	for _, e := range sentinels {
		m[e.Code] = e.Err.Error()
	}
	return m
}
