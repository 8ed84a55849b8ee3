package asof_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/asof"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// step is one append of the scripted scenario.
type step struct {
	stream event.StreamID
	meta   event.Metadata
	evs    []any // one command's events, appended together
}

// seen is what the live read models showed once a step was applied: their checkpoint (the step's position, nothing
// else being appended) and their answers, read at the time that event was recorded.
type seen struct {
	position   uint64
	recordedAt time.Time
	account    string // JSON of accounts.Queries.Get, or the error code
	queues     map[string]string
}

var queues = []string{"sante-c2s", "sante-cartes"}

// TestViewsEqualWhatTheLiveProjectionsShowed runs a scripted scenario (a member's account changing while requests
// of two queues are submitted, claimed, paused, decided, withdrawn) against the real node, with the live
// projections kept by the runner on each dialect. After each step it records what the live queries answered and
// the checkpoint; then it asks the views for each recorded position, and for the instant of each, and compares.
func TestViewsEqualWhatTheLiveProjectionsShowed(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		env := kurrentdbtest.Start(t, member.Definitions(), sr.Definitions())
		runner := projectionstest.StartRunner(t, db, env.Source, accounts.New(), casequeues.New())

		m1, m2, w1, w2, sup := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
		var synthetic uint64
		a, b, c, d, e := servicerequesttest.Story(t, &synthetic, m1, m2, w1, w2, sup)
		var steps []step
		memberStep := func(at time.Time, ev any) step {
			meta := projectionstest.Meta()
			meta.Actor = event.Actor{ID: m1.String(), Role: event.RoleMember}
			meta.OccurredAt = at
			return step{stream: event.NewStreamID(member.Category, m1), meta: meta, evs: []any{ev}}
		}
		memberSteps := map[int]step{
			2: memberStep(servicerequesttest.At(0, 1), member.Registered{RegistrationID: uuid.New(), NIR: "1850312345678",
				Key: 42, LastName: "Martin", FirstName: "Alice", BirthDate: "1985-03-12", Email: "alice@example.test"}),
			5: memberStep(servicerequesttest.At(1, 2), member.AddressChanged{Line1: "17 chemin des Peupliers",
				PostalCode: "29300", City: "Quimperlé", Country: "FR", EffectiveFrom: "2026-01-06"}),
			8:  memberStep(servicerequesttest.At(2, 3), member.LoggedIn{SessionID: uuid.New()}),
			11: memberStep(servicerequesttest.At(3, 4), member.PhoneChanged{MobilePhone: "+33612345678"}),
			14: memberStep(servicerequesttest.At(9, 2), member.AddressChanged{Line1: "2 rue du Port",
				PostalCode: "29900", City: "Concarneau", Country: "FR", EffectiveFrom: "2026-03-01"}),
			17: memberStep(servicerequesttest.At(10, 2), member.LoggedIn{SessionID: uuid.New()}),
		}
		for _, ev := range servicerequesttest.All(a, b, c, d, e) {
			if n := len(steps); n > 0 && steps[n-1].stream == ev.Stream && steps[n-1].meta.CommandID == ev.Metadata.CommandID {
				steps[n-1].evs = append(steps[n-1].evs, ev.Event)
				continue
			}
			if s, ok := memberSteps[len(steps)]; ok {
				steps = append(steps, s) // between two commands of the requests
			}
			steps = append(steps, step{stream: ev.Stream, meta: ev.Metadata, evs: []any{ev.Event}})
		}

		var record []seen
		for _, s := range steps {
			commit, err := env.Store.Append(ctx, s.stream, esdb.Any{}, s.meta, s.evs...)
			if err != nil {
				t.Fatalf("append %T: %v", s.evs[0], err)
			}
			runner.Wait(t, commit.Position)
			recorded := recordedAt(t, env, s.stream, commit.Position)
			record = append(record, seen{position: commit.Position, recordedAt: recorded,
				account: liveAccount(ctx, db, m1, recorded), queues: liveQueues(t, ctx, db, recorded)})
			time.Sleep(2 * time.Millisecond) // distinct recorded instants, for the views by time
		}

		views := asof.New(env.Client, env.Codec, nil)
		for i, want := range record {
			acc, pt, err := views.Account(ctx, m1, asof.At{Position: want.position})
			if got := accountJSON(acc, err); got != want.account {
				t.Errorf("step %d (position %d): account\n got %s\nwant %s", i, want.position, got, want.account)
			}
			if err == nil && (pt.Position != want.position || !pt.RecordedAt.Equal(want.recordedAt)) {
				t.Errorf("step %d: as_of %d at %s, want %d at %s", i, pt.Position, pt.RecordedAt, want.position, want.recordedAt)
			}
			for _, q := range queues {
				view, err := views.Queue(ctx, q, asof.At{Position: want.position}, casequeues.Filter{Limit: casequeues.MaxLimit})
				if err != nil {
					t.Fatalf("step %d: queue %s: %v", i, q, err)
				}
				if got := queueJSON(view.Stats, view.Cases); got != want.queues[q] {
					t.Errorf("step %d (position %d): queue %s\n got %s\nwant %s", i, want.position, q, got, want.queues[q])
				}
				if view.Point.Position != want.position {
					t.Errorf("step %d: queue view reflects %d, want %d", i, view.Point.Position, want.position)
				}
			}
			// By instant: the same views, read at that instant.
			acc, pt, err = views.Account(ctx, m1, asof.At{Time: want.recordedAt})
			if got := accountJSON(acc, err); got != want.account || (err == nil && pt.Position != want.position) {
				t.Errorf("step %d at %s: account reflects %d\n got %s\nwant %s", i, want.recordedAt, pt.Position, got, want.account)
			}
		}

		// The bounds: before the first event, in the future (a position beyond the log, an instant after now).
		first := record[0]
		if _, _, err := views.Account(ctx, m1, asof.At{Time: first.recordedAt.Add(-time.Second)}); !errors.Is(err, asof.ErrBeforeFirstEvent) {
			t.Errorf("before the first event: %v", err)
		}
		if p := env.AllRecords(t)[0].Position.Commit; p > 0 {
			if _, _, err := views.Account(ctx, m1, asof.At{Position: p - 1}); !errors.Is(err, asof.ErrBeforeFirstEvent) {
				t.Errorf("a position before the first event (%d): %v", p, err)
			}
		}
		last := record[len(record)-1]
		if _, _, err := views.Account(ctx, m1, asof.At{Position: last.position + 1}); !errors.Is(err, asof.ErrInFuture) {
			t.Errorf("a position beyond the log: %v", err)
		}
		if _, err := views.Queue(ctx, "sante-c2s", asof.At{Time: time.Now().Add(time.Hour)}, casequeues.Filter{}); !errors.Is(err, asof.ErrInFuture) {
			t.Errorf("an instant in the future: %v", err)
		}
		if _, _, err := views.Account(ctx, uuid.New(), asof.At{Position: last.position}); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("an unknown member: %v", err)
		}
	})
}

