package consultations

import (
	"errors"
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

		st, _, err := q.Statements(ctx, id, projections.Page{})
		if err != nil || len(st) != 1 || st[0] != (Statement{StatementID: "IJ-1", PeriodStart: "2026-01-05",
			PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"}) {
			t.Errorf("statements %+v, %v", st, err)
		}
		pay, _, err := q.Payments(ctx, id, projections.Page{})
		if err != nil || len(pay) != 2 || pay[0].PaymentID != "AL-1" || pay[1] != (Payment{PaymentID: "PF-1",
			Kind: "family_benefits", AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"}) {
			t.Errorf("payments %+v, %v", pay, err)
		}
		inv, _, err := q.Invoices(ctx, id, projections.Page{})
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
		if st, _, _ := q.Statements(ctx, nobody, projections.Page{}); st == nil || len(st) != 0 {
			t.Errorf("statements of nobody: %#v", st)
		}
		if inv, _, _ := q.Invoices(ctx, nobody, projections.Page{}); len(inv) != 0 {
			t.Errorf("invoices of nobody: %#v", inv)
		}
		if pay, _, _ := q.Payments(ctx, nobody, projections.Page{}); len(pay) != 0 {
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

// TestFinancePages: every list pages by the convention (projections.Page): pages put together are the whole list
// in its order (ties on the date broken by the id), "" exactly at the end, a cursor of another shape refused.
func TestFinancePages(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(consultation.Category, &pos, start)
		for i := range 7 {
			day := "2026-01-0" + string(rune('1'+i/3)) // three payments a day: the id breaks the tie
			h.Add(consultation.TypePaymentRecorded, consultation.PaymentRecorded{PaymentID: "P-" + string(rune('a'+i)),
				Kind: "family_benefits", AmountCents: int64(100 + i), PaidOn: day, Label: "Allocations familiales"})
			h.Add(consultation.TypeStatementRecorded, consultation.DailyAllowanceStatementRecorded{
				StatementID: "S-" + string(rune('a'+i)), PeriodStart: "2025-12-01", PeriodEnd: "2025-12-14", Days: 14,
				GrossCents: 1, NetCents: 1, PaidOn: day})
			h.Add(consultation.TypeInvoiceIssued, consultation.InvoiceIssued{InvoiceID: "F-" + string(rune('a'+i)),
				Label: "Cotisations", AmountCents: 1, DueOn: day})
		}
		projectionstest.Apply(t, db, p, h.Events...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)
		id := h.Stream.ID
		lists := map[string]func(projections.Page) ([]string, string, error){
			"payments": func(pg projections.Page) ([]string, string, error) {
				l, next, err := q.Payments(ctx, id, pg)
				var ids []string
				for _, x := range l {
					ids = append(ids, x.PaymentID)
				}
				return ids, next, err
			},
			"statements": func(pg projections.Page) ([]string, string, error) {
				l, next, err := q.Statements(ctx, id, pg)
				var ids []string
				for _, x := range l {
					ids = append(ids, x.StatementID)
				}
				return ids, next, err
			},
			"invoices": func(pg projections.Page) ([]string, string, error) {
				l, next, err := q.Invoices(ctx, id, pg)
				var ids []string
				for _, x := range l {
					ids = append(ids, x.InvoiceID)
				}
				return ids, next, err
			},
		}
		for name, list := range lists {
			whole, next, err := list(projections.Page{})
			if err != nil || next != "" || len(whole) != 7 || whole[0][2:] != "g" || whole[6][2:] != "a" {
				t.Fatalf("%s: whole list %v, next %q, %v", name, whole, next, err)
			}
			for _, limit := range []int{1, 2, 3, 7} {
				var paged []string
				pg := projections.Page{Limit: limit}
				for range 10 {
					got, next, err := list(pg)
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, got...)
					if next == "" {
						break
					}
					pg.After = next
				}
				if !slices.Equal(paged, whole) {
					t.Errorf("%s, limit %d: pages %v, whole %v", name, limit, paged, whole)
				}
			}
			if _, _, err := list(projections.Page{After: projections.EncodeCursor("2026-01-01")}); !errors.Is(err, projections.ErrInvalidCursor) {
				t.Errorf("%s: a cursor of another list: %v", name, err)
			}
		}
	})
}
