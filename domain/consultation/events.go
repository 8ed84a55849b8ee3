// Package consultation is the member's financial history as the fund's other systems report it: daily-allowance
// statements (décomptes d'indemnités journalières), payments of benefits, invoices of contributions and their
// settlement, and the payment attestations the member asks for.
//
// Every fact lives on the stream "memberfinance-<member id>". Statements, payments and invoices come from elsewhere
// (an integration topic, or `dossier admin import-finance`): recording one is idempotent by its external id — the
// same id with the same data records nothing, the same id with other data is ErrConflictingRecord. Paying an
// invoice and issuing an attestation are the member's own commands.
package consultation

import (
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

// Category is the stream category of a member's finance history: "memberfinance-<member id>".
const Category = "memberfinance"

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeStatementRecorded = "DailyAllowanceStatementRecorded"
	TypePaymentRecorded   = "MemberPaymentRecorded"
	TypeInvoiceIssued     = "MemberInvoiceIssued"
	TypeInvoicePaid       = "MemberInvoicePaid"
	TypeAttestationIssued = "PaymentAttestationIssued"
)

// Limits of the recorded facts.
const (
	dateLayout             = "2006-01-02"
	maxExternalIDLength    = 64
	maxLabelLength         = 200
	maxAmountCents         = 100_000_000_00 // 100 million euros: beyond, a unit mistake
	maxStatementPeriodDays = 366
	firstAttestationYear   = 2000
)

// DailyAllowanceStatementRecorded is a daily-allowance statement (décompte d'indemnités journalières): Days days of
// allowance for the period, paid on PaidOn. Dates are calendar dates "YYYY-MM-DD"; amounts in euro cents.
type DailyAllowanceStatementRecorded struct {
	StatementID string `json:"statement_id" personal:"no"` // the paying system's id
	PeriodStart string `json:"period_start" personal:"no"`
	PeriodEnd   string `json:"period_end" personal:"no"`
	Days        int    `json:"days" personal:"no"`
	GrossCents  int64  `json:"gross_cents" personal:"no"`
	NetCents    int64  `json:"net_cents" personal:"no"`
	PaidOn      string `json:"paid_on" personal:"no"`
}

// PaymentRecorded is a benefit paid to the member (Kind: one of Kinds), on PaidOn.
type PaymentRecorded struct {
	PaymentID   string `json:"payment_id" personal:"no"` // the paying system's id
	Kind        string `json:"kind" personal:"no"`
	AmountCents int64  `json:"amount_cents" personal:"no"`
	PaidOn      string `json:"paid_on" personal:"no"`
	Label       string `json:"label" personal:"no"`
}

// InvoiceIssued is an invoice (contributions, fees) the member owes, due on DueOn.
type InvoiceIssued struct {
	InvoiceID   string `json:"invoice_id" personal:"no"` // the billing system's id
	Label       string `json:"label" personal:"no"`
	AmountCents int64  `json:"amount_cents" personal:"no"`
	DueOn       string `json:"due_on" personal:"no"`
}

// InvoicePaid is the member's settlement of an invoice, for its whole amount, with Method (one of PaymentMethods).
type InvoicePaid struct {
	InvoiceID   string    `json:"invoice_id" personal:"no"`
	AmountCents int64     `json:"amount_cents" personal:"no"`
	PaidAt      time.Time `json:"paid_at" personal:"no"`
	Method      string    `json:"method" personal:"no"`
}

// PaymentAttestationIssued records that the member asked for an attestation of the payments of Year; Kinds are the
// kinds of payment it covers (those paid that year, sorted; empty: an attestation that nothing was paid). The
// document itself is produced later, from this fact.
type PaymentAttestationIssued struct {
	AttestationID uuid.UUID `json:"attestation_id" personal:"no"`
	Year          int       `json:"year" personal:"no"`
	Kinds         []string  `json:"kinds" personal:"no"`
}

// Definitions lists the events of the package, for the registry main builds: the member's finance history and the
// parked facts (see ParkedCategory).
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[DailyAllowanceStatementRecorded](TypeStatementRecorded),
		event.Define[PaymentRecorded](TypePaymentRecorded),
		event.Define[InvoiceIssued](TypeInvoiceIssued),
		event.Define[InvoicePaid](TypeInvoicePaid),
		event.Define[PaymentAttestationIssued](TypeAttestationIssued),
		event.Define[FactParked](TypeFactParked),
		event.Define[ParkedFactsDelivered](TypeParkedFactsDelivered),
	}
}

// Payment kinds (PaymentRecorded.Kind).
const (
	KindFamilyBenefits    = "family_benefits"
	KindHousingAid        = "housing_aid"
	KindRSA               = "rsa"
	KindActivityBonus     = "activity_bonus"
	KindDailyAllowance    = "daily_allowance"
	KindDisabilityPension = "disability_pension"
	KindRetirementPension = "retirement_pension"
	KindOther             = "other"
)

// Kinds returns every payment kind.
func Kinds() []string {
	return []string{KindFamilyBenefits, KindHousingAid, KindRSA, KindActivityBonus, KindDailyAllowance,
		KindDisabilityPension, KindRetirementPension, KindOther}
}

// Invoice payment methods (InvoicePaid.Method).
const (
	MethodCard      = "card"
	MethodSEPADebit = "sepa_debit"
	MethodTransfer  = "transfer"
)

// PaymentMethods returns every accepted invoice payment method.
func PaymentMethods() []string { return []string{MethodCard, MethodSEPADebit, MethodTransfer} }
