package streamactivity

import (
	"context"
	"errors"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest/storetest"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

func TestProjectsEveryStream(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		before := time.Now().Add(-time.Minute)
		a, b, other := storetest.NewStream("testcase"), storetest.NewStream("testcase"), storetest.NewStream("othercase")
		e.Append(t, a, opened{Queue: "q1"}, noted{Text: "x"})
		e.Append(t, other, opened{Queue: "q2"})
		e.Append(t, b, opened{Queue: "q3"})
		last := e.Append(t, a, noted{Text: "y"})

		r := projectionstest.StartRunner(t, db, e.Source, New())
		r.Wait(t, last.Position)

		q := NewQueries(db)
		got, err := q.Get(projectionstest.Ctx(t), a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Stream != a.String() || got.Category != "testcase" || got.LastRevision != 2 || got.EventCount != 3 ||
			got.LastEventType != "TestCaseNoted" || got.LastPosition != last.Position {
			t.Errorf("Get(a) = %+v", got)
		}
		if got.FirstRecordedAt.Before(before) || got.LastRecordedAt.Before(got.FirstRecordedAt) ||
			got.LastRecordedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("recorded-at range %v..%v", got.FirstRecordedAt, got.LastRecordedAt)
		}

		list, err := q.ListByCategory(projectionstest.Ctx(t), "testcase", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Stream != a.String() || list[1].Stream != b.String() {
			t.Errorf("ListByCategory(testcase) = %+v, want a then b (most recent first)", list)
		}
		if list, err := q.ListByCategory(projectionstest.Ctx(t), "testcase", 1); err != nil || len(list) != 1 {
			t.Errorf("ListByCategory(limit 1) = %d rows, %v", len(list), err)
		}
		if _, err := q.ListByCategory(projectionstest.Ctx(t), "testcase", MaxLimit+1); !errors.Is(err, failure.Invalid) {
			t.Errorf("ListByCategory(limit too big) error = %v, want Invalid", err)
		}
		if _, err := q.Get(projectionstest.Ctx(t), storetest.NewStream("testcase")); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

// envelopes reads the events of the log as the runner would get them, through a runner-less subscription.
func envelopes(t *testing.T, e *storetest.Env, n int) []event.Envelope {
	t.Helper()
	ctx, cancel := context.WithCancel(projectionstest.Ctx(t))
	defer cancel()
	var out []event.Envelope
	stop := errors.New("enough")
	err := e.Source.Run(ctx, 0, func(_ context.Context, d event.Delivery) error {
		if d.CaughtUp {
			return nil
		}
		if d.Err != nil {
			return d.Err
		}
		out = append(out, d.Envelope)
		if len(out) == n {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("read log: %v", err)
	}
	return out
}

func apply(t *testing.T, db *sqldb.DB, p *Projection, batch ...event.Envelope) {
	t.Helper()
	if err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error { return p.Apply(projectionstest.Ctx(t), tx, batch) }); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func TestSameEventTwiceChangesTheRowOnce(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		s := storetest.NewStream("testcase")
		e.Append(t, s, opened{Queue: "q"}, noted{Text: "a"})
		evs := envelopes(t, e, 2)
		p := New()
		if err := projections.Setup(projectionstest.Ctx(t), db, p); err != nil {
			t.Fatal(err)
		}
		table := projections.Prefix(Name, Version)

		apply(t, db, p, evs[0])
		once := rows(t, db, table)
		apply(t, db, p, evs[0])         // again, alone
		apply(t, db, p, evs[0], evs[0]) // twice in one batch
		if got := rows(t, db, table); got[s.String()] != once[s.String()] || got[s.String()].EventCount != 1 {
			t.Fatalf("after replaying the first event: %+v, want %+v", got[s.String()], once[s.String()])
		}

		apply(t, db, p, evs[0], evs[1]) // a batch overlapping what was applied: only the new event counts
		after := rows(t, db, table)[s.String()]
		apply(t, db, p, evs[1], evs[0], evs[1])
		if got := rows(t, db, table)[s.String()]; got != after || got.EventCount != 2 || got.LastRevision != 1 {
			t.Fatalf("after replays: %+v, want %+v with 2 events", got, after)
		}
	})
}

func TestRolledBackBatchReplaysToTheSameRows(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		a, b := storetest.NewStream("testcase"), storetest.NewStream("testcase")
		e.Append(t, a, opened{Queue: "q"}, noted{Text: "1"})
		e.Append(t, b, opened{Queue: "q"})
		e.Append(t, a, noted{Text: "2"})
		evs := envelopes(t, e, 4)
		p := New()
		if err := projections.Setup(projectionstest.Ctx(t), db, p); err != nil {
			t.Fatal(err)
		}
		table := projections.Prefix(Name, Version)
		apply(t, db, p, evs[:2]...)
		committed := rows(t, db, table)

		// A batch whose transaction fails after Apply leaves nothing behind.
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error {
			if err := p.Apply(projectionstest.Ctx(t), tx, evs[2:]); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx = %v", err)
		}
		if got := rows(t, db, table); len(got) != len(committed) || got[a.String()] != committed[a.String()] {
			t.Fatalf("rolled-back batch left rows: %+v, want %+v", got, committed)
		}

		// Replaying the batch gives the rows a single clean pass gives.
		apply(t, db, p, evs[2:]...)
		replayed := rows(t, db, table)

		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		if err := projections.Setup(projectionstest.Ctx(t), clean, p); err != nil {
			t.Fatal(err)
		}
		apply(t, clean, p, evs...)
		want := rows(t, clean, table)
		if len(replayed) != 2 || replayed[a.String()] != want[a.String()] || replayed[b.String()] != want[b.String()] {
			t.Fatalf("replayed rows %+v, want %+v", replayed, want)
		}
		if replayed[a.String()].EventCount != 3 {
			t.Errorf("stream a counts %d events, want 3", replayed[a.String()].EventCount)
		}
	})
}

// gated holds a projection's batches until the test lets them through.
type gated struct {
	*Projection
	gate chan struct{}
}

func (g gated) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Projection.Apply(ctx, tx, batch)
}

