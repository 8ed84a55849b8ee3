// Package projectionstest holds what the tests of the projections share: sample events, runners run in the
// background, hand-built histories, and readers of checkpoints and tables.
//
// Like the projections, it imports neither the event-store client nor its adapters: a test wires the event store
// itself (see adapters/kurrentdb/kurrentdbtest) and hands its source to StartRunner.
package projectionstest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Sample events of a fictitious aggregate; a projection such as streamactivity reads only their envelopes.
type (
	Opened struct {
		Queue string `json:"queue"`
	}
	Noted struct {
		Text string `json:"text"`
	}
	// Unknown is in Unknowns only: a store whose codec has it writes what a runner's codec cannot decode.
	Unknown struct {
		X int `json:"x"`
	}
)

var (
	// Known defines Opened and Noted.
	Known = []event.Definition{event.Define[Opened]("TestCaseOpened"), event.Define[Noted]("TestCaseNoted")}
	// Unknowns defines Unknown.
	Unknowns = []event.Definition{event.Define[Unknown]("TestCaseUnknown")}
)

// Logger logs at debug level to stderr under go test -v, and discards otherwise.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Meta is the metadata of a caseworker's command with fresh ids.
func Meta() event.Metadata {
	cmd := uuid.New()
	return event.Metadata{
		CorrelationID: uuid.New(), CausationID: cmd, CommandID: cmd,
		Actor:      event.Actor{ID: uuid.NewString(), Role: event.RoleCaseworker},
		OccurredAt: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC),
	}
}

// Ctx returns a context that ends with the test, or after two minutes.
func Ctx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func ctxT(tb testing.TB) context.Context { return Ctx(tb) }

// Runner is a projections.Runner running in the background.
type Runner struct {
	*projections.Runner
	done   chan error
	cancel context.CancelFunc
}

// StartRunner runs a runner of ps over source, logging with Logger and retrying after 200 ms, until the test ends.
func StartRunner(t *testing.T, db *sqldb.DB, source projections.Source, ps ...projections.Projection) *Runner {
	t.Helper()
	opts := projections.Options{Logger: Logger(), RetryDelay: 200 * time.Millisecond}
	r, err := projections.NewRunner(db, source, opts, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return Start(t, r)
}

// Start runs r in the background until the test ends.
func Start(t *testing.T, r *projections.Runner) *Runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &Runner{Runner: r, done: make(chan error, 1), cancel: cancel}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { run.Stop(t) })
	return run
}

// Stop ends the runner and returns what Run returned.
func (r *Runner) Stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("runner did not stop")
		return nil
	}
}

// Ended waits for Run to end by itself and returns what it returned.
func (r *Runner) Ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("runner did not stop by itself")
		return nil
	}
}

// Wait waits until the runner's projections reflect position.
func (r *Runner) Wait(t *testing.T, position uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, position); err != nil {
		t.Fatalf("WaitFor(%d): %v", position, err)
	}
}

// WaitStored waits until the stored checkpoint of every live projection version on db reaches position. A batch
// that wrote nothing moves a projection's position at once (Wait returns) but stores its checkpoint only within
// projections.Options.CheckpointInterval; what reads the checkpoint table (Verify, `projections status` from
// another process) sees the stored one.
func WaitStored(t *testing.T, db *sqldb.DB, position uint64) {
	t.Helper()
	Eventually(t, fmt.Sprintf("the stored checkpoints at position %d", position), func() bool {
		cps, err := projections.ReadCheckpoints(ctxT(t), db.Reader())
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range cps {
			if cp.State == projections.StateLive && cp.Position < position {
				return false
			}
		}
		return true
	})
}

// Eventually polls cond until it holds or 20 s pass.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Checkpoints returns the checkpoints of the projection called name, by version.
func Checkpoints(t *testing.T, db *sqldb.DB, name string) map[int]projections.Checkpoint {
	t.Helper()
	cps, err := projections.ReadCheckpoints(ctxT(t), db.Reader())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]projections.Checkpoint{}
	for _, cp := range cps {
		if cp.Name == name {
			out[cp.Version] = cp
		}
	}
	return out
}

// TableExists reports whether db has table.
func TableExists(t *testing.T, db *sqldb.DB, table string) bool {
	t.Helper()
	_, err := db.Reader().ExecContext(ctxT(t), "SELECT 1 FROM "+table+" WHERE 1 = 0")
	return err == nil
}

// History builds the envelopes of one stream as the store hands them out: revisions from 0, global positions taken
// from a shared counter, business and recording times one minute apart from a start, the stream's own id as a
// member's actor id.
type History struct {
	Stream   event.StreamID
	Events   []event.Envelope
	position *uint64
	start    time.Time
}

// NewHistory returns the empty history of a new stream of category.
func NewHistory(category string, position *uint64, start time.Time) *History {
	return &History{Stream: event.NewStreamID(category, uuid.New()), position: position, start: start}
}

