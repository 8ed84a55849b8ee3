package accounts

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

// erasedHistory is a member's history with every kind of personal data, then its erasure; personal lists the values
// written.
func erasedHistory() (h *projectionstest.History, personal []string) {
	var pos uint64
	h = projectionstest.NewHistory(member.Category, &pos, start)
	reg := registered()
	h.Add(member.TypeRegistered, reg)
	h.Add(member.TypePasswordSet, member.PasswordSet{Hash: "$argon2id$x", PolicyVersion: "1", Reason: "activation"})
	h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: "12 rue des Vignes", Line2: "Bâtiment B",
		PostalCode: "51100", City: "Reims", Country: "FR", EffectiveFrom: "2025-05-01"})
	h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: "3 chemin du Moulin", PostalCode: "21000",
		City: "Dijon", Country: "FR", EffectiveFrom: "2030-01-01"})
	h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})
	h.Add(member.TypePhoneChanged, member.PhoneChanged{MobilePhone: "+33700000001"})
	h.Add(member.TypeEmailChangeRequested, member.EmailChangeRequested{NewEmail: "nouveau@example.org", Sequence: 1,
		ExpiresAt: start.Add(time.Hour), PolicyVersion: "1"})
	h.Add(member.TypeDataErased, member.DataErased{Reason: member.ErasureRequested, Ticket: "DPO-1",
		Subjects: []uuid.UUID{h.Stream.ID, reg.RegistrationID}})
	return h, []string{reg.NIR, reg.LastName, reg.FirstName, reg.BirthDate, reg.Email, reg.MobilePhone,
		"+33700000001", "nouveau@example.org", "Vignes", "Bâtiment", "51100", "Reims", "Moulin", "21000", "Dijon", "FR"}
}

// TestErasure: the account shows the member's data; after DataErased every personal column reads ErasedText, the
// query answers with it, replays and a rebuild give the same rows, and so does a rebuild of the history decoded
// once the key is destroyed.
func TestErasure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		h, personal := erasedHistory()
		evs := h.Events
		p := projectionstest.Setup(t, db, New())
		projectionstest.Apply(t, db, p, evs[:len(evs)-1]...)
		before := dump(t, db)
		for _, v := range []string{"Lefèvre", "292112A004017", "Reims", "nouveau@example.org"} {
			if !slices.ContainsFunc(before, func(r string) bool { return strings.Contains(r, v) }) {
				t.Errorf("%q not shown before the erasure: %q", v, before)
			}
		}

		projectionstest.Apply(t, db, p, evs[len(evs)-1])
		want := dump(t, db)
		projectionstest.AssertErased(t, want, personal...)
		q := NewQueries(db, fixedClock(start.Add(10*time.Minute)))
		acc, err := q.Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if acc.NIR != event.ErasedText || acc.NIRKey != 0 || acc.LastName != event.ErasedText ||
			acc.FirstName != event.ErasedText || acc.BirthDate != event.ErasedText || acc.Email != event.ErasedText ||
			acc.MobilePhone != event.ErasedText || acc.PendingEmail == nil || acc.PendingEmail.Email != event.ErasedText ||
			acc.Address == nil || acc.Address.Line1 != event.ErasedText || acc.Address.City != event.ErasedText ||
			acc.ScheduledAddress == nil || acc.ScheduledAddress.Line2 != "" {
			t.Errorf("erased account: %+v %+v %+v", acc, acc.Address, acc.ScheduledAddress)
		}

		projectionstest.ReplaysAndRebuild(t, db, p, &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return projectionstest.DumpVersion(t, db, Name, version, "_addresses") })

		// After the keys are gone, a rebuild decodes the personal fields as erased: no error, the same rows.
		next := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 2)})
		erased := projectionstest.Erased(evs, projectionstest.EraseMember)
		for batch := range slices.Chunk(erased, 3) {
			projectionstest.Apply(t, db, next, batch...)
		}
		if got := projectionstest.DumpVersion(t, db, Name, Version+2, "_addresses"); !slices.Equal(got, want) {
			t.Errorf("rebuild of the erased history:\n got %q\nwant %q", got, want)
		}

		// The whole history in one batch: the same rows, clear or erased.
		for i, h := range [][]event.Envelope{evs, erased} {
			v := Version + 3 + i
			projectionstest.Apply(t, db, projectionstest.Setup(t, db, &Projection{Meta: meta.At(v)}), h...)
			if got := projectionstest.DumpVersion(t, db, Name, v, "_addresses"); !slices.Equal(got, want) {
				t.Errorf("one batch (%d):\n got %q\nwant %q", i, got, want)
			}
		}
	})
}

// TestErasedAddressWithoutDate: an address decoded as erased whose effective date cannot be read either is passed
// over, not an error.
func TestErasedAddressWithoutDate(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(member.Category, &pos, start)
		h.Add(member.TypeRegistered, projectionstest.EraseMember(registered()))
		a := h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: event.ErasedText, EffectiveFrom: event.ErasedText})
		h.Events[0].Erased, h.Events[1].Erased = true, true
		a.Erased = true
		projectionstest.Apply(t, db, p, h.Events...)
		if _, err := NewQueries(db, fixedClock(start)).Get(projectionstest.Ctx(t), h.Stream.ID); err != nil {
			t.Fatal(err)
		}
	})
}
