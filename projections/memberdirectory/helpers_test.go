package memberdirectory

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
)

var start = time.Date(2025, 5, 28, 8, 0, 0, 0, time.UTC)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// nirHash is what cmd wires: a keyed hash of the NIR body under the server key.
func nirHash(t *testing.T) NIRHash {
	t.Helper()
	h, err := keyedhash.New(bytes.Repeat([]byte{0x5a}, keyedhash.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return func(body string) string { return h.StreamFor(Name, body).String() }
}

// history builds the envelopes of one member stream as the store hands them out.
type history struct {
	stream   event.StreamID
	position *uint64
	events   []event.Envelope
}

func newHistory(category string, position *uint64) *history {
	return &history{stream: event.NewStreamID(category, uuid.New()), position: position}
}

func (h *history) add(typ string, v any) event.Envelope {
	*h.position += 10
	rev := uint64(len(h.events))
	cmd := uuid.New()
	at := start.Add(time.Duration(rev) * time.Minute)
	e := event.Envelope{
		Stream: h.stream, Revision: rev, Position: *h.position, EventID: event.DeriveID(cmd, 0), Type: typ, Event: v,
		Metadata: event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor: event.Actor{ID: h.stream.ID.String(), Role: event.RoleMember}, OccurredAt: at, SchemaVersion: 1},
		RecordedAt: at,
	}
	h.events = append(h.events, e)
	return e
}

// person registers a member with these names and NIR (body, key) and returns its history.
func person(pos *uint64, last, first, body string, key int) *history {
	h := newHistory(member.Category, pos)
	h.add(member.TypeRegistered, member.Registered{RegistrationID: uuid.New(), NIR: body, Key: key, LastName: last,
		FirstName: first, BirthDate: "1990-01-01", Email: strings.ToLower(first) + "@example.org"})
	return h
}

func setup(t *testing.T, db *sqldb.DB, hash NIRHash) *Projection {
	t.Helper()
	p := New(hash)
	if err := projections.Setup(ctxT(t), db, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func apply(t *testing.T, db *sqldb.DB, p *Projection, batch ...event.Envelope) {
	t.Helper()
	if err := db.InTx(ctxT(t), func(tx *sqldb.Tx) error { return p.Apply(ctxT(t), tx, batch) }); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// dump returns every row of the version's tables as sorted text.
func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	var out []string
	for _, table := range []string{projections.Prefix(Name, Version), projections.Prefix(Name, Version) + "_words"} {
		rows, err := db.Reader().QueryxContext(ctxT(t), "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			b.WriteString(table)
			for _, k := range keys {
				v := m[k]
				switch x := v.(type) {
				case []byte:
					v = string(x)
				case time.Time:
					v = x.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(&b, " %s=%v", k, v)
			}
			out = append(out, b.String())
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func names(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.LastName + " " + e.FirstName
	}
	return out
}
