package memberrequests

import (
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// dump returns every row of a version's tables as sorted text, without the version in the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	return projectionstest.DumpVersion(t, db, Name, version)
}

func ids(rs []Request) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
