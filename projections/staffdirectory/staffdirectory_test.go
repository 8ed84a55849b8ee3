package staffdirectory

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	return projectionstest.Dump(t, db, projections.Prefix(Name, Version))
}

// account returns a staff stream: the account's creation with name, then a roles change and a login, which name
// nobody.
func account(pos *uint64, name string) *projectionstest.History {
	h := projectionstest.NewHistory(staff.Category, pos, start)
	h.Add(staff.TypeCreated, staff.Created{Login: "x.y", Name: name, Roles: []string{staff.RoleCaseworker}})
	h.Add(staff.TypeRolesChanged, staff.RolesChanged{Roles: []string{staff.RoleSupervisor}})
	h.Add(staff.TypeLoggedIn, staff.LoggedIn{SessionID: uuid.New()})
	return h
}

func TestNamesOfStaffIDsInOneQuery(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		claire, victor := account(&pos, "Claire Dupont"), account(&pos, "Victor Roux")
		projectionstest.Apply(t, db, p, append(slices.Clone(claire.Events), victor.Events...)...)
		q := NewQueries(db)
		member := uuid.New()
		got, err := q.Names(projectionstest.Ctx(t), []uuid.UUID{claire.Stream.ID, member, victor.Stream.ID, claire.Stream.ID, uuid.Nil})
		want := map[uuid.UUID]string{claire.Stream.ID: "Claire Dupont", victor.Stream.ID: "Victor Roux"}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("names %v, %v; want %v", got, err, want)
		}
		if none, err := q.Names(projectionstest.Ctx(t), nil); err != nil || none == nil || len(none) != 0 {
			t.Errorf("names of nobody: %#v, %v", none, err)
		}
		// More ids than one query takes: read in chunks, the same answer.
		many := []uuid.UUID{victor.Stream.ID}
		for range MaxIDs + 10 {
			many = append(many, uuid.New())
		}
		many = append(many, claire.Stream.ID)
		if got, err := q.Names(projectionstest.Ctx(t), many); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("names of %d ids: %v, %v", len(many), got, err)
		}
	})
}

func TestSameEventsTwiceGiveTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := account(&pos, "Claire Dupont")
		projectionstest.Apply(t, db, p, h.Events...)
		once := dump(t, db)
		if len(once) != 1 {
			t.Fatalf("rows %v", once)
		}
		projectionstest.Apply(t, db, p, h.Events...)
		for _, e := range h.Events {
			projectionstest.Apply(t, db, p, e, e)
		}
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("rows changed:\n%v\n%v", once, again)
		}
		// An older revision of the same stream changes nothing: the row keeps the revision it reflects.
		stale := h.Events[0]
		stale.Event = staff.Created{Login: "x.y", Name: "Someone Else", Roles: []string{staff.RoleAuditor}}
		projectionstest.Apply(t, db, p, stale)
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("a replayed event with other content changed rows:\n%v\n%v", once, again)
		}
		// Events of other categories change nothing, even a creation's payload on another stream.
		other := projectionstest.NewHistory(staff.AccessCategory, &pos, start)
		projectionstest.Apply(t, db, p, other.Add(staff.TypeMemberDataOpened, staff.MemberDataOpened{StaffID: h.Stream.ID,
			Role: staff.RoleCaseworker, What: staff.ViewCaseFile}))
		member := projectionstest.NewHistory("member", &pos, start)
		projectionstest.Apply(t, db, p, member.Add(staff.TypeCreated, staff.Created{Name: "Not Staff"}))
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("another category changed rows: %v", again)
		}
	})
}

func TestRebuildGivesTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		var events []event.Envelope
		for _, name := range []string{"Claire Dupont", "Victor Roux", "Anne Leroy"} {
			events = append(events, account(&pos, name).Events...)
		}
		p := projectionstest.Setup(t, db, New())
		// applied in overlapping batches, as after a crash between a batch and its checkpoint
		projectionstest.Apply(t, db, p, events[:4]...)
		projectionstest.Apply(t, db, p, events[2:7]...)
		projectionstest.Apply(t, db, p, events[6:]...)
		incremental := dump(t, db)
		if len(incremental) != 3 {
			t.Fatalf("rows %v", incremental)
		}
		if _, err := db.ExecContext(projectionstest.Ctx(t), "DELETE FROM "+projections.Prefix(Name, Version)); err != nil {
			t.Fatal(err)
		}
		projectionstest.Apply(t, db, p, events...)
		if rebuilt := dump(t, db); !reflect.DeepEqual(rebuilt, incremental) {
			t.Errorf("rebuild differs:\n%v\n%v", incremental, rebuilt)
		}
	})
}