func TestVersionBumpRebuildsBesideTheLiveVersionThenSwitches(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := storetest.New(t)
		s := storetest.NewStream("testcase")
		e.Append(t, s, opened{Queue: "q"})
		last := e.Append(t, storetest.NewStream("testcase"), opened{Queue: "q"})

		v1 := projectionstest.StartRunner(t, db, e.Source, &Projection{Meta: meta.At(1)})
		v1.Wait(t, last.Position)
		if err := v1.Stop(t); err != nil {
			t.Fatal(err)
		}
		q := NewQueries(db)
		if _, err := q.Get(projectionstest.Ctx(t), s); err != nil {
			t.Fatalf("v1 live: %v", err)
		}

		// Version 2 starts building beside version 1, which readers keep seeing.
		gate := make(chan struct{})
		v2 := projectionstest.StartRunner(t, db, e.Source, gated{&Projection{Meta: meta.At(2)}, gate})
		projectionstest.Eventually(t, "version 2 active", func() bool { return v2.Status()[0].Role == projections.RoleActive })
		cps := checkpoints(t, db)
		if cps[1].State != projections.StateLive || cps[2].State != projections.StateBuilding {
			t.Fatalf("while building: states v1 %q v2 %q", cps[1].State, cps[2].State)
		}
		if !projectionstest.TableExists(t, db, "streamactivity_v2") {
			t.Fatal("version 2 has no table of its own")
		}
		if a, err := q.Get(projectionstest.Ctx(t), s); err != nil || a.EventCount != 1 {
			t.Fatalf("readers during the rebuild: %+v %v", a, err)
		}
		if st := v2.Status()[0]; st.LiveVersion != 1 || st.State != projections.StateBuilding {
			t.Errorf("status while building: %+v", st)
		}

		close(gate)
		projectionstest.Eventually(t, "version 2 live", func() bool { return v2.Status()[0].State == projections.StateLive })
		cps = checkpoints(t, db)
		if cps[1].State != projections.StateRetired || cps[2].State != projections.StateLive || cps[2].Position != last.Position {
			t.Fatalf("after the switch: v1 %+v v2 %+v", cps[1], cps[2])
		}
		// The view now reads version 2's table: a row only it has is visible.
		marker := storetest.NewStream("marker")
		if _, err := db.ExecContext(projectionstest.Ctx(t), db.Rebind(`INSERT INTO streamactivity_v2 (stream, category, last_revision,
			last_event_type, event_count, first_recorded_at, last_recorded_at, last_position) VALUES (?, 'marker', 0, 'X', 1, ?, ?, 1)`),
			marker.String(), time.Now().UTC(), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Get(projectionstest.Ctx(t), marker); err != nil {
			t.Fatalf("view does not read version 2: %v", err)
		}
		if !projectionstest.TableExists(t, db, "streamactivity_v1") {
			t.Error("version 1's tables were dropped at once; they are kept for a release")
		}
		ctx, cancel := context.WithTimeout(projectionstest.Ctx(t), 10*time.Second)
		defer cancel()
		if err := v2.WaitFor(ctx, last.Position); err != nil {
			t.Fatal(err)
		}
		if err := v2.Stop(t); err != nil {
			t.Fatal(err)
		}

		// Version 3 retires version 2 and drops version 1, retired a release ago.
		v3 := projectionstest.StartRunner(t, db, e.Source, &Projection{Meta: meta.At(3)})
		projectionstest.Eventually(t, "version 3 live", func() bool { return v3.Status()[0].State == projections.StateLive })
		cps = checkpoints(t, db)
		if _, ok := cps[1]; ok || cps[2].State != projections.StateRetired || cps[3].State != projections.StateLive {
			t.Fatalf("after version 3: %+v", cps)
		}
		if projectionstest.TableExists(t, db, "streamactivity_v1") || projectionstest.TableExists(t, db, sqldb.VersionTable("streamactivity_v1")) {
			t.Error("version 1's tables are still there")
		}
		if !projectionstest.TableExists(t, db, "streamactivity_v2") {
			t.Error("version 2's tables were dropped at once")
		}
		if a, err := q.Get(projectionstest.Ctx(t), s); err != nil || a.EventCount != 1 {
			t.Fatalf("readers after version 3: %+v %v", a, err)
		}
	})
}
