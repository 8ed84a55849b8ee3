package consultation

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Fact kinds, as the integration messages and the import file name them.
const (
	FactStatement = "statement"
	FactPayment   = "payment"
	FactInvoice   = "invoice"
)

// FactKey returns the kind of an external fact (FactStatement, FactPayment, FactInvoice) and its external id; any
// other value is ErrUnknownFact.
func FactKey(fact any) (kind, externalID string, err error) {
	switch f := fact.(type) {
	case DailyAllowanceStatementRecorded:
		return FactStatement, f.StatementID, nil
	case PaymentRecorded:
		return FactPayment, f.PaymentID, nil
	case InvoiceIssued:
		return FactInvoice, f.InvoiceID, nil
	}
	return "", "", ErrUnknownFact
}

// Normalize validates an external fact and returns it as it is recorded (labels trimmed, runs of spaces
// collapsed). Errors are failure.Field-wrapped sentinels naming the field (JSON name).
func Normalize(fact any) (any, error) {
	switch f := fact.(type) {
	case DailyAllowanceStatementRecorded:
		if err := checkID("statement_id", f.StatementID); err != nil {
			return nil, err
		}
		start, err := parseDate("period_start", f.PeriodStart)
		if err != nil {
			return nil, err
		}
		end, err := parseDate("period_end", f.PeriodEnd)
		if err != nil {
			return nil, err
		}
		length := int(end.Sub(start).Hours()/24) + 1
		if length < 1 || length > maxStatementPeriodDays {
			return nil, failure.Field("period_end", ErrPeriodInvalid)
		}
		if f.Days < 1 || f.Days > length {
			return nil, failure.Field("days", ErrPeriodInvalid)
		}
		if err := checkAmount("gross_cents", f.GrossCents); err != nil {
			return nil, err
		}
		if err := checkAmount("net_cents", f.NetCents); err != nil {
			return nil, err
		}
		if f.NetCents > f.GrossCents {
			return nil, failure.Field("net_cents", ErrNetAboveGross)
		}
		if _, err := parseDate("paid_on", f.PaidOn); err != nil {
			return nil, err
		}
		return f, nil
	case PaymentRecorded:
		if err := checkID("payment_id", f.PaymentID); err != nil {
			return nil, err
		}
		if !slices.Contains(Kinds(), f.Kind) {
			return nil, failure.Field("kind", ErrPaymentKindInvalid)
		}
		if err := checkAmount("amount_cents", f.AmountCents); err != nil {
			return nil, err
		}
		if _, err := parseDate("paid_on", f.PaidOn); err != nil {
			return nil, err
		}
		label, err := cleanLabel(f.Label)
		if err != nil {
			return nil, err
		}
		f.Label = label
		return f, nil
	case InvoiceIssued:
		if err := checkID("invoice_id", f.InvoiceID); err != nil {
			return nil, err
		}
		label, err := cleanLabel(f.Label)
		if err != nil {
			return nil, err
		}
		f.Label = label
		if err := checkAmount("amount_cents", f.AmountCents); err != nil {
			return nil, err
		}
		if _, err := parseDate("due_on", f.DueOn); err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, ErrUnknownFact
}

// ParseDate reads a calendar date "YYYY-MM-DD" (strictly: no other form is accepted), at midnight UTC.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, s)
	if err != nil || d.Format(dateLayout) != s {
		return time.Time{}, ErrDateInvalid
	}
	return d, nil
}

func parseDate(field, s string) (time.Time, error) {
	d, err := ParseDate(s)
	return d, failure.Field(field, err)
}

func checkID(field, id string) error {
	if id == "" || len(id) > maxExternalIDLength {
		return failure.Field(field, ErrExternalIDInvalid)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:-", c) >= 0) {
			return failure.Field(field, ErrExternalIDInvalid)
		}
	}
	return nil
}

func checkAmount(field string, cents int64) error {
	if cents <= 0 || cents > maxAmountCents {
		return failure.Field(field, ErrAmountInvalid)
	}
	return nil
}

func cleanLabel(s string) (string, error) {
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", failure.Field("label", ErrLabelInvalid)
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || utf8.RuneCountInString(s) > maxLabelLength {
		return "", failure.Field("label", ErrLabelInvalid)
	}
	return s, nil
}

// Finance is the state of a member's finance stream: the facts recorded by external id, which invoices are paid,
// the attestations issued. Decisions validate, then record; apply only mutates.
type Finance struct {
	statements   map[string]DailyAllowanceStatementRecorded
	payments     map[string]PaymentRecorded
	invoices     map[string]InvoiceIssued
	paid         map[string]InvoicePaid
	attestations map[uuid.UUID]PaymentAttestationIssued
	pending      []any
}

// Rehydrate folds a memberfinance stream's history.
func Rehydrate(history []event.Envelope) *Finance {
	f := &Finance{
		statements: map[string]DailyAllowanceStatementRecorded{}, payments: map[string]PaymentRecorded{},
		invoices: map[string]InvoiceIssued{}, paid: map[string]InvoicePaid{},
		attestations: map[uuid.UUID]PaymentAttestationIssued{},
	}
	for _, env := range history {
		f.apply(env.Event)
	}
	return f
}

