package projections_test

import (
	"errors"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/streamactivity"
)

// The sample events of projectionstest: the projection reads only their envelopes.
type (
	opened  = projectionstest.Opened
	noted   = projectionstest.Noted
	unknown = projectionstest.Unknown
)

// activity reads a stream's row through the streamactivity queries; ok is false when it has none.
func activity(t *testing.T, db *sqldb.DB, s event.StreamID) (streamactivity.Activity, bool) {
	t.Helper()
	a, err := streamactivity.NewQueries(db).Get(projectionstest.Ctx(t), s)
	if errors.Is(err, streamactivity.ErrNotFound) {
		return a, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

func checkpoints(t *testing.T, db *sqldb.DB) map[int]projections.Checkpoint {
	t.Helper()
	return projectionstest.Checkpoints(t, db, streamactivity.Name)
}

var errBoom = errors.New("boom")