// Add appends v, of type name typ, and returns its envelope.
func (h *History) Add(typ string, v any) event.Envelope {
	*h.position += 10
	rev := uint64(len(h.Events))
	cmd := uuid.New()
	at := h.start.Add(time.Duration(rev) * time.Minute)
	e := event.Envelope{
		Stream: h.Stream, Revision: rev, Position: *h.position, EventID: event.DeriveID(cmd, 0), Type: typ, Event: v,
		Metadata: event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor: event.Actor{ID: h.Stream.ID.String(), Role: event.RoleMember}, OccurredAt: at, SchemaVersion: 1},
		RecordedAt: at,
	}
	h.Events = append(h.Events, e)
	return e
}

// Erased returns a copy of evs as they decode once their subject's key is destroyed (see event.Sealer): each event
// passed through erase, which returns it with its personal fields read as erased (texts event.ErasedText, other
// values zero), and marked Erased when erase changed it. Positions, revisions and metadata stay.
func Erased(evs []event.Envelope, erase func(any) any) []event.Envelope {
	out := make([]event.Envelope, len(evs))
	for i, e := range evs {
		v := erase(e.Event)
		if !reflect.DeepEqual(v, e.Event) {
			e.Event, e.Erased = v, true
		}
		out[i] = e
	}
	return out
}

// AssertErased fails the test unless some row of rows (see Dump) shows event.ErasedText and none holds any of
// personal, the values the history wrote before the erasure.
func AssertErased(tb testing.TB, rows []string, personal ...string) {
	tb.Helper()
	shown := false
	for _, r := range rows {
		shown = shown || strings.Contains(r, event.ErasedText)
		for _, v := range personal {
			if strings.Contains(r, v) {
				tb.Errorf("erased value %q still in row %q", v, r)
			}
		}
	}
	if !shown {
		tb.Errorf("no row shows %q: %q", event.ErasedText, rows)
	}
}

// Setup creates p's tables in db and returns p.
func Setup[P projections.Projection](tb testing.TB, db *sqldb.DB, p P) P {
	tb.Helper()
	if err := projections.Setup(ctxT(tb), db, p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Apply applies batch to p in one transaction, as the runner does.
func Apply(tb testing.TB, db *sqldb.DB, p projections.Projection, batch ...event.Envelope) {
	tb.Helper()
	if err := db.InTx(ctxT(tb), func(tx *sqldb.Tx) error { return p.Apply(ctxT(tb), tx, batch) }); err != nil {
		tb.Fatalf("apply: %v", err)
	}
}

// Dump returns every row of tables as text, sorted: a picture to compare before and after replays.
func Dump(t testing.TB, db *sqldb.DB, tables ...string) []string {
	t.Helper()
	var out []string
	for _, table := range tables {
		rows, err := db.Reader().QueryxContext(ctxT(t), "SELECT * FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+format(m))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// DumpVersion returns every row of the tables of projection name at version as Dump does, without the version in the
// table names, so that two versions compare: its main table and the tables Prefix(name, version)+suffix
// ("_steps").
func DumpVersion(tb testing.TB, db *sqldb.DB, name string, version int, suffixes ...string) []string {
	tb.Helper()
	prefix := projections.Prefix(name, version)
	tables := []string{prefix}
	for _, s := range suffixes {
		tables = append(tables, prefix+s)
	}
	rows := Dump(tb, db, tables...)
	for i, r := range rows {
		rows[i] = r[len(prefix):]
	}
	return rows
}

// format writes a row's columns in name order, " name=value" each.
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
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	return b.String()
}

// ReplaysAndRebuild is the check a projection owes its runtime: evs (at least five events) applied to live (set up
// in db) event by event, then all again, in reverse, and in a mixed order with duplicates, leave exactly the rows
// want; and next, a newer version of the same projection set up beside it and fed evs in batches of 7 as a rebuild
// does, holds the same rows. apply applies a batch in one transaction; dump gives a version's rows without the
// version in their table names.
func ReplaysAndRebuild(t *testing.T, db *sqldb.DB, live, next projections.Projection, evs []event.Envelope,
	want []string, apply func(p projections.Projection, batch ...event.Envelope), dump func(version int) []string) {
	t.Helper()
	for _, e := range evs {
		apply(live, e)
	}
	apply(live, evs...)
	reversed := slices.Clone(evs)
	slices.Reverse(reversed)
	apply(live, reversed...)
	apply(live, evs[3], evs[0], evs[3], evs[len(evs)-1], evs[1])
	if got := dump(live.Version()); !slices.Equal(got, want) {
		t.Fatalf("after replays:\n got %q\nwant %q", got, want)
	}

	Setup(t, db, next)
	for batch := range slices.Chunk(evs, 7) {
		apply(next, batch...)
	}
	if got := dump(next.Version()); !slices.Equal(got, want) {
		t.Fatalf("rebuilt version:\n got %q\nwant %q", got, want)
	}
}

// Running reports whether Run is still running.
func (r *Runner) Running() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return false
	default:
		return true
	}
}
