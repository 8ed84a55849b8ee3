package memberrequests

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// TestListOrderAndFields: a member's requests, submitted interleaved with another member's, some the same instant,
// come newest first with the larger id first among those of one instant, in every state, each with the fields of its
// own row (Get's answer); the other member's never appear.
func TestListOrderAndFields(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		var mine, all []*srtest.Request
		for i := range 24 {
			member := m1
			if i%5 == 4 {
				member = m2
			}
			r := srtest.Submit(t, &pos, member, srtest.C2S, srtest.At(i/4, 0)) // four at each instant
			switch i % 6 {
			case 1:
				r.Claim(srtest.At(i/4, 1), w1)
			case 3:
				r.Claim(srtest.At(i/4, 1), w1)
				r.AskInformation(srtest.At(i/4, 2), srtest.At(i/4+40, 0))
			case 4:
				r.Claim(srtest.At(i/4, 1), w1)
				r.Decide(srtest.At(i/4, 2), sr.Approved, "Conditions remplies.")
			case 5:
				r.Withdraw(srtest.At(i/4, 1))
			}
			all = append(all, r)
			if member == m1 {
				mine = append(mine, r)
			}
		}
		projectionstest.Apply(t, db, p, srtest.All(all...)...)
		slices.SortFunc(mine, func(a, b *srtest.Request) int {
			if c := b.Events[0].Metadata.OccurredAt.Compare(a.Events[0].Metadata.OccurredAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID.String(), a.ID.String())
		})
		want := make([]uuid.UUID, len(mine))
		for i, r := range mine {
			want[i] = r.ID
		}
		q := NewQueries(db, fixed(srtest.At(10, 0)))
		ctx := projectionstest.Ctx(t)
		got, err := q.List(ctx, m1)
		if err != nil || !slices.Equal(ids(got), want) {
			t.Fatalf("List = %v, %v; want %v", ids(got), err, want)
		}
		page, next, err := q.Page(ctx, m1, projections.Page{Limit: 5})
		if err != nil || !slices.Equal(ids(page), want[:5]) || next == "" {
			t.Fatalf("Page(5) = %v, %q, %v; want %v", ids(page), next, err, want[:5])
		}
		statuses := map[Status]bool{}
		for _, r := range got {
			statuses[r.Status] = true
			one := get(t, q, m1, r.ID)
			if !equalJSON(t, one, r) {
				t.Errorf("List shows %+v, Get %+v", r, one)
			}
		}
		if len(statuses) != 5 {
			t.Errorf("statuses listed: %v; want the five of the history", statuses)
		}
	})
}

// TestListReadsInKeyOrder: on SQLite the member's list and the next page read the table in its key order (migration
// 00004), sorting nothing; version 4 sorted on request_id for the tiebreak.
func TestListReadsInKeyOrder(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	projectionstest.Setup(t, db, New())
	for _, where := range []string{"r.member_id = ?", "r.member_id = ? AND (r.received_at, r.request_id) < (?, ?)"} {
		rows, err := db.Reader().QueryContext(projectionstest.Ctx(t), "EXPLAIN QUERY PLAN "+selectRequest+" WHERE "+
			where+" ORDER BY r.received_at DESC, r.request_id DESC LIMIT 51", m1.String(), srtest.T0, m2.String())
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(plan) != 1 || !strings.Contains(plan[0], "USING PRIMARY KEY (member_id=?") {
			t.Errorf("plan of the list where %s: %q; want one search of the primary key, nothing sorted", where, plan)
		}
	}
}

// equalJSON reports whether a and b answer the same JSON.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
