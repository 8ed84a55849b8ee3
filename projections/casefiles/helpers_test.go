package casefiles

import (
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// dump returns every row of a version's tables as sorted text, without the version in the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	return projectionstest.DumpVersion(t, db, Name, version, "_steps")
}
