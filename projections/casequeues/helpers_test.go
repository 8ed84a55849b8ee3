package casequeues

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// feed applies batch to p in one transaction, as the runner does, then checks that the counters are what counting
// the cases gives.
func feed(tb testing.TB, db *sqldb.DB, p *Projection, batch ...event.Envelope) {
	tb.Helper()
	projectionstest.Apply(tb, db, p, batch...)
	checkCounters(tb, db, p.Version())
}

// dump returns every row of a version's tables (the cases and the counters) as sorted text, without the version in
// the table names.
func dump(t *testing.T, db *sqldb.DB, version int) []string {
	return projectionstest.DumpVersion(t, db, Name, version, "_status_counts", "_breach_counts")
}

// checkCounters fails the test unless the counter tables of version hold exactly what counting its open cases
// gives: the same keys (none at zero) and the same counts.
func checkCounters(tb testing.TB, db *sqldb.DB, version int) {
	tb.Helper()
	tt := tablesOf(version)
	for _, c := range []struct{ counters, counted string }{
		{"SELECT queue, status AS k, n FROM " + tt.statusCounts,
			"SELECT queue, status AS k, COUNT(*) AS n FROM " + tt.cases + " WHERE closed_at IS NULL GROUP BY queue, status"},
		{"SELECT queue, breach_at AS k, n FROM " + tt.breachCounts,
			"SELECT queue, breach_at AS k, COUNT(*) AS n FROM " + tt.cases +
				" WHERE closed_at IS NULL AND breach_at IS NOT NULL GROUP BY queue, breach_at"},
	} {
		got, want := counterRows(tb, db, c.counters), counterRows(tb, db, c.counted)
		if !slices.Equal(got, want) {
			tb.Fatalf("counters drifted from the cases:\n%s\n got %q\nwant %q", c.counters, got, want)
		}
	}
}

func counterRows(tb testing.TB, db *sqldb.DB, query string) []string {
	tb.Helper()
	var rows []struct {
		Queue string `db:"queue"`
		K     any    `db:"k"`
		N     int64  `db:"n"`
	}
	if err := db.Reader().SelectContext(projectionstest.Ctx(tb), &rows, query); err != nil {
		tb.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		k := r.K
		switch v := k.(type) {
		case time.Time:
			k = v.UTC().Format(time.RFC3339Nano)
		case []byte:
			k = string(v)
		}
		out[i] = fmt.Sprintf("%s|%v|%d", r.Queue, k, r.N)
	}
	slices.Sort(out)
	return out
}

func ids(cs []Case) []uuid.UUID {
	out := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.RequestID
	}
	return out
}
