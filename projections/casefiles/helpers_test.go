package casefiles

import (
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The service request builders live in domain/servicerequest/servicerequesttest.
var (
	c2s        = srtest.C2S
	cards      = srtest.Cards
	submit     = srtest.Submit
	submitForm = srtest.SubmitForm
	all        = srtest.All
	at         = srtest.At
)

// dump returns every row of a version's tables as sorted text, without the version in the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	return projectionstest.DumpVersion(t, db, Name, version, "_steps")
}

type srRequest = srtest.Request
