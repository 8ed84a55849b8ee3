package messaging_test

import (
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// keys returns the event ids of handler's processed-event keys, sorted.
func keys(t *testing.T, db *sqldb.DB, handler string) []string {
	t.Helper()
	var ids []string
	r := db.Reader()
	if err := r.SelectContext(ctxT(t), &ids, r.Rebind(`SELECT event_id FROM reaction_processed WHERE handler = ? ORDER BY event_id`), handler); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestPruneKeepsWhatADeliveryOrAReplayMayNeed(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		migrate(t, db)
		now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		old, recent := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		checkpoint := func(handler string, position int64, at time.Time) {
			exec(`INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)`, handler, position, at)
		}
		key := func(handler string, position sql.NullInt64, at time.Time) string {
			id := uuid.NewString()
			exec(`INSERT INTO reaction_processed (handler, event_id, processed_at, position) VALUES (?, ?, ?, ?)`,
				handler, id, at, position)
			return id
		}
		pos := func(p int64) sql.NullInt64 { return sql.NullInt64{Int64: p, Valid: true} }
		none := sql.NullInt64{}

		checkpoint("test.a", 100, now.Add(-time.Minute))
		behind := key("test.a", pos(50), old)
		atCheckpoint := key("test.a", pos(100), old)
		ahead := key("test.a", pos(150), old)      // in flight: the subscription may deliver it again
		young := key("test.a", pos(60), recent)    // within the retention
		poisoned := key("test.a", pos(70), old)    // a replay needs its key
		legacy := key("test.a", none, old)         // no position, checkpoint stored long after it
		legacyYoung := key("test.a", none, recent) // no position, within the retention
		exec(`INSERT INTO reaction_poison (handler, event_id, stream, position, event_type, correlation_id, kind, code,
			error, attempts, failed_at) VALUES (?, ?, 'testcase-x', 70, 'TestCaseNoted', '', 'rule', 'rule', 'rule', 1, ?)`,
			"test.a", poisoned, old)
		// Another handler's checkpoint was stored just after its legacy key: the key may be its in-flight event's.
		checkpoint("test.b", 100, old.Add(time.Minute))
		legacyB := key("test.b", none, old)
		behindB := key("test.b", pos(10), old.Add(-time.Hour))
		// A handler that never stored a checkpoint keeps everything.
		neverRan := key("test.c", pos(1), old)

		opts := messaging.PruneOptions{OlderThan: 30 * 24 * time.Hour, Now: now, DryRun: true}
		dry, err := messaging.Prune(ctx, db, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := []messaging.PruneResult{{Handler: "test.a", Checkpoint: 100, Pruned: 3}, {Handler: "test.b", Checkpoint: 100, Pruned: 1}}
		if !slices.Equal(dry, want) {
			t.Errorf("dry run = %+v, want %+v", dry, want)
		}
		if n, err := messaging.ProcessedCount(ctx, db, ""); err != nil || n != 10 {
			t.Fatalf("a dry run removed keys: %d left, %v", n, err)
		}

		opts.DryRun = false
		got, err := messaging.Prune(ctx, db, opts)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("prune = %+v, %v; want %+v", got, err, want)
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		if k := keys(t, db, "test.a"); !slices.Equal(k, sorted(ahead, young, poisoned, legacyYoung)) {
			t.Errorf("test.a keeps %v, want %v (pruned: %v)", k, sorted(ahead, young, poisoned, legacyYoung),
				[]string{behind, atCheckpoint, legacy})
		}
		if k := keys(t, db, "test.b"); !slices.Equal(k, []string{legacyB}) {
			t.Errorf("test.b keeps %v, want only %s (%s pruned)", k, legacyB, behindB)
		}
		if k := keys(t, db, "test.c"); !slices.Equal(k, []string{neverRan}) {
			t.Errorf("test.c keeps %v, want %s", k, neverRan)
		}
		// Once the poison event is gone (replayed), its key may go too; Handler limits the prune to one handler.
		exec(`DELETE FROM reaction_poison`)
		got, err = messaging.Prune(ctx, db, messaging.PruneOptions{Handler: "test.a", OlderThan: 30 * 24 * time.Hour, Now: now})
		if err != nil || !slices.Equal(got, []messaging.PruneResult{{Handler: "test.a", Checkpoint: 100, Pruned: 1}}) {
			t.Errorf("second prune = %+v, %v; want the formerly poisoned key only", got, err)
		}
		if _, err := messaging.Prune(ctx, db, messaging.PruneOptions{}); err == nil {
			t.Error("a prune without a retention was accepted")
		}
	})
}

// The router records each key with its event's position and prunes, under the handler's lease, what its checkpoint
// has passed; a poison event keeps its key, so that its replay still does its effect exactly once.
func TestRouterPrunesBehindTheCheckpoint(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})
		fixable := l.appendOne(t, stream, caseNoted{Text: noteFixable})
		b := l.appendOne(t, stream, caseNoted{Text: noteOK})

		reg := prometheus.NewRegistry()
		cfg := fastConfig(l, db)
		cfg.Registry = reg
		cfg.Events = messaging.NewStoreEvents(l.client, l.codec)
		cfg.ReplayInterval = 20 * time.Millisecond
		cfg.ProcessedRetention = time.Nanosecond
		cfg.PruneInterval = 20 * time.Millisecond
		rec := newRecorder("test.prune", db)

		// Positions are recorded: check them before the router prunes, with a router that does not.
		noPrune := cfg
		noPrune.Registry, noPrune.ProcessedRetention = nil, -1
		first, err := messaging.NewRouter(noPrune)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		stop := running(t, first)
		waitCheckpoint(t, db, rec.name, b.commit.Position)
		stop()
		for _, e := range []appended{a, fixable, b} {
			var p sql.NullInt64
			r := db.Reader()
			if err := r.QueryRowxContext(ctxT(t), r.Rebind(`SELECT position FROM reaction_processed WHERE handler = ? AND event_id = ?`),
				rec.name, e.eventID.String()).Scan(&p); err != nil {
				t.Fatal(err)
			}
			if !p.Valid || uint64(p.Int64) != e.commit.Position {
				t.Errorf("key of the event at %d recorded with position %+v", e.commit.Position, p)
			}
		}

		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitFor(t, "the keys behind the checkpoint to be pruned", func() bool {
			return slices.Equal(keys(t, db, rec.name), []string{fixable.eventID.String()})
		})
		waitFor(t, "the pruned counter to reach 2", func() bool {
			return gather(t, reg)[`dossier_reaction_processed_pruned_total{handler=test.prune}`] == 2
		})

		rec.fix()
		marked, err := messaging.RequestReplay(ctxT(t), db, messaging.ReplayRequest{All: true, By: "ops-1", At: time.Now()})
		if err != nil || len(marked) != 1 {
			t.Fatalf("request replay: %+v, %v", marked, err)
		}
		if outcome, _ := replayed(t, db, marked[0]); outcome != messaging.ReplaySucceeded {
			t.Fatalf("replay outcome %v", outcome)
		}
		if n := effects(t, db, rec.name, fixable.eventID); n != 1 {
			t.Errorf("the replayed event's effect was done %d times, want 1", n)
		}
		// No longer poison: its key goes at the next prune.
		waitFor(t, "the replayed event's key to be pruned", func() bool { return len(keys(t, db, rec.name)) == 0 })
	})
}

