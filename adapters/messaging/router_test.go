package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

var errCaseClosed = failure.New(failure.Rule, "testcase.closed", "case closed")

// recorder is a test reaction: its effect is a row in test_effect, written with Once; the note of a caseNoted event
// tells it how to fail.
type recorder struct {
	name string
	db   *sqldb.DB

	mu        sync.Mutex
	calls     map[uuid.UUID]int
	positions []uint64 // position of every call, in call order
	healed    bool     // noteDown no longer fails
	fixed     bool     // noteFixable no longer fails
}

func newRecorder(name string, db *sqldb.DB) *recorder {
	return &recorder{name: name, db: db, calls: map[uuid.UUID]int{}}
}

func (r *recorder) handle(ctx context.Context, env event.Envelope) error {
	r.mu.Lock()
	r.calls[env.EventID]++
	n := r.calls[env.EventID]
	r.positions = append(r.positions, env.Position)
	healed, fixed := r.healed, r.fixed
	r.mu.Unlock()

	var note string
	if e, ok := env.Event.(caseNoted); ok {
		note = e.Text
	}
	switch note {
	case noteInvalid:
		return failure.Errorf(failure.Invalid, "email %s refused", secretEmail)
	case noteRule:
		return fmt.Errorf("note on %s: %w", secretNIR, errCaseClosed)
	case notePanic:
		panic(fmt.Sprintf("NIR %s unexpected", secretNIR))
	case noteBroken:
		return fmt.Errorf("store refused %s", secretEmail)
	}
	if _, err := messaging.Once(ctx, r.db, r.name, env.EventID, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO test_effect (handler, event_id, position) VALUES (?, ?, ?)`),
			r.name, env.EventID.String(), int64(env.Position))
		return err
	}); err != nil {
		return err
	}
	switch {
	case note == noteFlaky && n <= 2:
		return fmt.Errorf("flaky call %d", n)
	case note == noteDown && !healed:
		return failure.Wrap("test.Send", failure.Unavailable, errors.New("smtp down"))
	case note == noteFixable && !fixed:
		return fmt.Errorf("after the effect: %w", errCaseClosed)
	}
	return nil
}

func (r *recorder) fix() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fixed = true
}

func (r *recorder) callsOf(id uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func (r *recorder) heal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.healed = true
}

func (r *recorder) callPositions() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.positions)
}

func TestHandlerFailingTwiceThenSucceedingHasOneEffect(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		before := l.appendOne(t, stream, caseOpened{Queue: "general"})
		flaky := l.appendOne(t, stream, caseNoted{Text: noteFlaky})
		after := l.appendOne(t, stream, caseNoted{Text: noteOK})

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.flaky", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, after.commit.Position)

		if n := rec.callsOf(flaky.eventID); n != 3 {
			t.Errorf("flaky event handled %d times, want 3 (two failures, one success)", n)
		}
		for _, a := range []appended{before, flaky, after} {
			if n := effects(t, db, rec.name, a.eventID); n != 1 {
				t.Errorf("event at %d has %d effects, want exactly 1", a.commit.Position, n)
			}
		}
		if ps, err := messaging.List(ctxT(t), db, messaging.ListOptions{}); err != nil || len(ps) != 0 {
			t.Errorf("poison events = %+v, %v; want none", ps, err)
		}
	})
}

func TestPoisonEventsAreListedAndDoNotBlockTheNextOnes(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		first := l.appendOne(t, stream, caseOpened{Queue: "general"})
		invalid := l.appendOne(t, stream, caseNoted{Text: noteInvalid})
		panicking := l.appendOne(t, newStream(), caseNoted{Text: notePanic})
		rule := l.appendOne(t, stream, caseNoted{Text: noteRule})
		broken := l.appendOne(t, stream, caseNoted{Text: noteBroken})
		last := l.appendOne(t, stream, caseNoted{Text: noteOK})

		cfg := fastConfig(l, db)
		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.poison", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, last.commit.Position)

		for _, a := range []appended{first, last} {
			if n := effects(t, db, rec.name, a.eventID); n != 1 {
				t.Errorf("event at %d: %d effects, want 1", a.commit.Position, n)
			}
		}
		list, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: rec.name})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]messaging.Poison{}
		for _, p := range list {
			byID[p.EventID] = p
		}
		want := []struct {
			name     string
			a        appended
			kind     string
			code     string
			attempts int
			text     string // a part of the description
		}{
			{"invalid", invalid, "invalid", "invalid", 1, "invalid"},
			{"panic", panicking, "internal", "internal", 1, "panic: value of type string at github.com/msa-dossier/dossier/adapters/messaging_test.(*recorder).handle (router_test.go:"},
			{"rule", rule, "rule", "testcase.closed", 1, "rule testcase.closed"},
			{"broken", broken, "internal", "internal", cfg.Retry.MaxRetries + 1, "internal"},
		}
		if len(list) != len(want) {
			t.Errorf("listed %d poison events, want %d: %+v", len(list), len(want), list)
		}
		for _, w := range want {
			p, ok := byID[w.a.eventID.String()]
			if !ok {
				t.Errorf("%s: event %s not listed", w.name, w.a.eventID)
				continue
			}
			if p.Handler != rec.name || p.Stream != w.a.stream.String() || p.Position != w.a.commit.Position ||
				p.EventType != "TestCaseNoted" || p.CorrelationID != w.a.correlation.String() || p.FailedAt.IsZero() {
				t.Errorf("%s: listed as %+v", w.name, p)
			}
			if p.Kind != w.kind || p.Code != w.code || p.Attempts != w.attempts {
				t.Errorf("%s: kind %q code %q attempts %d, want %q %q %d", w.name, p.Kind, p.Code, p.Attempts, w.kind, w.code, w.attempts)
			}
			if !strings.Contains(p.Error, w.text) {
				t.Errorf("%s: error %q does not contain %q", w.name, p.Error, w.text)
			}
			if strings.Contains(p.Error, secretEmail) || strings.Contains(p.Error, secretNIR) {
				t.Errorf("%s: error %q holds personal data", w.name, p.Error)
			}
			if n := rec.callsOf(w.a.eventID); n != w.attempts {
				t.Errorf("%s: handled %d times, want %d", w.name, n, w.attempts)
			}
		}
		// Newest first.
		for i := 1; i < len(list); i++ {
			if list[i].FailedAt.After(list[i-1].FailedAt) {
				t.Errorf("list not newest first: %v then %v", list[i-1].FailedAt, list[i].FailedAt)
			}
		}
		if other, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: "test.other"}); err != nil || len(other) != 0 {
			t.Errorf("another handler's list = %+v, %v; want empty", other, err)
		}
	})
}

func TestRestartResumesWithoutRepeatingAnEffect(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		l := startLog(t)
		const name = "test.restart"

		// First run: two events handled; the third has its effect done, then fails with Unavailable, so it is never
		// acknowledged before the router stops.
		db1 := tg.Open(t)
		migrate(t, db1)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})
		b := l.appendOne(t, stream, caseNoted{Text: noteOK})
		c := l.appendOne(t, stream, caseNoted{Text: noteDown})
		router1, err := messaging.NewRouter(fastConfig(l, db1))
		if err != nil {
			t.Fatal(err)
		}
		rec1 := newRecorder(name, db1)
		if err := router1.AddHandler(name, messaging.Handle(rec1.handle)); err != nil {
			t.Fatal(err)
		}
		stop1 := running(t, router1)
		waitCheckpoint(t, db1, name, b.commit.Position)
		waitFor(t, "the third event to be delivered again", func() bool { return rec1.callsOf(c.eventID) >= 6 })
		stop1()
		if got := checkpoint(t, db1, name); got != b.commit.Position {
			t.Fatalf("checkpoint after the first run = %d, want %d (the unacknowledged event must not count)", got, b.commit.Position)
		}
		if err := db1.Close(); err != nil {
			t.Fatal(err)
		}

		// Second run, as after a process restart: a new database handle, a new router and subscriber.
		d := l.appendOne(t, stream, caseNoted{Text: noteOK})
		db2 := tg.Open(t)
		router2, err := messaging.NewRouter(fastConfig(l, db2))
		if err != nil {
			t.Fatal(err)
		}
		rec2 := newRecorder(name, db2)
		rec2.heal()
		if err := router2.AddHandler(name, messaging.Handle(rec2.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router2)
		waitCheckpoint(t, db2, name, d.commit.Position)

		if got, want := rec2.callPositions(), []uint64{c.commit.Position, d.commit.Position}; !slices.Equal(got, want) {
			t.Errorf("second run handled positions %v, want %v (strictly after the checkpoint)", got, want)
		}
		for _, e := range []appended{a, b, c, d} {
			if n := effects(t, db2, name, e.eventID); n != 1 {
				t.Errorf("event at %d: %d effects, want exactly 1", e.commit.Position, n)
			}
		}
	})
}

func TestEventsArriveInGlobalOrderWithTheirMetadata(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		streams := []event.StreamID{newStream(), newStream(), newStream()}
		var written []appended
		for i := range 9 {
			written = append(written, l.appendOne(t, streams[(i*2)%3], caseNoted{Text: fmt.Sprintf("note %d", i)}))
		}

		type seen struct {
			env  event.Envelope
			meta message.Metadata
			uuid string
		}
		var (
			mu   sync.Mutex
			got  []seen
			last = written[len(written)-1].commit.Position
		)
		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler("test.order", func(msg *message.Message) error {
			env, err := messaging.Envelope(msg)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			got = append(got, seen{env: env, meta: msg.Metadata, uuid: msg.UUID})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, "test.order", last)

		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(written) {
			t.Fatalf("handled %d events, want %d", len(got), len(written))
		}
		for i, w := range written {
			g := got[i]
			if g.env.Position != w.commit.Position || g.env.Stream != w.stream || g.env.EventID != w.eventID {
				t.Errorf("event %d: got %s at %d, want %s at %d", i, g.env.Stream, g.env.Position, w.stream, w.commit.Position)
			}
			if note, ok := g.env.Event.(caseNoted); !ok || note.Text != fmt.Sprintf("note %d", i) {
				t.Errorf("event %d: decoded %#v", i, g.env.Event)
			}
			wantMeta := map[string]string{
				messaging.MetaEventType:     "TestCaseNoted",
				messaging.MetaStream:        w.stream.String(),
				messaging.MetaRevision:      fmt.Sprint(w.commit.Revision),
				messaging.MetaPosition:      fmt.Sprint(w.commit.Position),
				messaging.MetaEventID:       w.eventID.String(),
				messaging.MetaCorrelationID: w.correlation.String(),
				messaging.MetaActorRole:     "caseworker",
				messaging.MetaOccurredAt:    testClock.Format("2006-01-02T15:04:05Z07:00"),
				messaging.MetaDelivery:      "1",
			}
			for k, v := range wantMeta {
				if g.meta.Get(k) != v {
					t.Errorf("event %d: metadata %s = %q, want %q", i, k, g.meta.Get(k), v)
				}
			}
			if g.uuid != w.eventID.String() {
				t.Errorf("event %d: message UUID %q, want the event id", i, g.uuid)
			}
			if i > 0 && got[i].env.Position <= got[i-1].env.Position {
				t.Errorf("event %d: position %d not after %d", i, got[i].env.Position, got[i-1].env.Position)
			}
		}
	})
}

func TestHandlersKeepIndependentCheckpoints(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		first := l.appendOne(t, stream, caseOpened{Queue: "general"})
		down := l.appendOne(t, stream, caseNoted{Text: noteDown})
		last := l.appendOne(t, stream, caseNoted{Text: noteOK})

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		alpha := newRecorder("test.alpha", db)
		alpha.heal()
		beta := newRecorder("test.beta", db) // blocked on the second event until healed
		for _, r := range []*recorder{alpha, beta} {
			if err := router.AddHandler(r.name, messaging.Handle(r.handle)); err != nil {
				t.Fatal(err)
			}
		}
		running(t, router)
		waitCheckpoint(t, db, alpha.name, last.commit.Position)
		waitFor(t, "beta to be blocked", func() bool { return beta.callsOf(down.eventID) >= 3 })
		waitCheckpoint(t, db, beta.name, first.commit.Position) // stored within CheckpointInterval
		if got := checkpoint(t, db, beta.name); got != first.commit.Position {
			t.Fatalf("beta's checkpoint = %d while blocked, want %d", got, first.commit.Position)
		}
		if n := beta.callsOf(last.eventID); n != 0 {
			t.Fatalf("beta handled the event after the one it is blocked on (%d calls)", n)
		}

		beta.heal()
		waitCheckpoint(t, db, beta.name, last.commit.Position)
		for _, r := range []*recorder{alpha, beta} {
			for _, a := range []appended{first, down, last} {
				if n := effects(t, db, r.name, a.eventID); n != 1 {
					t.Errorf("%s: event at %d has %d effects, want 1", r.name, a.commit.Position, n)
				}
			}
		}
		cps, err := messaging.Checkpoints(ctxT(t), db)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) != 2 || cps[0].Handler != alpha.name || cps[1].Handler != beta.name ||
			cps[0].Position != last.commit.Position || cps[1].Position != last.commit.Position || cps[0].UpdatedAt.IsZero() {
			t.Errorf("checkpoints = %+v", cps)
		}
		if ps, err := messaging.List(ctxT(t), db, messaging.ListOptions{}); err != nil || len(ps) != 0 {
			t.Errorf("an Unavailable error must not poison: %+v, %v", ps, err)
		}
	})
}

func TestOneRunnerPerHandlerAcrossReplicas(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		l := startLog(t)
		const name = "test.replicas"
		db1, db2 := tg.Open(t), tg.Open(t)
		migrate(t, db1)
		stream := newStream()
		a := l.appendOne(t, stream, caseOpened{Queue: "general"})

		rec1, rec2 := newRecorder(name, db1), newRecorder(name, db2)
		router1, err := messaging.NewRouter(fastConfig(l, db1))
		if err != nil {
			t.Fatal(err)
		}
		if err := router1.AddHandler(name, messaging.Handle(rec1.handle)); err != nil {
			t.Fatal(err)
		}
		stop1 := running(t, router1)
		waitCheckpoint(t, db1, name, a.commit.Position)

		router2, err := messaging.NewRouter(fastConfig(l, db2))
		if err != nil {
			t.Fatal(err)
		}
		if err := router2.AddHandler(name, messaging.Handle(rec2.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router2)
		b := l.appendOne(t, stream, caseNoted{Text: noteOK})
		waitCheckpoint(t, db1, name, b.commit.Position)
		if n := len(rec2.callPositions()); n != 0 {
			t.Fatalf("the second replica handled %d events while the first holds the lease", n)
		}

		stop1() // the first replica stops: the second takes over from the checkpoint
		c := l.appendOne(t, stream, caseNoted{Text: noteOK})
		waitCheckpoint(t, db2, name, c.commit.Position)
		if got := rec2.callPositions(); !slices.Equal(got, []uint64{c.commit.Position}) {
			t.Errorf("second replica handled %v, want only %d", got, c.commit.Position)
		}
		for _, e := range []appended{a, b, c} {
			if n := effects(t, db2, name, e.eventID); n != 1 {
				t.Errorf("event at %d: %d effects, want 1", e.commit.Position, n)
			}
		}
	})
}

func TestSkipHistoryStartsANewHandlerAtTheHead(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		old := l.appendOne(t, stream, caseOpened{Queue: "general"})

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.skip", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle), messaging.SkipHistory()); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, rec.name, old.commit.Position) // the starting point is made durable at the head
		fresh := l.appendOne(t, stream, caseNoted{Text: noteOK})
		waitCheckpoint(t, db, rec.name, fresh.commit.Position)
		if got := rec.callPositions(); !slices.Equal(got, []uint64{fresh.commit.Position}) {
			t.Errorf("handled %v, want only the event committed after the start (%d)", got, fresh.commit.Position)
		}
	})
}

func TestRouterConfigAndNames(t *testing.T) {
	if _, err := messaging.NewRouter(messaging.RouterConfig{}); err == nil ||
		!strings.Contains(err.Error(), "Feed") || !strings.Contains(err.Error(), "DB") {
		t.Errorf("NewRouter without Feed and DB = %v, want both reported", err)
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		router, err := messaging.NewRouter(messaging.RouterConfig{Feed: nopFeed{}, DB: db})
		if err != nil {
			t.Fatal(err)
		}
		h := func(*message.Message) error { return nil }
		for _, bad := range []string{"", "Mail", "1mail", "mail sender", strings.Repeat("a", 101)} {
			if err := router.AddHandler(bad, h); !errors.Is(err, messaging.ErrInvalidHandlerName) {
				t.Errorf("AddHandler(%q) = %v, want ErrInvalidHandlerName", bad, err)
			}
		}
		if err := router.AddHandler("members.activation-mail", h); err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler("members.activation-mail", h); err == nil {
			t.Error("the same name added twice was accepted")
		}
		if got := router.Handlers(); !slices.Equal(got, []string{"members.activation-mail"}) {
			t.Errorf("Handlers() = %v", got)
		}
	})
}

// TestStartedWaitsForTheHandlersThatStartAtTheHead: the readiness of reactions fails while a handler added with
// SkipHistory has no checkpoint, names exactly those handlers, and ignores handlers that start from the beginning.
func TestStartedWaitsForTheHandlersThatStartAtTheHead(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		migrate(t, db)
		router, err := messaging.NewRouter(messaging.RouterConfig{Feed: nopFeed{}, DB: db})
		if err != nil {
			t.Fatal(err)
		}
		h := func(*message.Message) error { return nil }
		head := []string{"mail.activation-code", "mail.request-acknowledgement"}
		for _, name := range head {
			if err := router.AddHandler(name, h, messaging.SkipHistory()); err != nil {
				t.Fatal(err)
			}
		}
		if err := router.AddHandler("casework.deadlines", h); err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		started := func(name string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)`),
				name, 1, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		behind := func(names ...string) {
			t.Helper()
			err := router.Started(ctx)
			if err == nil {
				t.Fatalf("started with %v behind", names)
			}
			for _, h := range append(head, "casework.deadlines") {
				if named := strings.Contains(err.Error(), h); named != slices.Contains(names, h) {
					t.Errorf("%q names %s: %v, want %v", err, h, named, !named)
				}
			}
		}
		behind(head...)
		started(head[0])
		behind(head[1])
		started(head[1])
		if err := router.Started(ctx); err != nil {
			t.Fatalf("every head-started handler has a checkpoint: %v", err)
		}
		// Once every one was seen started, the check asks the database nothing (a busy pool cannot fail it; the
		// "database" check says whether the database answers).
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := router.Started(done); err != nil {
			t.Errorf("started handlers are asked again: %v", err)
		}
	})
}

