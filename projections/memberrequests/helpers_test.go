package memberrequests

import (
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The service request builders live in domain/servicerequest/servicerequesttest.
type request = srtest.Request

var (
	t0     = srtest.T0
	paris  = srtest.Paris
	c2s    = srtest.C2S
	cards  = srtest.Cards
	attest = srtest.Attestations
	submit = srtest.Submit
	all    = srtest.All
	at     = srtest.At
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
