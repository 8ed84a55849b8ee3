package memberdirectory

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2025, 5, 28, 8, 0, 0, 0, time.UTC)

// nirHash is what cmd wires: a keyed hash of the NIR body under the server key.
func nirHash(t *testing.T) NIRHash {
	t.Helper()
	h, err := keyedhash.New(bytes.Repeat([]byte{0x5a}, keyedhash.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return func(body string) string { return h.StreamFor(Name, body).String() }
}

// person registers a member with these names and NIR (body, key) and returns its history.
func person(pos *uint64, last, first, body string, key int) *projectionstest.History {
	h := projectionstest.NewHistory(member.Category, pos, start)
	h.Add(member.TypeRegistered, member.Registered{RegistrationID: uuid.New(), NIR: body, Key: key, LastName: last,
		FirstName: first, BirthDate: "1990-01-01", Email: strings.ToLower(first) + "@example.org"})
	return h
}

// dump returns every row of the version's tables as sorted text.
func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	return projectionstest.DumpVersion(t, db, Name, Version, "_words")
}

func names(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.LastName + " " + e.FirstName
	}
	return out
}
