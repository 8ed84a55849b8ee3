package casefiles

import (
	"encoding/json"
	"slices"
	"strings"
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

// dataErased is member's DataErased on their member stream, at the next position.
func dataErased(pos *uint64, memberID uuid.UUID) event.Envelope {
	h := projectionstest.NewHistory(member.Category, pos, srtest.At(30, 0))
	h.Stream = event.NewStreamID(member.Category, memberID)
	return h.Add(member.TypeDataErased, member.DataErased{Reason: member.ErasureRequested,
		Subjects: []uuid.UUID{memberID}})
}

// TestErasure: the case files of an erased member show ErasedText in place of the form and of every personal
// detail, staff and the member read them without error, another member's file is untouched; replays, a rebuild and a
// rebuild of the history decoded as erased give the same rows.
func TestErasure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		a := worked(t, &pos)                                         // m1: form, items, answer, note, rejection reason
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(1, 0)) // m2: stays
		c := srtest.Submit(t, &pos, m1, srtest.Cards, srtest.At(1, 1))
		c.Withdraw(srtest.At(2, 1))
		history := srtest.All(a, b, c)
		erasure := dataErased(&pos, m1)
		evs := append(slices.Clone(history), erasure)

		p := projectionstest.Setup(t, db, New())
		projectionstest.Apply(t, db, p, history...)
		q := NewQueries(db)
		if f := get(t, q, a.ID); f.Form.Erased || len(f.Form.Fields) < 2 {
			t.Fatalf("form before the erasure: %+v", f.Form)
		}
		projectionstest.Apply(t, db, p, erasure)
		want := dump(t, db, Version)
		projectionstest.AssertErased(t, want, "couple", "tenant", "1420000", "Avis d'imposition", "Appelé",
			"Ressources supérieures")

		f := get(t, q, a.ID)
		if !f.Form.Erased || len(f.Form.Fields) != 1 || f.Form.Fields[0].Label != event.ErasedText ||
			string(f.Form.Fields[0].Value) != ErasedForm || f.Form.ServiceLabel == "" {
			t.Errorf("erased form: %+v", f.Form)
		}
		var texts int
		for _, s := range f.Timeline {
			for _, v := range slices.Concat(s.Details.Items, []string{s.Details.Answer, s.Details.Reason, s.Details.Text}) {
				if v != "" && v != event.ErasedText {
					t.Errorf("step %d still says %q", s.Revision, v)
				}
				if v == event.ErasedText {
					texts++
				}
			}
		}
		if texts != 4 { // the item asked for, the answer, the note, the reason
			t.Errorf("%d erased texts in the timeline, want 4: %+v", texts, f.Timeline)
		}
		if mf := readAsMember(t, q, m1, c.ID); !mf.Form.Erased {
			t.Errorf("the member's part: %+v", mf.Form)
		}
		if other := get(t, q, b.ID); other.Form.Erased || string(other.Form.Fields[0].Value) != "2" {
			t.Errorf("another member's form: %+v", other.Form)
		}
		body, err := json.Marshal(f)
		if err != nil || !strings.Contains(string(body), event.ErasedText) {
			t.Errorf("file as JSON: %s, %v", body, err)
		}

		projectionstest.ReplaysAndRebuild(t, db, p, &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return dump(t, db, version) })

		// After the keys are gone, m1's events decode as erased (m2's key is still there).
		var erased []event.Envelope
		for _, e := range evs {
			if e.Stream.Category == sr.Category && (e.Stream.ID == a.ID || e.Stream.ID == c.ID) {
				e = projectionstest.Erased([]event.Envelope{e}, projectionstest.EraseServiceRequest)[0]
			}
			erased = append(erased, e)
		}
		next := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 2)})
		for batch := range slices.Chunk(erased, 5) {
			projectionstest.Apply(t, db, next, batch...)
		}
		if got := dump(t, db, Version+2); !slices.Equal(got, want) {
			t.Errorf("rebuild of the erased history:\n got %q\nwant %q", got, want)
		}

		// A note written on the erased member's closed case before the keys were destroyed shows erased.
		late := a.Note(srtest.At(31, 0), w1)
		projectionstest.Apply(t, db, p, late...)
		if f := get(t, q, a.ID); f.Timeline[len(f.Timeline)-1].Details.Text != event.ErasedText {
			t.Errorf("late note: %+v", f.Timeline[len(f.Timeline)-1])
		}

		// Before its DataErased is read, an erased history still builds, and reads.
		bare := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 3)})
		projectionstest.Apply(t, db, bare, erased[:len(erased)-1]...)
		projectionstest.AssertErased(t, dump(t, db, Version+3), "couple", "Avis d'imposition", "Appelé")
	})
}
