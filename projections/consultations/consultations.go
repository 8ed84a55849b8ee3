// Package consultations is the member's finance history as the portal reads it (GET /v1/daily-allowance-statements,
// /v1/payments, /v1/invoices): daily-allowance statements, payments, invoices with their settlement, and the
// payment attestations asked for.
//
// It folds the memberfinance streams only. The member's row keeps the stream's last revision applied, and an event
// whose revision is not above it changes nothing, so a replayed batch, a rebuild over existing rows or the same
// event twice leaves the rows as one pass would. Every query takes the member id: a member reads only their own.
package consultations

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the views readers query ("consultations",
// "consultations_statements", "consultations_payments", "consultations_invoices", "consultations_attestations").
const Name = "consultations"

// Version is the current version of the projection. Bump it when the schema or the folding changes.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds memberfinance events into rows per member. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// stream is a member's finance stream while a batch is folded.
type stream struct {
	memberID string
	revision int64
	position int64
	exists   bool
	changed  bool
}

// Apply folds the batch, stream by stream: each stream's guard row is read once, its new events are written in
// order (those at or below the guard are skipped) and the guard row is written back.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	w := writer{ctx: ctx, tx: tx, table: table}
	return projections.StreamFold[*stream]{
		Keep: func(e event.Envelope) bool { return e.Stream.Category == consultation.Category },
		Load: func(s event.StreamID) (*stream, error) { return w.load(s.ID) },
		Fold: w.fold,
		Write: func(s *stream) error {
			if !s.changed {
				return nil
			}
			u := projections.GuardedUpsert(table, []string{"member_id"}, []string{"member_id", "revision", "last_position"}, "revision")
			if err := u.Exec(ctx, tx, s.memberID, s.revision, s.position); err != nil {
				return fmt.Errorf("consultations: write memberfinance-%s: %w", s.memberID, err)
			}
			return nil
		},
	}.Apply(batch)
}

type writer struct {
	ctx   context.Context
	tx    *sqldb.Tx
	table string
}

func (w writer) load(id uuid.UUID) (*stream, error) {
	var r struct {
		MemberID     string `db:"member_id"`
		Revision     int64  `db:"revision"`
		LastPosition int64  `db:"last_position"`
	}
	found, err := projections.GetRow(w.ctx, w.tx, &r, w.table, "member_id", id.String())
	if err != nil {
		return nil, fmt.Errorf("consultations: read memberfinance-%s: %w", id, err)
	}
	return &stream{memberID: id.String(), revision: r.Revision, position: r.LastPosition, exists: found}, nil
}

// insert adds a fact's row; a row already there (the same fact) is kept as it is: facts never change.
func (w writer) insert(table string, key, columns []string, values ...any) error {
	u := sqldb.Upsert{Table: table, Columns: columns, Key: key, Update: []string{}}
	return u.Exec(w.ctx, w.tx, values...)
}

func (w writer) fold(s *stream, e event.Envelope) error {
	rev := int64(e.Revision)
	if s.exists && rev <= s.revision {
		return nil // applied already: a replay
	}
	var err error
	switch v := e.Event.(type) {
	case consultation.DailyAllowanceStatementRecorded:
		err = w.insert(w.table+"_statements", []string{"member_id", "statement_id"},
			[]string{"member_id", "statement_id", "period_start", "period_end", "days", "gross_cents", "net_cents", "paid_on", "revision"},
			s.memberID, v.StatementID, v.PeriodStart, v.PeriodEnd, v.Days, v.GrossCents, v.NetCents, v.PaidOn, rev)
	case consultation.PaymentRecorded:
		err = w.insert(w.table+"_payments", []string{"member_id", "payment_id"},
			[]string{"member_id", "payment_id", "kind", "amount_cents", "paid_on", "label", "revision"},
			s.memberID, v.PaymentID, v.Kind, v.AmountCents, v.PaidOn, v.Label, rev)
	case consultation.InvoiceIssued:
		err = w.insert(w.table+"_invoices", []string{"member_id", "invoice_id"},
			[]string{"member_id", "invoice_id", "label", "amount_cents", "due_on", "paid_at", "paid_cents", "method", "revision"},
			s.memberID, v.InvoiceID, v.Label, v.AmountCents, v.DueOn, nil, int64(0), "", rev)
	case consultation.InvoicePaid:
		_, err = w.tx.ExecContext(w.ctx, w.tx.Rebind("UPDATE "+w.table+"_invoices SET paid_at = ?, paid_cents = ?, method = ?, "+
			"revision = ? WHERE member_id = ? AND invoice_id = ? AND revision < ?"),
			v.PaidAt.UTC(), v.AmountCents, v.Method, rev, s.memberID, v.InvoiceID, rev)
	case consultation.PaymentAttestationIssued:
		err = w.insert(w.table+"_attestations", []string{"member_id", "attestation_id"},
			[]string{"member_id", "attestation_id", "year", "kinds", "issued_at", "revision"},
			s.memberID, v.AttestationID.String(), v.Year, strings.Join(v.Kinds, ","), e.Metadata.OccurredAt.UTC(), rev)
	}
	if err != nil {
		return fmt.Errorf("consultations: %s at memberfinance-%s@%d: %w", e.Type, s.memberID, e.Revision, err)
	}
	s.revision, s.position, s.exists, s.changed = rev, int64(e.Position), true, true
	return nil
}