type nopFeed struct{}

func (nopFeed) Run(ctx context.Context, _ uint64, _ func(context.Context, event.Delivery) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestRunEndsWithItsContextAndTheEventComesAgain(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		a := l.appendOne(t, newStream(), caseNoted{Text: noteOK})

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		var once sync.Once
		// The handler is stuck until its context ends (a slow SMTP server, say).
		if err := router.AddHandler("test.stuck", func(msg *message.Message) error {
			once.Do(func() { close(started) })
			<-msg.Context().Done()
			return msg.Context().Err()
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router.Run(ctx) }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("handler not called")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		if _, found, err := messaging.Checkpoint(ctxT(t), db, "test.stuck"); err != nil || found {
			t.Errorf("checkpoint stored for an event whose handler never finished: %v, %v", found, err)
		}
		if ps, err := messaging.List(ctxT(t), db, messaging.ListOptions{}); err != nil || len(ps) != 0 {
			t.Errorf("stopping must not poison: %+v, %v", ps, err)
		}

		// The next run gets the event again.
		router2, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.stuck", db)
		if err := router2.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router2)
		waitCheckpoint(t, db, rec.name, a.commit.Position)
		if n := rec.callsOf(a.eventID); n != 1 {
			t.Errorf("event handled %d times by the next run, want 1", n)
		}
	})
}