func recordedAt(t *testing.T, env *kurrentdbtest.Env, stream event.StreamID, position uint64) time.Time {
	t.Helper()
	history, err := env.Store.Load(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range history {
		if e.Position == position {
			return e.RecordedAt
		}
	}
	t.Fatalf("no event at %d in %s", position, stream)
	return time.Time{}
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func liveAccount(ctx context.Context, db *sqldb.DB, id uuid.UUID, now time.Time) string {
	acc, err := accounts.NewQueries(db, fixed(now)).Get(ctx, id)
	return accountJSON(acc, err)
}

func accountJSON(acc accounts.Account, err error) string {
	if errors.Is(err, accounts.ErrNotFound) {
		return "not found"
	}
	if err != nil {
		return "error: " + err.Error()
	}
	b, _ := json.Marshal(acc)
	return string(b)
}

func liveQueues(t *testing.T, ctx context.Context, db *sqldb.DB, now time.Time) map[string]string {
	t.Helper()
	q := casequeues.NewQueries(db, fixed(now))
	out := map[string]string{}
	for _, name := range queues {
		stats, err := q.Counts(ctx, []string{name})
		if err != nil {
			t.Fatal(err)
		}
		cases, _, err := q.Page(ctx, name, casequeues.Filter{Limit: casequeues.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = queueJSON(stats[0], cases)
	}
	return out
}

func queueJSON(stats casequeues.QueueStats, cases []casequeues.Case) string {
	b, _ := json.Marshal(struct {
		Stats casequeues.QueueStats
		Cases []casequeues.Case
	}{stats, cases})
	return string(b)
}
