package messaging_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/tests/testlog"
)

// replayed waits until the replay of p is served and returns its outcome.
func replayed(t *testing.T, db *sqldb.DB, p messaging.Poison) (messaging.ReplayOutcome, messaging.Poison) {
	t.Helper()
	var (
		outcome messaging.ReplayOutcome
		now     messaging.Poison
	)
	waitFor(t, "the replay of "+p.EventID, func() bool {
		var err error
		outcome, now, err = messaging.ReplayStatus(ctxT(t), db, p)
		if err != nil {
			t.Fatal(err)
		}
		return outcome != messaging.ReplayPending
	})
	return outcome, now
}

func TestPoisonReplay(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		fixable := l.appendOne(t, stream, caseNoted{Text: noteFixable}) // effect done, then poison
		broken := l.appendOne(t, stream, caseNoted{Text: noteBroken})   // poison after its retries, every time
		last := l.appendOne(t, stream, caseNoted{Text: noteOK})

		var logs testlog.Buffer
		reg := prometheus.NewRegistry()
		cfg := fastConfig(l, db)
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Registry = reg
		cfg.Events = messaging.NewStoreEvents(l.client, l.codec)
		cfg.ReplayInterval = 20 * time.Millisecond
		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.replay", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, last.commit.Position)
		list, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: rec.name})
		if err != nil || len(list) != 2 {
			t.Fatalf("poison events = %+v, %v; want 2", list, err)
		}
		if n := effects(t, db, rec.name, fixable.eventID); n != 1 {
			t.Fatalf("the fixable event's effect was done %d times before its replay, want 1", n)
		}

		// Requests are checked before anything is marked.
		at := time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC)
		for _, bad := range []messaging.ReplayRequest{
			{All: true, By: "Jeanne Martin", At: at},
			{All: true, By: secretEmail, At: at},
			{All: true, By: "", At: at},
			{All: true, EventIDs: []string{fixable.eventID.String()}, By: "ops-1", At: at},
			{By: "ops-1", At: at},
			{EventIDs: []string{"not-a-uuid"}, By: "ops-1", At: at},
		} {
			if _, err := messaging.RequestReplay(ctxT(t), db, bad); failure.KindOf(err) != failure.Invalid {
				t.Errorf("RequestReplay(%+v) = %v, want an Invalid error", bad, err)
			}
		}
		if _, err := messaging.RequestReplay(ctxT(t), db, messaging.ReplayRequest{EventIDs: []string{uuid.NewString()},
			By: "ops-1", At: at}); !errors.Is(err, messaging.ErrNoPoisonEvent) {
			t.Errorf("replay of an event that is not poison = %v, want ErrNoPoisonEvent", err)
		}
		if _, err := messaging.RequestReplay(ctxT(t), db, messaging.ReplayRequest{Handler: "test.other", All: true,
			By: "ops-1", At: at}); !errors.Is(err, messaging.ErrNoPoisonEvent) {
			t.Errorf("replay of another handler's events = %v, want ErrNoPoisonEvent", err)
		}

		// The bug behind the first poison is fixed; the second event still fails. Both are replayed.
		rec.fix()
		callsBefore := rec.callsOf(broken.eventID)
		marked, err := messaging.RequestReplay(ctxT(t), db, messaging.ReplayRequest{All: true, By: "ticket:OPS-1234", At: at})
		if err != nil {
			t.Fatal(err)
		}
		if len(marked) != 2 {
			t.Fatalf("marked %d poison events, want 2: %+v", len(marked), marked)
		}
		byID := map[string]messaging.Poison{}
		for _, p := range marked {
			if !p.ReplayRequestedAt.Equal(at) || p.ReplayRequestedBy != "ticket:OPS-1234" {
				t.Errorf("marked %+v, want requested at %v by ticket:OPS-1234", p, at)
			}
			byID[p.EventID] = p
		}

		outcome, now := replayed(t, db, byID[fixable.eventID.String()])
		if outcome != messaging.ReplaySucceeded {
			t.Errorf("replay of the fixed event: outcome %v, row %+v; want it removed", outcome, now)
		}
		if n := effects(t, db, rec.name, fixable.eventID); n != 1 {
			t.Errorf("the replayed event's effect was done %d times in all, want exactly 1 (its key was recorded)", n)
		}
		if n := rec.callsOf(fixable.eventID); n != 2 {
			t.Errorf("the fixed event was handled %d times, want 2 (the delivery, the replay)", n)
		}

		outcome, now = replayed(t, db, byID[broken.eventID.String()])
		if outcome != messaging.ReplayFailed {
			t.Fatalf("replay of the broken event: outcome %v; want failed again", outcome)
		}
		if now.Replays != 1 || !now.ReplayRequestedAt.IsZero() || now.ReplayRequestedBy != "" ||
			now.Attempts != cfg.Retry.MaxRetries+1 || now.Kind != "internal" || !now.FailedAt.After(byID[broken.eventID.String()].FailedAt) {
			t.Errorf("after a failed replay the row is %+v; want replays 1, request cleared, %d attempts, a new failure time",
				now, cfg.Retry.MaxRetries+1)
		}
		if strings.Contains(now.Error, secretEmail) {
			t.Errorf("the new error %q holds personal data", now.Error)
		}
		if n := rec.callsOf(broken.eventID) - callsBefore; n != cfg.Retry.MaxRetries+1 {
			t.Errorf("the replay called the handler %d times, want %d (the same Retry as a delivery)", n, cfg.Retry.MaxRetries+1)
		}
		list, err = messaging.List(ctxT(t), db, messaging.ListOptions{})
		if err != nil || len(list) != 1 || list[0].EventID != broken.eventID.String() {
			t.Errorf("poison list after the replays = %+v, %v; want only the broken event", list, err)
		}
		if got := checkpoint(t, db, rec.name); got != last.commit.Position {
			t.Errorf("checkpoint moved to %d by replays, want %d", got, last.commit.Position)
		}

		// The log says who asked and when, with identifiers only (the verdict is logged right after it is stored).
		for _, want := range []string{
			`"msg":"reactions: poison event replayed; removed from the poison list"`,
			`"msg":"reactions: poison event replayed and failed again; kept in the poison list"`,
			`"requested_by":"ticket:OPS-1234"`,
			`"requested_at":"2025-03-05T10:00:00Z"`,
			`"replay":true`,
		} {
			waitFor(t, "the log to say "+want, func() bool { return strings.Contains(logs.String(), want) })
		}
		if out := logs.String(); strings.Contains(out, secretEmail) || strings.Contains(out, secretNIR) {
			t.Error("the log holds personal data")
		}
		waitFor(t, "the replay metrics", func() bool {
			g := gather(t, reg)
			return g[`dossier_reaction_replays_total{handler=test.replay,outcome=ok}`] == 1 &&
				g[`dossier_reaction_replays_total{handler=test.replay,outcome=failed}`] == 1 &&
				g[`dossier_reaction_poison_events{handler=test.replay}`] == 1
		})
	})
}

