package readmodels_test

import (
	"reflect"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

func hash(body string) string { return "h" + body }

// TestOneList: New wires a query for every field of Queries (a field added without its line in New fails here),
// lists each projection once, and Projections is the same list.
func TestOneList(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	list, q := readmodels.New(db, hash)
	v := reflect.ValueOf(q)
	for i := range v.NumField() {
		if v.Field(i).IsNil() {
			t.Errorf("Queries.%s is not wired by New", v.Type().Field(i).Name)
		}
	}
	names := map[string]bool{}
	for _, p := range list {
		if names[p.Name()] {
			t.Errorf("%s is listed twice", p.Name())
		}
		names[p.Name()] = true
	}
	again := readmodels.Projections(hash)
	if len(again) != len(list) {
		t.Fatalf("Projections lists %d, New %d", len(again), len(list))
	}
	for i, p := range again {
		if p.Name() != list[i].Name() || p.Version() != list[i].Version() {
			t.Errorf("Projections[%d] = %s v%d, New: %s v%d", i, p.Name(), p.Version(), list[i].Name(),
				list[i].Version())
		}
	}
	if _, q := readmodels.New(nil, hash); q != (readmodels.Queries{}) {
		t.Errorf("New(nil) built queries: %+v", q)
	}
}
