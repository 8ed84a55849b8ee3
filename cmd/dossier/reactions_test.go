package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/alecthomas/kong"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/tests/testlog"
)

var errTestRefused = failure.New(failure.Rule, "test.refused", "refused")

// failingReaction records a key for each event it handles and refuses the events of the streams it is told to.
type failingReaction struct {
	db *sqldb.DB

	mu      sync.Mutex
	refused map[uuid.UUID]bool // member ids whose events are refused
}

const reactionName = "test.cli"

func (f *failingReaction) refuse(id uuid.UUID, refused bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused[id] = refused
}

func (f *failingReaction) handle(ctx context.Context, env event.Envelope) error {
	f.mu.Lock()
	refused := f.refused[env.Stream.ID]
	f.mu.Unlock()
	if refused {
		return errTestRefused
	}
	_, err := messaging.Once(ctx, f.db, reactionName, env.EventID, func(*sqldb.Tx) error { return nil })
	return err
}

// reactionsCLI parses args as `dossier reactions ...` would and returns the parsed commands.
func reactionsCLI(t *testing.T, args ...string) *ReactionsCmd {
	t.Helper()
	var cli struct {
		Reactions ReactionsCmd `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(append([]string{"reactions"}, args...)); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &cli.Reactions
}

func TestReactionsReplayAndPruneCommands(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := testCtx(t)
		dbFlags := []string{"--sqlite-path", tg.DSN}
		if tg.Dialect == sqldb.Postgres {
			dbFlags = []string{"--postgres-url", tg.DSN}
		}
		db := tg.Open(t)
		if _, err := openReactionsDB(ctx, reactionsCLI(t, append([]string{"status"}, dbFlags...)...).Status.DBConfig, testLogger()); err == nil ||
			!strings.Contains(err.Error(), "no reactions tables") {
			t.Fatalf("open before any migration: %v", err)
		}
		if err := messaging.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}

		es := kurrentdbtest.Start(t, member.Definitions())
		appendTo := func(id uuid.UUID) event.Commit {
			t.Helper()
			cmd := uuid.New()
			c, err := es.Store.Append(ctx, event.NewStreamID(member.Category, id), esdb.Any{}, event.Metadata{CorrelationID: cmd,
				CausationID: cmd, CommandID: cmd, Actor: event.Actor{ID: id.String(), Role: event.RoleMember},
				OccurredAt: time.Now().UTC()}, member.PhoneChanged{MobilePhone: "+33600000000"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		fixed, broken, fine := uuid.New(), uuid.New(), uuid.New()
		reaction := &failingReaction{db: db, refused: map[uuid.UUID]bool{fixed: true, broken: true}}
		appendTo(fixed)
		appendTo(broken)
		last := appendTo(fine)

		router, err := messaging.NewRouter(messaging.RouterConfig{Feed: es.Source, DB: db, Logger: testLogger(),
			Events: messaging.NewStoreEvents(es.Client, es.Codec), ReplayInterval: 20 * time.Millisecond,
			ProcessedRetention: -1, Retry: messaging.RetryPolicy{MaxRetries: 1, InitialInterval: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		if err := router.AddHandler(reactionName, messaging.Handle(reaction.handle)); err != nil {
			t.Fatal(err)
		}
		opened, err := openReactionsDB(ctx, reactionsCLI(t, append([]string{"status"}, dbFlags...)...).Status.DBConfig, testLogger())
		if err != nil {
			t.Fatalf("open once migrated: %v", err)
		}
		opened.Close()
		runCtx, stopRouter := context.WithCancel(context.Background())
		routerDone := make(chan error, 1)
		go func() { routerDone <- router.Run(runCtx) }()
		stop := sync.OnceFunc(func() {
			stopRouter()
			if err := <-routerDone; err != nil {
				t.Errorf("router: %v", err)
			}
		})
		t.Cleanup(stop)
		deadline := time.Now().Add(15 * time.Second)
		for {
			if p, _, err := messaging.Checkpoint(ctx, db, reactionName); err == nil && p >= last.Position {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the reaction did not reach the last event")
			}
			time.Sleep(10 * time.Millisecond)
		}
		list, err := messaging.List(ctx, db, messaging.ListOptions{})
		if err != nil || len(list) != 2 {
			t.Fatalf("poison list %+v, %v", list, err)
		}
		ids := map[uuid.UUID]string{}
		for _, p := range list {
			s, _ := event.ParseStreamID(p.Stream)
			ids[s.ID] = p.EventID
		}

		var logs testlog.Buffer
		logger := slog.New(slog.NewJSONHandler(&logs, nil))
		replay := func(args ...string) (string, error) {
			t.Helper()
			cmd := reactionsCLI(t, append(append([]string{"replay"}, dbFlags...), args...)...).Replay
			var out bytes.Buffer
			err := cmd.run(ctx, db, &out, logger, time.Now)
			return out.String(), err
		}

		// Requests that name nothing, or a requester that is not an id, are refused before anything is marked.
		for _, args := range [][]string{
			{},
			{"--all", ids[fixed]},
			{"--all", "--by", "jeanne.martin@example.fr"},
			{"--all", "--by", "Jeanne Martin"},
			{uuid.NewString()},
		} {
			if _, err := replay(args...); err == nil {
				t.Errorf("replay %q accepted", args)
			}
		}

		// The cause of the first poison is fixed: its replay succeeds and removes it.
		reaction.refuse(fixed, false)
		out, err := replay(ids[fixed], "--by", "ticket:OPS-1", "--wait", "10s")
		if err != nil || !strings.Contains(out, "replayed: removed from the poison list") || !strings.Contains(out, ids[fixed]) {
			t.Fatalf("replay of the fixed event: %v\n%s", err, out)
		}
		if done, err := messaging.Processed(ctx, db, reactionName, uuid.MustParse(ids[fixed])); err != nil || !done {
			t.Errorf("the replayed event's effect is not recorded: %v, %v", done, err)
		}
		// The second still fails: kept, with its new error, and the command says so.
		out, err = replay("--all", "--handler", reactionName, "--by", "ops-2", "--wait", "10s")
		if err == nil || !strings.Contains(err.Error(), "1 of 1 replay(s) failed again") ||
			!strings.Contains(out, "failed again: kept") || !strings.Contains(out, "test.refused") {
			t.Fatalf("replay of the broken event: %v\n%s", err, out)
		}
		list, err = messaging.List(ctx, db, messaging.ListOptions{})
		if err != nil || len(list) != 1 || list[0].EventID != ids[broken] || list[0].Replays != 1 {
			t.Fatalf("poison list after the replays: %+v, %v", list, err)
		}
		var listed bytes.Buffer
		if err := printPoison(&listed, list); err != nil || !strings.Contains(listed.String(), "REPLAYS") {
			t.Errorf("poison listing: %v\n%s", err, listed.String())
		}
		for _, want := range []string{`"msg":"reactions: poison replay requested"`, `"requested_by":"ticket:OPS-1"`,
			`"requested_by":"ops-2"`, `"event_id":"` + ids[fixed] + `"`} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs.String())
			}
		}

		// Without a running handler, the request waits; with --wait 0 the command returns at once.
		stop()
		out, err = replay("--all", "--by", "ops-3", "--wait", "300ms")
		if err == nil || !strings.Contains(err.Error(), "not served within") || !strings.Contains(out, "not replayed yet") {
			t.Errorf("replay with no runner: %v\n%s", err, out)
		}
		out, err = replay("--all", "--by", "ops-3", "--wait", "0s")
		if err != nil || !strings.Contains(out, "1 replay(s) requested by ops-3") {
			t.Errorf("replay without waiting: %v\n%s", err, out)
		}
		if list, _ := messaging.List(ctx, db, messaging.ListOptions{}); len(list) != 1 || list[0].ReplayRequestedBy != "ops-3" {
			t.Errorf("the request does not stay: %+v", list)
		}

		// Prune: the keys of the two events handled are behind the checkpoint; none is a poison event's.
		prune := func(args ...string) (string, error) {
			t.Helper()
			cmd := reactionsCLI(t, append(append([]string{"prune"}, dbFlags...), args...)...).Prune
			var out bytes.Buffer
			err := cmd.run(ctx, db, &out, logger, time.Now().Add(2*time.Hour))
			return out.String(), err
		}
		out, err = prune("--older-than", "1h", "--dry-run")
		if err != nil || !strings.Contains(out, "WOULD PRUNE") || !strings.Contains(out, reactionName) {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		if n, _ := messaging.ProcessedCount(ctx, db, reactionName); n != 2 {
			t.Fatalf("%d keys after a dry run, want 2", n)
		}
		out, err = prune("--older-than", "1h")
		if err != nil || !strings.Contains(out, "PRUNED") {
			t.Fatalf("prune: %v\n%s", err, out)
		}
		if n, _ := messaging.ProcessedCount(ctx, db, reactionName); n != 0 {
			t.Errorf("%d keys left after the prune, want 0", n)
		}
		if !strings.Contains(logs.String(), `"msg":"reactions: processed-event keys pruned"`) {
			t.Error("the prune is not logged")
		}
		if _, err := prune("--older-than", "0s"); err == nil {
			t.Error("a prune without a retention was accepted")
		}
	})
}

// serve wires the reactions' metrics on the app's registry: one series per handler it runs, labelled by name.
func TestServeExportsReactionMetrics(t *testing.T) {
	cfg := embeddedConfig(t, t.TempDir(), "events")
	a, err := newApp(testCtx(t), &cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.stores.Close()
	families, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[string]bool{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "dossier_reaction_") {
			continue
		}
		seen[f.GetName()] = map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "handler":
					seen[f.GetName()][l.GetValue()] = true
				case "outcome":
				default:
					t.Errorf("%s has a label %s", f.GetName(), l.GetName())
				}
			}
		}
	}
	handlers := a.router.Handlers()
	if len(handlers) == 0 {
		t.Fatal("serve runs no reaction")
	}
	for _, name := range []string{"dossier_reaction_position", "dossier_reaction_lag_seconds", "dossier_reaction_active",
		"dossier_reaction_caught_up", "dossier_reaction_poison_events", "dossier_reaction_handled_total",
		"dossier_reaction_replays_total", "dossier_reaction_processed_pruned_total"} {
		for _, h := range handlers {
			if !seen[name][h] {
				t.Errorf("%s has no series for %s", name, h)
			}
		}
	}
}
