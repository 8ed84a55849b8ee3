package memberrequests

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The service request builders live in domain/servicerequest/servicerequesttest.
var (
	c2s    = srtest.C2S
	cards  = srtest.Cards
	attest = srtest.Attestations
	submit = srtest.Submit
	all    = srtest.All
	at     = srtest.At
)

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func setup(tb testing.TB, db *sqldb.DB) *Projection {
	tb.Helper()
	p := New()
	if err := projections.Setup(ctxT(tb), db, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// feed applies batch to p in one transaction, as the runner does.
func feed(tb testing.TB, db *sqldb.DB, p projections.Projection, batch ...event.Envelope) {
	tb.Helper()
	if err := db.InTx(ctxT(tb), func(tx *sqldb.Tx) error { return p.Apply(ctxT(tb), tx, batch) }); err != nil {
		tb.Fatalf("apply: %v", err)
	}
}

// dump returns every row of a version's tables as sorted text, without the version in the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	t.Helper()
	table := projections.Prefix(Name, version)
	rows := projectionstest.Dump(t, db, table)
	for i, r := range rows {
		rows[i] = r[len(table):]
	}
	return rows
}

func ids(rs []Request) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
