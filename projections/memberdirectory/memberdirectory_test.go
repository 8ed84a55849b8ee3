package memberdirectory

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Lefèvre":                  "lefevre",
		"ÉLODIE":                   "elodie",
		"Jean-Pierre":              "jean pierre",
		"D'Aubigné":                "d aubigne",
		"  Œuvray   Ça\u00a0Ÿves ": "oeuvray ca yves",
		"Müller-Straße":            "muller strasse",
		"Noe\u0308l":               "noel", // decomposed diaeresis
		"Łukasz Żółć":              "lukasz zolc",
		"":                         "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	if got := words("D'Aubigné", "Jean-Pierre Marie"); !slices.Equal(got,
		[]string{"d", "aubigne", "daubigne", "jean", "pierre", "jeanpierre", "marie"}) {
		t.Errorf("words = %q", got)
	}
}

func TestSearchByNIR(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		corsica := person(&pos, "Lefèvre", "Élodie", "292112A004017", 59)
		paris := person(&pos, "Dupont", "Marc", "1850375115042", 16)
		projectionstest.Apply(t, db, p, slices.Concat(corsica.Events, paris.Events)...)
		q := NewQueries(db, hash, nil)

		for _, query := range []string{"292112A00401759", "2 92 11 2A 004 017 59", "292112a004017", "2.92.11.2A.004.017"} {
			got, err := q.Search(projectionstest.Ctx(t), query, 0)
			if err != nil {
				t.Fatalf("Search(%q): %v", query, err)
			}
			if len(got) != 1 || got[0].MemberID != corsica.Stream.ID || got[0].NIR != "292112A004017" || got[0].NIRKey != 59 {
				t.Errorf("Search(%q) = %+v, want the Ajaccio member", query, got)
			}
		}
		if got, err := q.Search(projectionstest.Ctx(t), "185037511504216", 10); err != nil || len(got) != 1 || got[0].MemberID != paris.Stream.ID {
			t.Errorf("Search(15 characters) = %+v, %v", got, err)
		}
		// The Corrèze twin of the Ajaccio NIR shares its key but is someone else (nobody here).
		if got, err := q.Search(projectionstest.Ctx(t), "2921119004017", 10); err != nil || len(got) != 0 {
			t.Errorf("Search(unknown NIR) = %+v, %v, want nothing", got, err)
		}
		if _, err := q.Search(projectionstest.Ctx(t), "292112A00401732", 10); !errors.Is(err, nir.ErrKey) || !errors.Is(err, failure.Invalid) {
			t.Errorf("Search(wrong key) error = %v, want nir.ErrKey", err)
		}
		if _, err := q.Search(projectionstest.Ctx(t), "1850375", 10); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Search(partial NIR) error = %v, want ErrInvalidQuery", err)
		}
	})
}

