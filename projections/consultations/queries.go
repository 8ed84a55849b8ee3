package consultations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
)

// MaxRows bounds every list: the largest page, and the most recent attestations returned.
const MaxRows = 500

// Statement is a daily-allowance statement. Dates are "YYYY-MM-DD"; amounts in euro cents.
type Statement struct {
	StatementID string `db:"statement_id" json:"id"`
	PeriodStart string `db:"period_start" json:"period_start"`
	PeriodEnd   string `db:"period_end" json:"period_end"`
	Days        int    `db:"days" json:"days"`
	GrossCents  int64  `db:"gross_cents" json:"gross_cents"`
	NetCents    int64  `db:"net_cents" json:"net_cents"`
	PaidOn      string `db:"paid_on" json:"paid_on"`
}

// Payment is a benefit paid to the member; Kind is one of consultation.Kinds.
type Payment struct {
	PaymentID   string `db:"payment_id" json:"id"`
	Kind        string `db:"kind" json:"kind"`
	AmountCents int64  `db:"amount_cents" json:"amount_cents"`
	PaidOn      string `db:"paid_on" json:"paid_on"`
	Label       string `db:"label" json:"label"`
}

// Invoice is an invoice of the member and, once paid, its settlement (PaidAt, PaidCents, Method).
type Invoice struct {
	InvoiceID   string     `json:"id"`
	Label       string     `json:"label"`
	AmountCents int64      `json:"amount_cents"`
	DueOn       string     `json:"due_on"`
	Paid        bool       `json:"paid"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	PaidCents   int64      `json:"paid_cents,omitempty"`
	Method      string     `json:"method,omitempty"`
}

// Attestation is a payment attestation the member asked for.
type Attestation struct {
	AttestationID uuid.UUID `json:"id"`
	Year          int       `json:"year"`
	Kinds         []string  `json:"kinds"`
	IssuedAt      time.Time `json:"issued_at"`
}

// Queries reads the live version of the projection, through its views. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// Statements returns a page of the member's statements, the most recently paid first (projections.Page; DefaultLimit
// for 0, MaxRows at most), and the cursor of the next page ("" after the last).
func (q *Queries) Statements(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Statement, string, error) {
	out := []Statement{}
	n, cond, args, err := pageOf(p, memberID, "paid_on", "period_start", "statement_id")
	if err != nil {
		return nil, "", err
	}
	if err := sqlx.SelectContext(ctx, q.db, &out, q.db.Rebind("SELECT statement_id, period_start, period_end, days, "+
		"gross_cents, net_cents, paid_on FROM "+Name+"_statements WHERE member_id = ?"+cond+
		" ORDER BY paid_on DESC, period_start DESC, statement_id DESC LIMIT ?"), args...); err != nil {
		return nil, "", fmt.Errorf("consultations: statements: %w", err)
	}
	page, next := projections.Trim(out, projections.Page{Limit: n}, n, func(s Statement) string {
		return projections.EncodeCursor(s.PaidOn, s.PeriodStart, s.StatementID)
	})
	return page, next, nil
}

// Payments returns a page of the member's payments, the most recent first, and the cursor of the next page.
func (q *Queries) Payments(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Payment, string, error) {
	out := []Payment{}
	n, cond, args, err := pageOf(p, memberID, "paid_on", "payment_id")
	if err != nil {
		return nil, "", err
	}
	if err := sqlx.SelectContext(ctx, q.db, &out, q.db.Rebind("SELECT payment_id, kind, amount_cents, paid_on, label FROM "+
		Name+"_payments WHERE member_id = ?"+cond+" ORDER BY paid_on DESC, payment_id DESC LIMIT ?"), args...); err != nil {
		return nil, "", fmt.Errorf("consultations: payments: %w", err)
	}
	page, next := projections.Trim(out, projections.Page{Limit: n}, n, func(p Payment) string {
		return projections.EncodeCursor(p.PaidOn, p.PaymentID)
	})
	return page, next, nil
}

// DefaultLimit is the page size of the lists when the caller names none.
const DefaultLimit = 50

// pageOf returns the rows a page reads (its size n; n+1 are read), the condition that a row comes after the cursor
// in the order of cols, every one descending (text columns), and the arguments: the member, the cursor's key, n+1.
func pageOf(p projections.Page, memberID uuid.UUID, cols ...string) (n int, cond string, args []any, err error) {
	n = min(p.Limit1(DefaultLimit)-1, MaxRows)
	args = []any{memberID.String()}
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, len(cols))
		if err != nil {
			return 0, "", nil, err
		}
		cond = " AND (" + strings.Join(cols, ", ") + ") < (?" + strings.Repeat(", ?", len(cols)-1) + ")"
		for _, k := range key {
			args = append(args, k)
		}
	}
	return n, cond, append(args, n+1), nil
}

type invoiceRow struct {
	InvoiceID   string       `db:"invoice_id"`
	Label       string       `db:"label"`
	AmountCents int64        `db:"amount_cents"`
	DueOn       string       `db:"due_on"`
	PaidAt      sql.NullTime `db:"paid_at"`
	PaidCents   int64        `db:"paid_cents"`
	Method      string       `db:"method"`
}

// Invoices returns a page of the member's invoices, the latest due first, and the cursor of the next page.
func (q *Queries) Invoices(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Invoice, string, error) {
	var rows []invoiceRow
	n, cond, args, err := pageOf(p, memberID, "due_on", "invoice_id")
	if err != nil {
		return nil, "", err
	}
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT invoice_id, label, amount_cents, due_on, paid_at, "+
		"paid_cents, method FROM "+Name+"_invoices WHERE member_id = ?"+cond+" ORDER BY due_on DESC, invoice_id DESC LIMIT ?"),
		args...); err != nil {
		return nil, "", fmt.Errorf("consultations: invoices: %w", err)
	}
	rows, next := projections.Trim(rows, projections.Page{Limit: n}, n, func(r invoiceRow) string {
		return projections.EncodeCursor(r.DueOn, r.InvoiceID)
	})
	out := make([]Invoice, len(rows))
	for i, r := range rows {
		out[i] = Invoice{InvoiceID: r.InvoiceID, Label: r.Label, AmountCents: r.AmountCents, DueOn: r.DueOn}
		if r.PaidAt.Valid {
			at := r.PaidAt.Time.UTC()
			out[i].Paid, out[i].PaidAt, out[i].PaidCents, out[i].Method = true, &at, r.PaidCents, r.Method
		}
	}
	return out, next, nil
}

// Attestations returns the payment attestations the member asked for, the most recent first.
func (q *Queries) Attestations(ctx context.Context, memberID uuid.UUID) ([]Attestation, error) {
	var rows []struct {
		AttestationID string    `db:"attestation_id"`
		Year          int       `db:"year"`
		Kinds         string    `db:"kinds"`
		IssuedAt      time.Time `db:"issued_at"`
	}
	err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT attestation_id, year, kinds, issued_at FROM "+
		Name+"_attestations WHERE member_id = ? ORDER BY issued_at DESC, attestation_id LIMIT ?"), memberID.String(), MaxRows)
	if err != nil {
		return nil, fmt.Errorf("consultations: attestations: %w", err)
	}
	out := make([]Attestation, len(rows))
	for i, r := range rows {
		id, err := uuid.Parse(r.AttestationID)
		if err != nil {
			return nil, fmt.Errorf("consultations: attestation id %q: %w", r.AttestationID, err)
		}
		kinds := []string{}
		if r.Kinds != "" {
			kinds = strings.Split(r.Kinds, ",")
		}
		out[i] = Attestation{AttestationID: id, Year: r.Year, Kinds: kinds, IssuedAt: r.IssuedAt.UTC()}
	}
	return out, nil
}
