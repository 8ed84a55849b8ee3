package accounts

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2025, 5, 28, 8, 0, 0, 0, time.UTC)

func TestAccountFollowsTheMemberStream(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(member.Category, &pos, start)
		reg := registered()
		h.Add(member.TypeRegistered, reg)                                                                                // 08:00
		h.Add(member.TypePasswordSet, member.PasswordSet{Hash: "$argon2id$x", PolicyVersion: "1", Reason: "activation"}) // 08:01
		h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})                                               // 08:02
		h.Add(member.TypeLoginFailed, member.LoginFailed{Failures: 1})                                                   // 08:03
		h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})                                               // 08:04
		h.Add(member.TypePhoneChanged, member.PhoneChanged{MobilePhone: "+33700000001"})                                 // 08:05
		expires := start.Add(20 * time.Minute)
		last := h.Add(member.TypeEmailChangeRequested, member.EmailChangeRequested{NewEmail: "new@example.org",
			Sequence: 1, ExpiresAt: expires, PolicyVersion: "1"}) // 08:06
		projectionstest.Apply(t, db, p, h.Events...)

		q := NewQueries(db, fixedClock(start.Add(10*time.Minute)))
		got, err := q.Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		at := func(m int) *time.Time { x := start.Add(time.Duration(m) * time.Minute); return &x }
		want := Account{
			MemberID: h.Stream.ID, NIR: reg.NIR, NIRKey: reg.Key, LastName: reg.LastName, FirstName: reg.FirstName,
			BirthDate: reg.BirthDate, Email: reg.Email, MobilePhone: "+33700000001",
			PendingEmail: &PendingEmail{Email: "new@example.org", ExpiresAt: expires},
			Status:       StatusActive, RegisteredAt: start, LastLoginAt: at(4), PreviousLoginAt: at(2),
			PasswordChangedAt: at(1), Revision: last.Revision, Position: last.Position,
		}
		assertAccount(t, got, want)

		// The code was not confirmed in time: the pending change no longer shows.
		late, err := NewQueries(db, fixedClock(expires)).Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if late.PendingEmail != nil {
			t.Errorf("expired email change still pending: %+v", late.PendingEmail)
		}

		// Confirmed: the new address is the account's, nothing pending.
		changed := h.Add(member.TypeEmailChanged, member.EmailChanged{Email: "new@example.org"})
		projectionstest.Apply(t, db, p, changed)
		got, err = q.Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		want.Email, want.PendingEmail, want.Revision, want.Position = "new@example.org", nil, changed.Revision, changed.Position
		assertAccount(t, got, want)

		if _, err := q.Get(projectionstest.Ctx(t), uuid.New()); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) ||
			failure.CodeOf(err) != "account.not_found" {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func assertAccount(t *testing.T, got, want Account) {
	t.Helper()
	eqTime := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	eqPending := func(a, b *PendingEmail) bool {
		return (a == nil) == (b == nil) && (a == nil || a.Email == b.Email && a.ExpiresAt.Equal(b.ExpiresAt))
	}
	if !eqTime(got.LastLoginAt, want.LastLoginAt) || !eqTime(got.PreviousLoginAt, want.PreviousLoginAt) ||
		!eqTime(got.PasswordChangedAt, want.PasswordChangedAt) || !eqTime(got.LockedUntil, want.LockedUntil) ||
		!got.RegisteredAt.Equal(want.RegisteredAt) || !eqPending(got.PendingEmail, want.PendingEmail) {
		t.Errorf("times or pending email:\n got %+v\nwant %+v", got, want)
	}
	got.LastLoginAt, got.PreviousLoginAt, got.PasswordChangedAt, got.LockedUntil, got.PendingEmail = nil, nil, nil, nil, nil
	want.LastLoginAt, want.PreviousLoginAt, want.PasswordChangedAt, want.LockedUntil, want.PendingEmail = nil, nil, nil, nil, nil
	got.RegisteredAt, want.RegisteredAt = time.Time{}, time.Time{}
	if got.Address != nil && want.Address != nil && *got.Address == *want.Address {
		got.Address, want.Address = nil, nil
	}
	if got.ScheduledAddress != nil && want.ScheduledAddress != nil && *got.ScheduledAddress == *want.ScheduledAddress {
		got.ScheduledAddress, want.ScheduledAddress = nil, nil
	}
	if got != want {
		t.Errorf("account:\n got %+v\nwant %+v", got, want)
	}
}

func TestSameEventTwiceChangesNothing(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(member.Category, &pos, start)
		h.Add(member.TypeRegistered, registered())
		h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: "1 rue A", PostalCode: "75001", City: "Paris",
			Country: "FR", EffectiveFrom: "2025-05-01"})
		h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})
		h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: "2 rue B", PostalCode: "69001", City: "Lyon",
			Country: "FR", EffectiveFrom: "2025-09-01"})
		h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})
		// A correction: the move comes earlier; it replaces the one planned for September.
		h.Add(member.TypeAddressChanged, member.AddressChanged{Line1: "3 rue C", PostalCode: "13001", City: "Marseille",
			Country: "FR", EffectiveFrom: "2025-08-15"})
		evs := h.Events

		// One clean pass, for reference.
		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		pc := projectionstest.Setup(t, clean, New())
		projectionstest.Apply(t, clean, pc, evs...)
		want := dump(t, clean)
		if len(want) != 3 { // the account and two addresses: May's and the corrected move
			t.Fatalf("clean pass rows: %q", want)
		}

		projectionstest.Apply(t, db, p, evs[0])
		once := dump(t, db)
		projectionstest.Apply(t, db, p, evs[0])
		projectionstest.Apply(t, db, p, evs[0], evs[0])
		if got := dump(t, db); !slices.Equal(got, once) {
			t.Fatalf("replaying the first event changed rows:\n got %q\nwant %q", got, once)
		}
		projectionstest.Apply(t, db, p, evs[:4]...) // overlapping batch
		projectionstest.Apply(t, db, p, evs[4:]...)
		if got := dump(t, db); !slices.Equal(got, want) {
			t.Fatalf("in two batches:\n got %q\nwant %q", got, want)
		}
		for _, replay := range [][]int{{3, 1}, {0, 1, 2, 3, 4, 5}, {5, 3, 5}, {3}, {1}, {2, 2}} {
			var batch []event.Envelope
			for _, i := range replay {
				batch = append(batch, evs[i])
			}
			projectionstest.Apply(t, db, p, batch...)
			if got := dump(t, db); !slices.Equal(got, want) {
				t.Fatalf("after replaying events %v:\n got %q\nwant %q", replay, got, want)
			}
		}
	})
}

