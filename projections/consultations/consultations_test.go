package consultations

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	table := projections.Prefix(Name, Version)
	return projectionstest.Dump(t, db, table, table+"_statements", table+"_payments", table+"_invoices", table+"_attestations")
}

// finance returns the history of one member with a fact of every kind; another member's stream shares positions.
func finance(pos *uint64) (*projectionstest.History, uuid.UUID) {
	h := projectionstest.NewHistory(consultation.Category, pos, start)
	att := uuid.New()
	h.Add(consultation.TypeStatementRecorded, consultation.DailyAllowanceStatementRecorded{StatementID: "IJ-1",
		PeriodStart: "2026-01-05", PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"})
	h.Add(consultation.TypePaymentRecorded, consultation.PaymentRecorded{PaymentID: "PF-1", Kind: "family_benefits",
		AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"})
	h.Add(consultation.TypePaymentRecorded, consultation.PaymentRecorded{PaymentID: "AL-1", Kind: "housing_aid",
		AmountCents: 25_000, PaidOn: "2026-01-05", Label: "Aide au logement"})
	h.Add(consultation.TypeInvoiceIssued, consultation.InvoiceIssued{InvoiceID: "F-1", Label: "Cotisations T1",
		AmountCents: 123_456, DueOn: "2026-04-15"})
	h.Add(consultation.TypeInvoiceIssued, consultation.InvoiceIssued{InvoiceID: "F-2", Label: "Cotisations T2",
		AmountCents: 100_000, DueOn: "2026-07-15"})
	h.Add(consultation.TypeInvoicePaid, consultation.InvoicePaid{InvoiceID: "F-1", AmountCents: 123_456,
		PaidAt: start.Add(time.Hour), Method: "card"})
	h.Add(consultation.TypeAttestationIssued, consultation.PaymentAttestationIssued{AttestationID: att, Year: 2025,
		Kinds: []string{"family_benefits"}})
	return h, att
}

func TestFinanceViews(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, att := finance(&pos)
		other, _ := finance(&pos)
		projectionstest.Apply(t, db, p, append(slices.Clone(h.Events), other.Events...)...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)
		id := h.Stream.ID

		st, err := q.Statements(ctx, id)
		if err != nil || len(st) != 1 || st[0] != (Statement{StatementID: "IJ-1", PeriodStart: "2026-01-05",
			PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"}) {
			t.Errorf("statements %+v, %v", st, err)
		}
		pay, err := q.Payments(ctx, id)
		if err != nil || len(pay) != 2 || pay[0].PaymentID != "AL-1" || pay[1] != (Payment{PaymentID: "PF-1",
			Kind: "family_benefits", AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"}) {
			t.Errorf("payments %+v, %v", pay, err)
		}
		inv, err := q.Invoices(ctx, id)
		if err != nil || len(inv) != 2 {
			t.Fatalf("invoices %+v, %v", inv, err)
		}
		if inv[0].InvoiceID != "F-2" || inv[0].Paid || inv[0].PaidAt != nil {
			t.Errorf("unpaid invoice %+v", inv[0])
		}
		if i := inv[1]; i.InvoiceID != "F-1" || !i.Paid || i.PaidAt == nil || !i.PaidAt.Equal(start.Add(time.Hour)) ||
			i.PaidCents != 123_456 || i.Method != "card" || i.AmountCents != 123_456 || i.Label != "Cotisations T1" {
			t.Errorf("paid invoice %+v", i)
		}
		atts, err := q.Attestations(ctx, id)
		// the attestation is the 7th event: NewHistory dates events one minute apart
		if err != nil || len(atts) != 1 || atts[0].AttestationID != att || atts[0].Year != 2025 ||
			!reflect.DeepEqual(atts[0].Kinds, []string{"family_benefits"}) || !atts[0].IssuedAt.Equal(h.Events[6].Metadata.OccurredAt) {
			t.Errorf("attestations %+v, %v", atts, err)
		}

		// ownership: an unknown member sees nothing, empty lists (not null)
		nobody := uuid.New()
		if st, _ := q.Statements(ctx, nobody); st == nil || len(st) != 0 {
			t.Errorf("statements of nobody: %#v", st)
		}
		if inv, _ := q.Invoices(ctx, nobody); len(inv) != 0 {
			t.Errorf("invoices of nobody: %#v", inv)
		}
		if pay, _ := q.Payments(ctx, nobody); len(pay) != 0 {
			t.Errorf("payments of nobody: %#v", pay)
		}
		if atts, _ := q.Attestations(ctx, nobody); len(atts) != 0 {
			t.Errorf("attestations of nobody: %#v", atts)
		}
	})
}

func TestSameEventsTwiceGiveTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, _ := finance(&pos)
		projectionstest.Apply(t, db, p, h.Events...)
		once := dump(t, db)
		if len(once) == 0 {
			t.Fatal("no rows")
		}
		// the whole history again, in one batch and event by event, and each event twice in a batch
		projectionstest.Apply(t, db, p, h.Events...)
		for _, e := range h.Events {
			projectionstest.Apply(t, db, p, e, e)
		}
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("rows changed:\n%v\n%v", once, again)
		}
		// an event of another category changes nothing
		otherStream := projectionstest.NewHistory("member", &pos, start)
		projectionstest.Apply(t, db, p, otherStream.Add("TestCaseNoted", projectionstest.Noted{Text: "x"}))
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("another category changed rows")
		}
	})
}

func TestRebuildGivesTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		h, _ := finance(&pos)
		events := h.Events
		p := projectionstest.Setup(t, db, New())
		// applied in two batches, the second overlapping the first
		projectionstest.Apply(t, db, p, events[:4]...)
		projectionstest.Apply(t, db, p, events[2:]...)
		incremental := dump(t, db)
		// a rebuild: the tables emptied, the whole log in one batch
		table := projections.Prefix(Name, Version)
		for _, tb := range []string{table, table + "_statements", table + "_payments", table + "_invoices", table + "_attestations"} {
			if _, err := db.ExecContext(projectionstest.Ctx(t), "DELETE FROM "+tb); err != nil {
				t.Fatal(err)
			}
		}
		projectionstest.Apply(t, db, p, events...)
		if rebuilt := dump(t, db); !reflect.DeepEqual(rebuilt, incremental) {
			t.Errorf("rebuild differs:\n%v\n%v", incremental, rebuilt)
		}
	})
}