// TestPruneRemovesOrphanClaims: claims of external effects (reaction_in_flight) that hold nobody off any more go with
// the keys' pruning: those whose key is recorded, and those older than both the retention and the in-flight window
// (an effect that failed, whose claim could not be dropped, and that nobody tried again). A claim within the window
// stays whatever the retention: another holder must go on waiting for it. Claims lists what is left.
func TestPruneRemovesOrphanClaims(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		migrate(t, db)
		now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, db.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(handler string, since time.Time) string {
			id := uuid.NewString()
			exec(`INSERT INTO reaction_in_flight (handler, event_id, holder, since) VALUES (?, ?, ?, ?)`, handler, id, "replica-0-abcd1234", since)
			return id
		}
		exec(`INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)`, "test.a", 100, now)
		recorded := claim("test.a", now.Add(-10*time.Second)) // its key is recorded: an orphan whatever its age
		exec(`INSERT INTO reaction_processed (handler, event_id, processed_at, position) VALUES (?, ?, ?, ?)`, "test.a", recorded, now, 90)
		old := claim("test.a", now.Add(-3*time.Minute))       // past the window and the retention
		inWindow := claim("test.a", now.Add(-90*time.Second)) // past the retention, within the window
		young := claim("test.a", now.Add(-time.Second))
		other := claim("test.b", now.Add(-time.Hour)) // its handler has no checkpoint: Prune does not look at it

		opts := messaging.PruneOptions{OlderThan: time.Minute, InFlightWindow: 2 * time.Minute, Now: now, DryRun: true}
		res, err := messaging.Prune(ctx, db, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].Claims != 2 {
			t.Fatalf("dry run = %+v, want 2 claims of test.a", res)
		}
		opts.DryRun = false
		if res, err = messaging.Prune(ctx, db, opts); err != nil || res[0].Claims != 2 {
			t.Fatalf("prune = %+v, %v; want 2 claims of test.a", res, err)
		}
		claims, err := messaging.Claims(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, c := range claims {
			left = append(left, c.EventID)
			if c.Holder != "replica-0-abcd1234" || c.Since.IsZero() || c.Handler == "" {
				t.Errorf("claim read back as %+v", c)
			}
		}
		if want := []string{other, inWindow, young}; !slices.Equal(left, want) { // oldest first
			t.Errorf("claims left = %v, want %v (gone: recorded %s, old %s)", left, want, recorded, old)
		}
		// The default window (2 minutes) applies when none is given: a minute later the claim of 90 s has passed it.
		if res, err = messaging.Prune(ctx, db, messaging.PruneOptions{OlderThan: time.Second, Now: now.Add(time.Minute)}); err != nil || res[0].Claims != 1 {
			t.Fatalf("prune a minute later = %+v, %v; want the claim now past the default window", res, err)
		}
	})
}