func TestSearchByNameWords(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		var all []*projectionstest.History
		for _, n := range [][2]string{
			{"Lefèvre", "Élodie"}, {"LEFEBVRE", "Jean-Pierre"}, {"Dupont", "Marie"}, {"D'Aubigné", "Agrippa"},
			{"Dupond", "Éric"}, {"Martin", "Zoé"}, {"Martin", "Albert"}, {"Martín", "Émile"}, {"Lévêque", "Œdipe"},
		} {
			all = append(all, person(&pos, n[0], n[1], "1850375115042", 16))
		}
		var evs = all[0].Events
		for _, h := range all[1:] {
			evs = append(evs, h.Events...)
		}
		projectionstest.Apply(t, db, p, evs...)
		q := NewQueries(db, hash, nil)

		for _, tc := range []struct {
			query string
			limit int
			want  []string
		}{
			{"lefe", 0, []string{"LEFEBVRE Jean-Pierre", "Lefèvre Élodie"}},
			{"LEFÈVRE élo", 0, []string{"Lefèvre Élodie"}},
			{"elodie lefevre", 0, []string{"Lefèvre Élodie"}},
			{"jean-pierre", 0, []string{"LEFEBVRE Jean-Pierre"}},
			{"jeanpierre", 0, []string{"LEFEBVRE Jean-Pierre"}},
			{"PIERRE", 0, []string{"LEFEBVRE Jean-Pierre"}},
			{"dup", 0, []string{"Dupond Éric", "Dupont Marie"}},
			{"dup", 1, []string{"Dupond Éric"}},
			{"d'aubigne", 0, []string{"D'Aubigné Agrippa"}},
			{"aubigné", 0, []string{"D'Aubigné Agrippa"}},
			{"daubigne", 0, []string{"D'Aubigné Agrippa"}},
			{"martin", 0, []string{"Martin Albert", "Martín Émile", "Martin Zoé"}},
			{"oedipe", 0, []string{"Lévêque Œdipe"}},
			{"dup x", 0, nil},
			{"upont", 0, nil}, // prefixes of words, not substrings
			// Every name with a word starting with e (Élodie, Émile, Éric), by last name then first name.
			{"É", 0, []string{"Dupond Éric", "Lefèvre Élodie", "Martín Émile"}},
		} {
			got, err := q.Search(projectionstest.Ctx(t), tc.query, tc.limit)
			if err != nil {
				t.Fatalf("Search(%q): %v", tc.query, err)
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("Search(%q, %d) = %q, want %q", tc.query, tc.limit, names(got), tc.want)
			}
		}
		for _, query := range []string{"", "   ", " - ' "} {
			if _, err := q.Search(projectionstest.Ctx(t), query, 0); !errors.Is(err, ErrInvalidQuery) || failure.CodeOf(err) != "memberdirectory.invalid_query" {
				t.Errorf("Search(%q) error = %v, want ErrInvalidQuery", query, err)
			}
		}
		got, err := q.Search(projectionstest.Ctx(t), "lévêque", 0)
		if err != nil || len(got) != 1 || got[0].SearchName != "leveque oedipe" || got[0].Email != "œdipe@example.org" {
			t.Errorf("Search(lévêque) = %+v, %v", got, err)
		}
	})
}

func TestSearchLimit(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		for i := range MaxLimit + 5 {
			projectionstest.Apply(t, db, p, person(&pos, "Bernard", strings.Repeat("a", i+1), "1850375115042", 16).Events...)
		}
		q := NewQueries(db, hash, nil)
		for limit, want := range map[int]int{0: DefaultLimit, 3: 3, MaxLimit + 100: MaxLimit} {
			got, err := q.Search(projectionstest.Ctx(t), "bernard", limit)
			if err != nil || len(got) != want {
				t.Errorf("Search(limit %d) = %d entries, %v; want %d", limit, len(got), err, want)
			}
		}
	})
}

