package memberdirectory

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// TestErasure: an erased member shows event.ErasedText and is found neither by NIR nor by a name word (nor by the
// words of event.ErasedText); another member is untouched; replays, a rebuild and a rebuild of the history decoded
// as erased give the same rows.
func TestErasure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		gone := person(&pos, "Lefèvre", "Élodie", "292112A004017", 59)
		gone.Add(member.TypePasswordSet, member.PasswordSet{Hash: "$argon2id$x", PolicyVersion: "1", Reason: "activation"})
		gone.Add(member.TypeEmailChanged, member.EmailChanged{Email: "elodie.l@example.org"})
		gone.Add(member.TypeLocked, member.Locked{Until: start.Add(time.Hour), Reason: "too_many_failures"})
		kept := person(&pos, "Lefèvre", "Marc", "1850375115042", 16)
		erasure := gone.Add(member.TypeDataErased, member.DataErased{Reason: member.ErasureRetentionEnded,
			Subjects: []uuid.UUID{gone.Stream.ID}})
		evs := slices.Concat(gone.Events[:len(gone.Events)-1], kept.Events, []event.Envelope{erasure})
		q := NewQueries(db, hash, func() time.Time { return start })
		ctx := projectionstest.Ctx(t)
		search := func(query string) []uuid.UUID {
			t.Helper()
			es, err := q.Search(ctx, query, 0)
			if err != nil {
				t.Fatalf("Search(%q): %v", query, err)
			}
			var ids []uuid.UUID
			for _, e := range es {
				ids = append(ids, e.MemberID)
			}
			return ids
		}

		projectionstest.Apply(t, db, p, evs[:len(evs)-1]...)
		if got := search("292112A004017"); !slices.Equal(got, []uuid.UUID{gone.Stream.ID}) {
			t.Errorf("by NIR before the erasure: %v", got)
		}
		if got := search("elodie"); !slices.Equal(got, []uuid.UUID{gone.Stream.ID}) {
			t.Errorf("by name before the erasure: %v", got)
		}

		projectionstest.Apply(t, db, p, erasure)
		want := dump(t, db)
		projectionstest.AssertErased(t, want, "292112A004017", "Élodie", "elodie", "elodie.l@example.org",
			hash("292112A004017"))
		for _, query := range []string{"292112A004017", "elodie", "lefevre elodie", "donnees", "effacees",
			"données effacées"} {
			if got := search(query); slices.Contains(got, gone.Stream.ID) {
				t.Errorf("Search(%q) still finds the erased member", query)
			}
		}
		if got := search("lefevre"); !slices.Equal(got, []uuid.UUID{kept.Stream.ID}) {
			t.Errorf("the other member: %v", got)
		}
		en, err := q.Get(ctx, gone.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if en.LastName != event.ErasedText || en.FirstName != event.ErasedText || en.SearchName != event.ErasedText ||
			en.BirthDate != event.ErasedText || en.NIR != event.ErasedText || en.NIRKey != 0 || en.Email != event.ErasedText ||
			en.Status != StatusLocked || en.Revision != erasure.Revision {
			t.Errorf("erased entry: %+v", en)
		}
		for _, r := range want {
			if strings.HasPrefix(r, "_words") && strings.Contains(r, gone.Stream.ID.String()) {
				t.Errorf("a search word of the erased member is left: %s", r)
			}
		}

		projectionstest.ReplaysAndRebuild(t, db, p, &Projection{Meta: meta.At(Version + 1), hash: hash}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return projectionstest.DumpVersion(t, db, Name, version, "_words") })

		next := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 2), hash: hash})
		erased := projectionstest.Erased(gone.Events, projectionstest.EraseMember) // the other member's key is still there
		n := len(erased)
		for batch := range slices.Chunk(slices.Concat(erased[:n-1], kept.Events, erased[n-1:]), 2) {
			projectionstest.Apply(t, db, next, batch...)
		}
		if got := projectionstest.DumpVersion(t, db, Name, Version+2, "_words"); !slices.Equal(got, want) {
			t.Errorf("rebuild of the erased history:\n got %q\nwant %q", got, want)
		}
	})
}

// TestErasedRegistrationWithoutErasure: a history decoded as erased gives an entry no search finds, and no error,
// even before its DataErased is read.
func TestErasedRegistrationWithoutErasure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		h := person(&pos, "Lefèvre", "Élodie", "292112A004017", 59)
		projectionstest.Apply(t, db, p, projectionstest.Erased(h.Events, projectionstest.EraseMember)...)
		q := NewQueries(db, hash, nil)
		if es, err := q.Search(projectionstest.Ctx(t), "donnees effacees", 0); err != nil || len(es) != 0 {
			t.Errorf("Search(erased words) = %+v, %v", es, err)
		}
		if en, err := q.Get(projectionstest.Ctx(t), h.Stream.ID); err != nil || en.NIR != event.ErasedText {
			t.Errorf("Get = %+v, %v", en, err)
		}
	})
}