func TestReplayOfAnEventNoLongerInTheStoreFails(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		poison := l.appendOne(t, stream, caseNoted{Text: noteRule})
		cfg := fastConfig(l, db)
		cfg.Events = messaging.NewStoreEvents(l.client, l.codec)
		cfg.ReplayInterval = 20 * time.Millisecond
		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.gone", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, poison.commit.Position)
		// The poison row names an event the store does not have (a deleted stream, say).
		if _, err := db.ExecContext(ctxT(t), db.Rebind(`UPDATE reaction_poison SET event_id = ?, stream = ?`),
			uuid.NewString(), newStream().String()); err != nil {
			t.Fatal(err)
		}
		list, err := messaging.List(ctxT(t), db, messaging.ListOptions{})
		if err != nil || len(list) != 1 {
			t.Fatalf("poison list %+v, %v", list, err)
		}
		marked, err := messaging.RequestReplay(ctxT(t), db, messaging.ReplayRequest{EventIDs: []string{list[0].EventID},
			By: "ops-7", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		outcome, now := replayed(t, db, marked[0])
		if outcome != messaging.ReplayFailed || now.Code != "reactions.event_not_found" || now.Kind != "not_found" {
			t.Errorf("replay of a missing event: %v %+v; want failed with reactions.event_not_found", outcome, now)
		}
	})
}

func TestStoreEventsReadsAnEventBack(t *testing.T) {
	l := startLog(t)
	stream := newStream()
	l.appendOne(t, stream, caseOpened{Queue: "general"})
	a := l.appendOne(t, stream, caseNoted{Text: "hello"})
	l.appendOne(t, newStream(), caseNoted{Text: "other"})
	events := messaging.NewStoreEvents(l.client, l.codec)

	for _, tc := range []struct {
		name     string
		position uint64
	}{
		{"at its position", a.commit.Position},
		{"by its stream when the position is not its own", a.commit.Position + 1},
		{"by its stream without a position", 0},
	} {
		d, err := events.ReadEvent(ctxT(t), stream.String(), tc.position, a.eventID)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d.Record.EventID != a.eventID || d.Record.Position != a.commit.Position || d.Err != nil {
			t.Errorf("%s: read %+v", tc.name, d.Record)
		}
		if note, ok := d.Envelope.Event.(caseNoted); !ok || note.Text != "hello" {
			t.Errorf("%s: decoded %#v", tc.name, d.Envelope.Event)
		}
	}
	if _, err := events.ReadEvent(ctxT(t), stream.String(), a.commit.Position, uuid.New()); !errors.Is(err, messaging.ErrEventNotFound) {
		t.Errorf("unknown event: %v, want ErrEventNotFound", err)
	}
	if _, err := events.ReadEvent(ctxT(t), newStream().String(), 0, a.eventID); !errors.Is(err, messaging.ErrEventNotFound) {
		t.Errorf("unknown stream: %v, want ErrEventNotFound", err)
	}
}