func TestAddressIsScheduledThenInForce(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(member.Category, &pos, start)
		h.Add(member.TypeRegistered, registered())
		projectionstest.Apply(t, db, p, h.Events...)
		get := func(now time.Time) Account {
			t.Helper()
			a, err := NewQueries(db, fixedClock(now)).Get(projectionstest.Ctx(t), h.Stream.ID)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		if a := get(start); a.Address != nil || a.ScheduledAddress != nil {
			t.Fatalf("addresses before any change: %+v / %+v", a.Address, a.ScheduledAddress)
		}

		current := member.AddressChanged{Line1: "1 rue A", PostalCode: "75001", City: "Paris", Country: "FR",
			EffectiveFrom: "2025-05-28"}
		next := member.AddressChanged{Line1: "Lieu-dit Les Granges", Line2: "Bâtiment B", PostalCode: "24200",
			City: "Sarlat-la-Canéda", Country: "FR", EffectiveFrom: "2025-06-02"}
		projectionstest.Apply(t, db, p, h.Add(member.TypeAddressChanged, current), h.Add(member.TypeAddressChanged, next))
		addr := func(c member.AddressChanged) *Address {
			return &Address{Line1: c.Line1, Line2: c.Line2, PostalCode: c.PostalCode, City: c.City, Country: c.Country,
				EffectiveFrom: c.EffectiveFrom}
		}
		same := func(a, b *Address) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

		for _, tc := range []struct {
			name            string
			now             time.Time
			want, scheduled *Address
		}{
			{"today", start, addr(current), addr(next)},
			// 23:30 in Paris on 1 June (summer time, UTC+2): still May's address.
			{"eve of the move in France", time.Date(2025, 6, 1, 21, 30, 0, 0, time.UTC), addr(current), addr(next)},
			// 00:30 in Paris on 2 June, while it is still 1 June in UTC: the move has taken effect.
			{"just after midnight in France", time.Date(2025, 6, 1, 22, 30, 0, 0, time.UTC), addr(next), nil},
			{"months later", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), addr(next), nil},
		} {
			a := get(tc.now)
			if !same(a.Address, tc.want) || !same(a.ScheduledAddress, tc.scheduled) {
				t.Errorf("%s: address %+v scheduled %+v, want %+v and %+v", tc.name, a.Address, a.ScheduledAddress,
					tc.want, tc.scheduled)
			}
		}
	})
}

