package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// history builds the envelopes of one stream as the store would hand them out: revisions from 0, global positions
// taken from a shared counter, business times one minute apart from start.
type history struct {
	stream   event.StreamID
	position *uint64
	start    time.Time
	events   []event.Envelope
}

func newHistory(category string, position *uint64, start time.Time) *history {
	return &history{stream: event.NewStreamID(category, uuid.New()), position: position, start: start}
}

// add appends v and returns its envelope.
func (h *history) add(typ string, v any) event.Envelope {
	*h.position += 10
	rev := uint64(len(h.events))
	cmd := uuid.New()
	e := event.Envelope{
		Stream: h.stream, Revision: rev, Position: *h.position, EventID: event.DeriveID(cmd, 0), Type: typ, Event: v,
		Metadata: event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor:      event.Actor{ID: h.stream.ID.String(), Role: event.RoleMember},
			OccurredAt: h.start.Add(time.Duration(rev) * time.Minute), SchemaVersion: 1},
		RecordedAt: h.start.Add(time.Duration(rev) * time.Minute),
	}
	h.events = append(h.events, e)
	return e
}

func registered() member.Registered {
	return member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
		FirstName: "Élodie", BirthDate: "1992-11-03", Email: "elodie@example.org", MobilePhone: "+33612345678"}
}

func setup(t *testing.T, db *sqldb.DB) *Projection {
	t.Helper()
	p := New()
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

// dump returns every row of the version's tables as text, sorted: a picture to compare before and after replays.
func dump(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	var out []string
	for _, table := range []string{projections.Prefix(Name, Version), projections.Prefix(Name, Version) + "_addresses"} {
		rows, err := db.Reader().QueryxContext(ctxT(t), "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+" "+format(m))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func format(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := m[k]
		switch x := v.(type) {
		case []byte:
			v = string(x)
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "%s=%v;", k, v)
	}
	return b.String()
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
