package savedestimates

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	return projectionstest.Dump(t, db, projections.Prefix(Name, Version))
}

// estimate returns the estimate of in, as saved under a new id.
func estimate(t *testing.T, in simulation.Input) simulation.EstimateSaved {
	t.Helper()
	r, err := simulation.Estimate(in)
	if err != nil {
		t.Fatal(err)
	}
	return simulation.Saved(uuid.New(), r)
}

// saves returns one member's stream with three saved estimates: chef, collaborateur, cotisant de solidarité.
func saves(t *testing.T, pos *uint64) (*projectionstest.History, []simulation.EstimateSaved) {
	h := projectionstest.NewHistory(simulation.SavedCategory, pos, start)
	list := []simulation.EstimateSaved{
		estimate(t, simulation.Input{IncomeCents: 3_000_000, Status: simulation.ChefExploitation}),
		estimate(t, simulation.Input{IncomeCents: 0, Status: simulation.Collaborateur}),
		estimate(t, simulation.Input{IncomeCents: 800_000, Status: simulation.CotisantSolidarite}),
	}
	for _, e := range list {
		h.Add(simulation.TypeEstimateSaved, e)
	}
	return h, list
}

func TestEstimatesNewestFirstAndOwnOnly(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		alice, saved := saves(t, &pos)
		bob, bobSaved := saves(t, &pos)
		// the two members' events interleaved, as in the global log
		events := slices.Clone(alice.Events)
		events = slices.Insert(events, 1, bob.Events...)
		projectionstest.Apply(t, db, p, events...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)

		got, next, err := q.Estimates(ctx, alice.Stream.ID, projections.Page{})
		if err != nil || len(got) != 3 || next != "" {
			t.Fatalf("alice's estimates %+v, %v", got, err)
		}
		for i, g := range got {
			want := saved[2-i] // newest first
			wantResult := want.Result()
			if g.EstimateID != want.EstimateID || g.Label != simulation.Label || g.Disclaimer != wantResult.Disclaimer ||
				g.RatesYear != want.RatesYear || g.Status != want.Status || g.IncomeCents != want.IncomeCents ||
				g.TotalCents != want.TotalCents || !reflect.DeepEqual(g.Lines, want.Lines) ||
				!g.SavedAt.Equal(alice.Events[2-i].Metadata.OccurredAt) {
				t.Errorf("estimate %d: %+v\nwant %+v saved at %s", i, g, want, alice.Events[2-i].Metadata.OccurredAt)
			}
		}
		// bob sees his own, never alice's
		bobs, _, err := q.Estimates(ctx, bob.Stream.ID, projections.Page{})
		if err != nil || len(bobs) != 3 {
			t.Fatalf("bob's estimates %+v, %v", bobs, err)
		}
		for i, b := range bobs {
			if b.EstimateID != bobSaved[2-i].EstimateID {
				t.Errorf("bob's estimate %d is %s, want %s", i, b.EstimateID, bobSaved[2-i].EstimateID)
			}
		}
		// pages of one: the same three in the same order, the cursor "" exactly after the last
		var paged []uuid.UUID
		pg := projections.Page{Limit: 1}
		for range 5 {
			page, next, err := q.Estimates(ctx, alice.Stream.ID, pg)
			if err != nil || len(page) != 1 {
				t.Fatalf("a page of one: %+v, %v", page, err)
			}
			paged = append(paged, page[0].EstimateID)
			if next == "" {
				break
			}
			pg.After = next
		}
		if len(paged) != 3 || paged[0] != got[0].EstimateID || paged[2] != got[2].EstimateID {
			t.Errorf("pages of one: %v", paged)
		}
		if _, _, err := q.Estimates(ctx, alice.Stream.ID, projections.Page{After: projections.EncodeCursor("x")}); !errors.Is(err, projections.ErrInvalidCursor) {
			t.Errorf("a bad cursor: %v", err)
		}
		// an unknown member: an empty list, not null
		if none, _, err := q.Estimates(ctx, uuid.New(), projections.Page{}); err != nil || none == nil || len(none) != 0 {
			t.Errorf("estimates of nobody: %#v, %v", none, err)
		}
	})
}

func TestSameEventsTwiceGiveTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, _ := saves(t, &pos)
		projectionstest.Apply(t, db, p, h.Events...)
		once := dump(t, db)
		if len(once) != 3 {
			t.Fatalf("rows %v", once)
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
		other := projectionstest.NewHistory("member", &pos, start)
		projectionstest.Apply(t, db, p, other.Add("TestCaseNoted", projectionstest.Noted{Text: "x"}))
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("another category changed rows")
		}
	})
}

func TestRebuildGivesTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		h, _ := saves(t, &pos)
		events := h.Events
		p := projectionstest.Setup(t, db, New())
		// applied in two batches, the second overlapping the first
		projectionstest.Apply(t, db, p, events[:2]...)
		projectionstest.Apply(t, db, p, events[1:]...)
		incremental := dump(t, db)
		// a rebuild: the table emptied, the whole log in one batch
		if _, err := db.ExecContext(projectionstest.Ctx(t), "DELETE FROM "+projections.Prefix(Name, Version)); err != nil {
			t.Fatal(err)
		}
		projectionstest.Apply(t, db, p, events...)
		if rebuilt := dump(t, db); !reflect.DeepEqual(rebuilt, incremental) {
			t.Errorf("rebuild differs:\n%v\n%v", incremental, rebuilt)
		}
	})
}