func TestEmailAndLockAndReplays(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		h := person(&pos, "Dupont", "Marie", "1850375115042", 16)
		h.Add(member.TypeLoggedIn, member.LoggedIn{SessionID: uuid.New()})
		h.Add(member.TypeEmailChanged, member.EmailChanged{Email: "marie.dupont@example.org"})
		until := start.Add(time.Hour)
		h.Add(member.TypeLocked, member.Locked{Until: until, Reason: "too_many_failures"})
		other := projectionstest.NewHistory(registration.Category, &pos, start)
		other.Add(registration.TypeStarted, registration.Started{NIR: "1850375115042", Key: 16, LastName: "Dupont",
			FirstName: "Marie", BirthDate: "1990-01-01", Email: "x@example.org"})
		evs := slices.Concat(h.Events, other.Events)

		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		projectionstest.Apply(t, clean, projectionstest.Setup(t, clean, New(hash)), evs...)
		want := dump(t, clean)

		projectionstest.Apply(t, db, p, evs[0])
		projectionstest.Apply(t, db, p, evs[0], evs[0])
		projectionstest.Apply(t, db, p, evs[:3]...)
		projectionstest.Apply(t, db, p, evs...)
		projectionstest.Apply(t, db, p, evs[2], evs[0], evs[3], evs[1])
		if got := dump(t, db); !slices.Equal(got, want) {
			t.Fatalf("after replays:\n got %q\nwant %q", got, want)
		}

		e, err := NewQueries(db, hash, func() time.Time { return start.Add(30 * time.Minute) }).Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.Email != "marie.dupont@example.org" || e.Status != StatusLocked || e.LockedUntil == nil ||
			!e.LockedUntil.Equal(until) || !e.RegisteredAt.Equal(start) || e.BirthDate != "1990-01-01" || e.Revision != 3 {
			t.Errorf("entry while locked: %+v", e)
		}
		e, err = NewQueries(db, hash, func() time.Time { return until }).Get(projectionstest.Ctx(t), h.Stream.ID)
		if err != nil || e.Status != StatusActive || e.LockedUntil != nil {
			t.Errorf("entry after the lock: %+v, %v", e, err)
		}
		if _, err := NewQueries(db, hash, nil).Get(projectionstest.Ctx(t), uuid.New()); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

// No index of the directory holds a NIR in clear: lookups go through the keyed hash.
func TestNoNIRInClearInAnIndexedColumn(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		bodies := []string{"292112A004017", "1850375115042", "1880999350045"}
		for i, body := range bodies {
			n, err := nir.ParseLogin(body)
			if err != nil {
				t.Fatal(err)
			}
			projectionstest.Apply(t, db, p, person(&pos, "Nom", []string{"Un", "Deux", "Trois"}[i], body, n.Key()).Events...)
		}
		var checked []string
		for _, table := range []string{projections.Prefix(Name, Version), projections.Prefix(Name, Version) + "_words"} {
			cols := indexedColumns(t, db, table)
			if len(cols) == 0 {
				t.Fatalf("%s has no index", table)
			}
			for _, col := range cols {
				var values []string
				if err := db.Reader().SelectContext(projectionstest.Ctx(t), &values, "SELECT "+col+" FROM "+table); err != nil {
					t.Fatal(err)
				}
				for _, v := range values {
					for _, b := range bodies {
						if strings.Contains(strings.ToUpper(v), b) {
							t.Errorf("indexed column %s.%s holds a NIR in clear", table, col)
						}
					}
				}
				checked = append(checked, table+"."+col)
			}
		}
		if !slices.Contains(checked, projections.Prefix(Name, Version)+".nir_hash") {
			t.Errorf("the NIR lookup column is not indexed; indexed: %q", checked)
		}
		if slices.Contains(checked, projections.Prefix(Name, Version)+".nir") {
			t.Errorf("the clear NIR column is indexed")
		}
	})
}

// indexedColumns lists the columns that appear in an index of table (primary keys included).
func indexedColumns(t *testing.T, db *sqldb.DB, table string) []string {
	t.Helper()
	q := "SELECT DISTINCT ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii ORDER BY 1"
	if db.Dialect() == sqldb.Postgres {
		q = `SELECT DISTINCT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
			WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`
	}
	var cols []string
	if err := db.Reader().SelectContext(projectionstest.Ctx(t), &cols, q, table); err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestResetEndsTheLock: a password set by a forgotten-password reset ends the lock in the directory, as the member
// aggregate decides (member.State); a password change leaves it, and moves nothing the directory shows.
func TestResetEndsTheLock(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		hash := nirHash(t)
		p := projectionstest.Setup(t, db, New(hash))
		var pos uint64
		h := person(&pos, "Dupont", "Marie", "1850375115042", 16)
		until := start.Add(time.Hour)
		h.Add(member.TypeLocked, member.Locked{Until: until, Reason: "too_many_failures"})
		h.Add(member.TypePasswordSet, member.PasswordSet{Hash: "x", PolicyVersion: "p", Reason: member.ReasonChange})
		projectionstest.Apply(t, db, p, h.Events...)
		q := NewQueries(db, hash, func() time.Time { return start.Add(30 * time.Minute) })
		if e, err := q.Get(projectionstest.Ctx(t), h.Stream.ID); err != nil || e.Status != StatusLocked || e.Revision != 1 {
			t.Fatalf("after a change: %+v, %v", e, err)
		}
		h.Add(member.TypePasswordSet, member.PasswordSet{Hash: "y", PolicyVersion: "p", Reason: member.ReasonReset})
		projectionstest.Apply(t, db, p, h.Events...)
		if e, err := q.Get(projectionstest.Ctx(t), h.Stream.ID); err != nil || e.Status != StatusActive ||
			e.LockedUntil != nil || e.Revision != 3 {
			t.Fatalf("after a reset: %+v, %v", e, err)
		}
	})
}