// TestHandlesGivesAHandlerOnlyItsTypes: a handler added with Handles is called for the events of its types only,
// and its checkpoint still passes the others (it is not behind the log); a handler without it gets every event.
func TestHandlesGivesAHandlerOnlyItsTypes(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		opened := l.appendOne(t, stream, caseOpened{Queue: "general"})
		noted := l.appendOne(t, stream, caseNoted{Text: noteOK})
		last := l.appendOne(t, stream, caseOpened{Queue: "urgent"})
		trailing := l.appendOne(t, newStream(), caseNoted{Text: noteOK})

		router, err := messaging.NewRouter(fastConfig(l, db))
		if err != nil {
			t.Fatal(err)
		}
		choosy, every := newRecorder("test.choosy", db), newRecorder("test.every", db)
		if err := router.AddHandler(choosy.name, messaging.Handle(choosy.handle), messaging.Handles("TestCaseOpened")); err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler(every.name, messaging.Handle(every.handle)); err != nil {
			t.Fatal(err)
		}
		running(t, router)
		waitCheckpoint(t, db, every.name, trailing.commit.Position)
		waitCheckpoint(t, db, choosy.name, trailing.commit.Position) // past the events it was not given
		if got, want := choosy.callPositions(), []uint64{opened.commit.Position, last.commit.Position}; !slices.Equal(got, want) {
			t.Errorf("the handler of TestCaseOpened was called at %v, want %v", got, want)
		}
		if n := choosy.callsOf(noted.eventID) + choosy.callsOf(trailing.eventID); n != 0 {
			t.Errorf("the handler of TestCaseOpened was called %d time(s) for TestCaseNoted", n)
		}
		if got := every.callPositions(); len(got) != 4 {
			t.Errorf("the handler of every event was called at %v, want the 4 events", got)
		}
	})
}
