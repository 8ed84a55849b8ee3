package memberrequests

import (
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func TestOpenRequestCount(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		a.Withdraw(srtest.At(1, 0))
		b := srtest.Submit(t, &pos, m1, srtest.Cards, srtest.At(2, 0))
		b.Claim(srtest.At(2, 1), w1)
		c := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(3, 0))
		c.Claim(srtest.At(3, 1), w1)
		c.Decide(srtest.At(4, 0), sr.Approved, "")
		projectionstest.Apply(t, db, p, srtest.All(a, b, c)...)
		q := NewQueries(db, fixed(srtest.At(11, 0)))
		if n, err := q.OpenRequestCount(projectionstest.Ctx(t), m1); err != nil || n != 1 {
			t.Fatalf("open requests of m1 = %d, %v; want 1 (b)", n, err)
		}
		if n, err := q.OpenRequestCount(projectionstest.Ctx(t), m2); err != nil || n != 0 {
			t.Fatalf("open requests of m2 = %d, %v; want 0", n, err)
		}
	})
}
