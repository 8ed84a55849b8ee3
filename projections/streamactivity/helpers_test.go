package streamactivity

import (
	"errors"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The sample events of projectionstest: the projection reads only their envelopes.
type (
	opened = projectionstest.Opened
	noted  = projectionstest.Noted
)

// rows returns every row of a version's table, keyed by stream.
func rows(t *testing.T, db *sqldb.DB, table string) map[string]Activity {
	t.Helper()
	var list []Activity
	if err := db.Reader().SelectContext(projectionstest.Ctx(t), &list, "SELECT stream, category, last_revision, "+
		"last_event_type, event_count, first_recorded_at, last_recorded_at, last_position FROM "+table); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	out := make(map[string]Activity, len(list))
	for _, a := range list {
		out[a.Stream] = normalize(a)
	}
	return out
}

func checkpoints(t *testing.T, db *sqldb.DB) map[int]projections.Checkpoint {
	t.Helper()
	return projectionstest.Checkpoints(t, db, Name)
}

var errBoom = errors.New("boom")
