package casequeues

import (
	"slices"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// TestErasedHistory: the queues hold no personal data, so the history decoded once the members' keys are destroyed
// (forms gone, items, answers, reasons and notes reading ErasedText) builds exactly the same rows, without error.
// member.DataErased changes nothing here (the projection skips the member streams).
func TestErasedHistory(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		evs := story(t)
		feed(t, db, projectionstest.Setup(t, db, New()), evs...)
		want := dump(t, db, Version)

		next := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 1)})
		for batch := range slices.Chunk(projectionstest.Erased(evs, projectionstest.EraseServiceRequest), 4) {
			feed(t, db, next, batch...)
		}
		if got := dump(t, db, Version+1); !slices.Equal(got, want) {
			t.Errorf("rebuild of the erased history:\n got %q\nwant %q", got, want)
		}
	})
}
