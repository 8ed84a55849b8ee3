package projections

import (
	"slices"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Guard returns the condition that lets an upsert change a row only with a newer event:
// "<table>.<column> < excluded.<column>", for sqldb.Upsert.Where. column holds, in every row, the global position (or
// the stream revision) of the last event applied to it. An event replayed after a crash, a rebuild over existing
// rows or an older event arriving late then changes nothing.
func Guard(table, column string) string {
	return table + "." + column + " < excluded." + column
}

// GuardedUpsert returns the upsert of columns into table, keyed by key, that overwrites the other columns of an
// existing row only when the incoming row's column is greater than the stored one (see Guard). Use it with Exec for
// one row, or with ConflictClause and sqldb.BulkInsert for many (one row per key in a statement).
func GuardedUpsert(table string, key, columns []string, column string) sqldb.Upsert {
	var update []string
	for _, c := range columns {
		if !slices.Contains(key, c) {
			update = append(update, c)
		}
	}
	return sqldb.Upsert{Table: table, Columns: columns, Key: key, Update: update, Where: Guard(table, column)}
}
