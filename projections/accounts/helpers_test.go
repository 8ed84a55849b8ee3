package accounts

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func registered() member.Registered {
	return member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
		FirstName: "Élodie", BirthDate: "1992-11-03", Email: "elodie@example.org", MobilePhone: "+33612345678"}
}

// dump returns every row of the version's tables as text, sorted: a picture to compare before and after replays.
func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	return projectionstest.DumpVersion(t, db, Name, Version, "_addresses")
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