func (f *Finance) apply(e any) {
	switch e := e.(type) {
	case DailyAllowanceStatementRecorded:
		f.statements[e.StatementID] = e
	case PaymentRecorded:
		f.payments[e.PaymentID] = e
	case InvoiceIssued:
		f.invoices[e.InvoiceID] = e
	case InvoicePaid:
		f.paid[e.InvoiceID] = e
	case PaymentAttestationIssued:
		f.attestations[e.AttestationID] = e
	}
}

func (f *Finance) record(e any) {
	f.apply(e)
	f.pending = append(f.pending, e)
}

// Events returns the events the decisions recorded, to append.
func (f *Finance) Events() []any { return f.pending }

// Record records an external fact (a DailyAllowanceStatementRecorded, PaymentRecorded or InvoiceIssued) after
// Normalize. The same external id with the same data records nothing (a redelivered message, a file imported
// again) and reports recorded false; with other data it is ErrConflictingRecord.
func (f *Finance) Record(fact any) (recorded bool, err error) {
	fact, err = Normalize(fact)
	if err != nil {
		return false, err
	}
	var (
		prev   any
		exists bool
	)
	switch v := fact.(type) {
	case DailyAllowanceStatementRecorded:
		prev, exists = f.statements[v.StatementID]
	case PaymentRecorded:
		prev, exists = f.payments[v.PaymentID]
	case InvoiceIssued:
		prev, exists = f.invoices[v.InvoiceID]
	}
	if exists {
		if prev != fact {
			return false, ErrConflictingRecord
		}
		return false, nil
	}
	f.record(fact)
	return true, nil
}

// Invoice returns an invoice and whether it is paid.
func (f *Finance) Invoice(id string) (issued InvoiceIssued, paid bool, ok bool) {
	issued, ok = f.invoices[id]
	_, paid = f.paid[id]
	return issued, paid, ok
}

// PayInvoice records the payment of invoice id, for its whole amount, at now with method (one of
// PaymentMethods). Errors: ErrPaymentMethodInvalid, ErrInvoiceNotFound, ErrInvoiceAlreadyPaid.
func (f *Finance) PayInvoice(id, method string, now time.Time) error {
	if !slices.Contains(PaymentMethods(), method) {
		return failure.Field("method", ErrPaymentMethodInvalid)
	}
	inv, ok := f.invoices[id]
	if !ok {
		return ErrInvoiceNotFound
	}
	if _, paid := f.paid[id]; paid {
		return ErrInvoiceAlreadyPaid
	}
	f.record(InvoicePaid{InvoiceID: id, AmountCents: inv.AmountCents, PaidAt: now.UTC(), Method: method})
	return nil
}

// IssueAttestation records attestation id of the payments of year (from 2000 to now's year). Its kinds are the
// kinds of the payments paid that year (daily_allowance for a statement paid that year). Issuing the same id again
// records nothing.
func (f *Finance) IssueAttestation(id uuid.UUID, year int, now time.Time) error {
	if id == uuid.Nil {
		return failure.Errorf(failure.Internal, "consultation.IssueAttestation: no attestation id")
	}
	if year < firstAttestationYear || year > now.Year() {
		return failure.Field("year", ErrYearInvalid)
	}
	if _, ok := f.attestations[id]; ok {
		return nil
	}
	prefix := itoa4(year) + "-"
	kinds := []string{}
	for _, p := range f.payments {
		if strings.HasPrefix(p.PaidOn, prefix) && !slices.Contains(kinds, p.Kind) {
			kinds = append(kinds, p.Kind)
		}
	}
	for _, s := range f.statements {
		if strings.HasPrefix(s.PaidOn, prefix) && !slices.Contains(kinds, KindDailyAllowance) {
			kinds = append(kinds, KindDailyAllowance)
		}
	}
	slices.Sort(kinds)
	f.record(PaymentAttestationIssued{AttestationID: id, Year: year, Kinds: kinds})
	return nil
}

// itoa4 writes a year of four digits.
func itoa4(y int) string {
	return string([]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10)})
}

// DecodeFact reads an external fact from an integration message: kind is FactStatement, FactPayment or FactInvoice
// and data the JSON of the matching event (the event's own field names). It does not validate (Record does).
func DecodeFact(kind string, data []byte) (any, error) {
	var (
		fact any
		err  error
	)
	switch kind {
	case FactStatement:
		var v DailyAllowanceStatementRecorded
		err, fact = json.Unmarshal(data, &v), &v
	case FactPayment:
		var v PaymentRecorded
		err, fact = json.Unmarshal(data, &v), &v
	case FactInvoice:
		var v InvoiceIssued
		err, fact = json.Unmarshal(data, &v), &v
	default:
		return nil, ErrUnknownFact
	}
	if err != nil {
		return nil, failure.Wrap("consultation.DecodeFact", failure.Invalid, err)
	}
	switch v := fact.(type) {
	case *DailyAllowanceStatementRecorded:
		return *v, nil
	case *PaymentRecorded:
		return *v, nil
	default:
		return *fact.(*InvoiceIssued), nil
	}
}