func TestLockedUntilATime(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h := projectionstest.NewHistory(member.Category, &pos, start)
		h.Add(member.TypeRegistered, registered())
		until := start.Add(time.Hour)
		h.Add(member.TypeLoginFailed, member.LoginFailed{Failures: 5})
		h.Add(member.TypeLocked, member.Locked{Until: until, Reason: "too_many_failures"})
		projectionstest.Apply(t, db, p, h.Events...)

		a, err := NewQueries(db, fixedClock(start.Add(30*time.Minute))).Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != StatusLocked || a.LockedUntil == nil || !a.LockedUntil.Equal(until) {
			t.Errorf("during the lock: status %q until %v, want locked until %v", a.Status, a.LockedUntil, until)
		}
		a, err = NewQueries(db, fixedClock(until)).Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != StatusActive || a.LockedUntil != nil {
			t.Errorf("after the lock: status %q until %v, want active", a.Status, a.LockedUntil)
		}
	})
}

func TestOnlyMemberStreamsCount(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		reg := projectionstest.NewHistory(registration.Category, &pos, start)
		reg.Add(registration.TypeStarted, registration.Started{NIR: "292112A004017", Key: 59, LastName: "X",
			FirstName: "Y", BirthDate: "1992-11-03", Email: "x@example.org"})
		reset := projectionstest.NewHistory(member.PasswordResetCategory, &pos, start)
		reset.Add(member.TypeResetRequested, member.ResetRequested{MemberID: uuid.New(), Sequence: 1,
			ExpiresAt: start.Add(time.Hour)})
		claim := projectionstest.NewHistory(member.ClaimCategory, &pos, start)
		claim.Add(member.TypeClaimed, member.Claimed{MemberID: uuid.New()})
		st := projectionstest.NewHistory(staff.Category, &pos, start)
		st.Add(staff.TypeCreated, staff.Created{Login: "agent", Name: "Agent", Roles: []string{staff.RoleAdmin}})
		projectionstest.Apply(t, db, p, slices.Concat(reg.Events, reset.Events, claim.Events, st.Events)...)
		if rows := dump(t, db); len(rows) != 0 {
			t.Fatalf("rows from other streams: %q", rows)
		}

		// A member stream that does not open with Registered is a bug: the projection stops loudly.
		m := projectionstest.NewHistory(member.Category, &pos, start)
		bad := m.Add(member.TypePhoneChanged, member.PhoneChanged{MobilePhone: "+33611111111"})
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error { return p.Apply(projectionstest.Ctx(t), tx, []event.Envelope{bad}) })
		if err == nil {
			t.Fatal("an event before Registered was applied")
		}
	})
}
