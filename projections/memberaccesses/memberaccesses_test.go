package memberaccesses

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
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

// openings returns one member's access stream with n openings by two staff members, in turn a caseworker opening
// the account, an auditor opening a view this version has no label for, and the caseworker opening a case file
// (with the request's reference as subject).
func openings(pos *uint64, n int) *projectionstest.History {
	h := projectionstest.NewHistory(staff.AccessCategory, pos, start)
	caseworker, auditor := uuid.New(), uuid.New()
	for i := range n {
		switch i % 3 {
		case 0:
			h.Add(staff.TypeMemberDataOpened, staff.MemberDataOpened{StaffID: caseworker, Role: staff.RoleCaseworker, What: staff.ViewMemberAccount})
		case 1:
			h.Add(staff.TypeMemberDataOpened, staff.MemberDataOpened{StaffID: auditor, Role: staff.RoleAuditor, What: "future.view"})
		default:
			h.Add(staff.TypeMemberDataOpened, staff.MemberDataOpened{StaffID: caseworker, Role: staff.RoleCaseworker, What: staff.ViewCaseFile,
				Subject: "MSA-2026-7KQ2-M9XD-3F0A"})
		}
	}
	return h
}

func TestNewestFirstOwnOnlyAndPaged(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		alice := openings(&pos, 5)
		bob := openings(&pos, 1)
		events := slices.Clone(alice.Events)
		events = slices.Insert(events, 2, bob.Events...) // interleaved, as in the global log
		projectionstest.Apply(t, db, p, events...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)

		all, err := q.List(ctx, alice.Stream.ID, Query{})
		if err != nil || len(all.Accesses) != 5 || all.Before != nil {
			t.Fatalf("alice's log: %+v, %v", all, err)
		}
		for i, a := range all.Accesses {
			e := alice.Events[4-i] // newest first
			want := e.Event.(staff.MemberDataOpened)
			if !a.OpenedAt.Equal(e.Metadata.OccurredAt) || a.Role != want.Role || a.Purpose != want.What || a.Subject != want.Subject ||
				a.RoleLabel != staff.AccessRoleLabel(want.Role) || a.PurposeLabel != staff.AccessPurposeLabelOf(want.What, want.Subject) {
				t.Errorf("access %d: %+v, want %+v at %s", i, a, want, e.Metadata.OccurredAt)
			}
		}
		// newest first: 4 a future view, 3 the account (no subject), 2 a case file with its reference
		if all.Accesses[0].PurposeLabel != "Consultation de votre dossier par un agent de la caisse" ||
			all.Accesses[1].PurposeLabel == "" || all.Accesses[1].Subject != "" ||
			all.Accesses[2].Subject != "MSA-2026-7KQ2-M9XD-3F0A" ||
			all.Accesses[2].PurposeLabel != "Consultation de votre demande MSA-2026-7KQ2-M9XD-3F0A (formulaire et suivi)" {
			t.Errorf("labels: %+v", all.Accesses[:3])
		}
		// No subject, no "subject" key: the openings of the whole account read as they did.
		if raw, _ := json.Marshal(all.Accesses[1]); strings.Contains(string(raw), "subject") {
			t.Errorf("empty subject encoded: %s", raw)
		}
		// Never who: no staff id in what the member reads.
		raw, _ := json.Marshal(all)
		for _, e := range alice.Events {
			if strings.Contains(string(raw), e.Event.(staff.MemberDataOpened).StaffID.String()) {
				t.Fatalf("a staff id in the member's log: %s", raw)
			}
		}

		// Pages of two: 2, 2, 1, chained by the cursor, and together the whole log.
		var paged []Access
		var before *uint64
		for pages := 0; ; pages++ {
			page, err := q.List(ctx, alice.Stream.ID, Query{Before: before, Limit: 2})
			if err != nil || pages > 3 {
				t.Fatalf("page %d: %+v, %v", pages, page, err)
			}
			paged = append(paged, page.Accesses...)
			if page.Before == nil {
				if len(page.Accesses) != 1 {
					t.Errorf("last page: %+v", page)
				}
				break
			}
			before = page.Before
		}
		if !reflect.DeepEqual(paged, all.Accesses) {
			t.Errorf("pages %+v\nwhole %+v", paged, all.Accesses)
		}

		// Bob's log is his own; a member never opened has an empty list, not null.
		if b, err := q.List(ctx, bob.Stream.ID, Query{}); err != nil || len(b.Accesses) != 1 || b.Accesses[0].Role != staff.RoleCaseworker {
			t.Errorf("bob's log: %+v, %v", b, err)
		}
		if none, err := q.List(ctx, uuid.New(), Query{}); err != nil || none.Accesses == nil || len(none.Accesses) != 0 {
			t.Errorf("log of nobody: %#v, %v", none, err)
		}
		for _, limit := range []int{-1, MaxLimit + 1} {
			if _, err := q.List(ctx, alice.Stream.ID, Query{Limit: limit}); !errors.Is(err, ErrInvalidPage) {
				t.Errorf("limit %d: %v", limit, err)
			}
		}
	})
}

func TestSameEventsTwiceGiveTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := openings(&pos, 3)
		projectionstest.Apply(t, db, p, h.Events...)
		once := dump(t, db)
		if len(once) != 3 {
			t.Fatalf("rows %v", once)
		}
		projectionstest.Apply(t, db, p, h.Events...)
		for _, e := range h.Events {
			projectionstest.Apply(t, db, p, e, e)
		}
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("rows changed:\n%v\n%v", once, again)
		}
		// Events of other streams change nothing: a staff stream, a member stream.
		other := projectionstest.NewHistory(staff.Category, &pos, start)
		projectionstest.Apply(t, db, p, other.Add(staff.TypeRolesChanged, staff.RolesChanged{Roles: []string{staff.RoleAdmin}}))
		member := projectionstest.NewHistory("member", &pos, start)
		projectionstest.Apply(t, db, p, member.Add("TestCaseNoted", projectionstest.Noted{Text: "x"}))
		if again := dump(t, db); !reflect.DeepEqual(again, once) {
			t.Errorf("another category changed rows")
		}
	})
}

func TestRebuildGivesTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		a, b := openings(&pos, 4), openings(&pos, 3)
		events := append(slices.Clone(a.Events), b.Events...)
		p := projectionstest.Setup(t, db, New())
		// applied in overlapping batches, as after a crash between a batch and its checkpoint
		projectionstest.Apply(t, db, p, events[:3]...)
		projectionstest.Apply(t, db, p, events[2:6]...)
		projectionstest.Apply(t, db, p, events[5:]...)
		incremental := dump(t, db)
		if len(incremental) != 7 {
			t.Fatalf("rows %v", incremental)
		}
		if !slices.ContainsFunc(incremental, func(row string) bool { return strings.Contains(row, "MSA-2026-7KQ2-M9XD-3F0A") }) {
			t.Fatalf("no subject in the rows %v", incremental)
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

// Through the real runner over the embedded node: openings recorded by the command (as the HTTP layer records them
// before answering) reach the member's log, decoded from the stored events.
func TestThroughTheRunner(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		es := kurrentdbtest.Start(t, staff.Definitions())
		keys, err := keyedhash.FromHex("3b7e1f0a9c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f")
		if err != nil {
			t.Fatal(err)
		}
		hasher, err := credentials.NewHasher(credentials.Config{Params: credentials.Params{Memory: 7168, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32}})
		if err != nil {
			t.Fatal(err)
		}
		h, err := command.NewStaff(command.Runtime{Store: es.Store, Clock: func() time.Time { return start }}, keys, hasher, nil)
		if err != nil {
			t.Fatal(err)
		}
		member, caseworker := uuid.New(), uuid.New()
		var last command.Result
		for _, o := range []struct{ what, subject string }{{staff.ViewMemberAccount, ""}, {staff.ViewCaseFile, "MSA-2026-7KQ2-M9XD-3F0A"}} {
			m := command.Meta{Actor: event.Actor{ID: caseworker.String(), Role: event.RoleCaseworker}, CommandID: uuid.New()}
			if last, err = h.RecordMemberDataOpened(ctx, m, caseworker, staff.RoleCaseworker, member, o.what, o.subject); err != nil {
				t.Fatal(err)
			}
		}
		runner := projectionstest.StartRunner(t, db, es.Source, New())
		runner.Wait(t, last.Position)
		page, err := NewQueries(db).List(ctx, member, Query{})
		if err != nil || len(page.Accesses) != 2 || page.Accesses[0].Purpose != staff.ViewCaseFile || page.Accesses[1].Purpose != staff.ViewMemberAccount ||
			page.Accesses[0].Subject != "MSA-2026-7KQ2-M9XD-3F0A" || page.Accesses[1].Subject != "" ||
			!page.Accesses[0].OpenedAt.Equal(start) || page.Accesses[0].RoleLabel != "Conseiller de la caisse" {
			t.Fatalf("log through the runner: %+v, %v", page, err)
		}
	})
}
