package memberrequests

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// TestErasure: once m1's data is erased, the items asked for and the decision's reason of m1's requests read
// ErasedText, m2's do not change; replays, a rebuild and a rebuild of the history decoded as erased give the same
// rows.
func TestErasure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		history := story(t)
		pos := history[len(history)-1].Position
		h := projectionstest.NewHistory(member.Category, &pos, srtest.At(30, 0))
		h.Stream = event.NewStreamID(member.Category, m1)
		erasure := h.Add(member.TypeDataErased, member.DataErased{Reason: member.ErasureRequested, Subjects: []uuid.UUID{m1}})
		evs := append(slices.Clone(history), erasure)

		p := projectionstest.Setup(t, db, New())
		projectionstest.Apply(t, db, p, history...)
		q := NewQueries(db, nil)
		before, err := q.List(projectionstest.Ctx(t), m2)
		if err != nil {
			t.Fatal(err)
		}
		projectionstest.Apply(t, db, p, erasure)
		want := dump(t, db, Version)
		projectionstest.AssertErased(t, want, "Avis d'imposition", "Ressources supérieures", srtest.AuthorName)

		reqs, err := q.List(projectionstest.Ctx(t), m1)
		if err != nil {
			t.Fatal(err)
		}
		var items, reasons int
		for _, r := range reqs {
			if r.Expected != nil {
				items++
				if !slices.Equal(r.Expected.Items, []string{event.ErasedText}) {
					t.Errorf("items asked for: %q", r.Expected.Items)
				}
			}
			if r.Decision != nil && r.Decision.Reason != "" {
				reasons++
				if r.Decision.Reason != event.ErasedText {
					t.Errorf("decision's reason: %q", r.Decision.Reason)
				}
				// The author's name is sealed under the member's key with the rest of the decision.
				if r.Decision.Author == nil || r.Decision.Author.Name != event.ErasedText {
					t.Errorf("decision's author: %+v", r.Decision.Author)
				}
			}
		}
		if items != 1 || reasons != 1 {
			t.Errorf("%d requests awaiting items, %d with a reason: %+v", items, reasons, reqs)
		}
		if after, err := q.List(projectionstest.Ctx(t), m2); err != nil || !slices.EqualFunc(after, before,
			func(a, b Request) bool { return a.ID == b.ID && a.Revision == b.Revision && a.Status == b.Status }) {
			t.Errorf("m2's requests changed: %+v, %v", after, err)
		}

		projectionstest.ReplaysAndRebuild(t, db, p, &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return dump(t, db, version) })

		var erased []event.Envelope
		for _, e := range evs {
			if e.Stream.Category == sr.Category && ownedBy(evs, e.Stream.ID, m1) {
				e = projectionstest.Erased([]event.Envelope{e}, projectionstest.EraseServiceRequest)[0]
			}
			erased = append(erased, e)
		}
		next := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 2)})
		for batch := range slices.Chunk(erased, 4) {
			projectionstest.Apply(t, db, next, batch...)
		}
		if got := dump(t, db, Version+2); !slices.Equal(got, want) {
			t.Errorf("rebuild of the erased history:\n got %q\nwant %q", got, want)
		}
	})
}

// ownedBy reports whether the request stream id was submitted by memberID in evs.
func ownedBy(evs []event.Envelope, id, memberID uuid.UUID) bool {
	for _, e := range evs {
		if s, ok := e.Event.(sr.Submitted); ok && e.Stream.ID == id {
			return s.MemberID == memberID
		}
	}
	return false
}
