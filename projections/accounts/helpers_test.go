package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func registered() member.Registered {
	return member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
		FirstName: "Élodie", BirthDate: "1992-11-03", Email: "elodie@example.org", MobilePhone: "+33612345678"}
}

func setup(t *testing.T, db *sqldb.DB) *Projection {
	t.Helper()
	return projectionstest.Setup(t, db, New())
}

// dump returns every row of the version's tables as text, sorted: a picture to compare before and after replays.
func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	table := projections.Prefix(Name, Version)
	return projectionstest.Dump(t, db, table, table+"_addresses")
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
