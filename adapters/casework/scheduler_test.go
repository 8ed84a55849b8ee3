package casework_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// clock is the scheduler's (and the lapse command's) injected clock: real time moved by an offset.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// lapser is the port as cmd wires it, in miniature: the LapseInformationDeadline behaviour of the real aggregate,
// appended to the real store with a deterministic command id. script, if set, may fail the n-th call for id first.
type lapser struct {
	e      *env
	clock  *clock
	script func(id uuid.UUID, n int) error

	mu    sync.Mutex
	calls map[uuid.UUID]int
	times []time.Time
}

func newLapser(e *env, c *clock) *lapser {
	return &lapser{e: e, clock: c, calls: map[uuid.UUID]int{}}
}

func (l *lapser) lapse(ctx context.Context, id uuid.UUID) error {
	l.mu.Lock()
	l.calls[id]++
	n := l.calls[id]
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	if l.script != nil {
		if err := l.script(id, n); err != nil {
			return err
		}
	}
	stream := servicerequest.StreamID(id)
	history, err := l.e.events.Store.Load(ctx, stream)
	if err != nil {
		return err
	}
	req := servicerequest.Rehydrate(id, history)
	if err := req.LapseInformationDeadline(l.clock.Now()); err != nil {
		return err
	}
	if len(req.Events()) == 0 {
		return nil // already lapsed: an idempotent repeat
	}
	cmd := uuid.NewSHA1(uuid.NameSpaceOID, []byte("lapse/"+id.String()))
	_, err = l.e.events.Store.Append(ctx, stream, esdb.Revision(history[len(history)-1].Revision),
		event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd,
			Actor: event.Actor{ID: "reactions/casework", Role: event.RoleSystem}, OccurredAt: l.clock.Now()},
		req.Events()...)
	return err
}

func (l *lapser) called() map[uuid.UUID]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.calls)
}

func (l *lapser) callTimes() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.times)
}

// request writes a submitted request awaiting information until deadline; it returns its id and the commit.
func (e *env) request(t *testing.T, deadline time.Time) (uuid.UUID, event.Commit) {
	t.Helper()
	id := uuid.New()
	rs := servicerequest.StreamID(id)
	e.write(t, rs, at, submitted(uuid.New()))
	c, _ := e.write(t, rs, at, servicerequest.InformationRequested{Caseworker: uuid.New(),
		Items: []string{"Avis d'imposition 2025"}, Deadline: deadline})
	return id, c
}

// lapses counts the InformationDeadlineLapsed events of the request id.
func (e *env) lapses(t *testing.T, id uuid.UUID) int {
	t.Helper()
	history, err := e.events.Store.Load(ctxT(t), servicerequest.StreamID(id))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range history {
		if _, ok := h.Event.(servicerequest.InformationDeadlineLapsed); ok {
			n++
		}
	}
	return n
}

// runScheduler runs a scheduler until the returned stop is called (or the test ends).
func (e *env) runScheduler(t *testing.T, db *sqldb.DB, lapse casework.LapseFunc, c *clock, interval, maxRetry time.Duration) func() {
	t.Helper()
	s := casework.NewScheduler(casework.SchedulerDeps{DB: db, Lapse: lapse, Now: c.Now, Interval: interval,
		MaxRetryDelay: maxRetry, LeaseRetry: 20 * time.Millisecond, Logger: e.logger})
	return messagingtest.Run(t, s.Run)
}

func pendingIDs(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	rows, err := casework.PendingDeadlines(ctxT(t), db)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.RequestID)
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(ids ...uuid.UUID) []string {
	var s []string
	for _, id := range ids {
		s = append(s, id.String())
	}
	slices.Sort(s)
	return s
}

func TestSchedulerLapsesDueDeadlinesAcrossRestarts(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		e := newEnv(t)
		db := tg.Open(t)
		migrate(t, db)
		r := e.start(t, db)
		clk := &clock{}
		base := time.Now().UTC()

		due, _ := e.request(t, base.Add(time.Hour))
		answered, _ := e.request(t, base.Add(time.Hour))
		e.write(t, servicerequest.StreamID(answered), at, servicerequest.InformationReceived{What: "avis joint"})
		withdrawn, _ := e.request(t, base.Add(time.Hour))
		e.write(t, servicerequest.StreamID(withdrawn), at, servicerequest.Withdrawn{MemberID: uuid.New()},
			servicerequest.Closed{Reason: servicerequest.CloseWithdrawn})
		later, c := e.request(t, base.Add(10*time.Hour))
		reached(t, db, c.Position)
		if got, want := pendingIDs(t, db), sortedIDs(due, later); !slices.Equal(got, want) {
			t.Fatalf("pending %v, want %v", got, want)
		}

		// Two hours later, with two replicas: one deadline is due, and only one scheduler acts.
		clk.set(2 * time.Hour)
		l := newLapser(e, clk)
		replica := newLapser(e, clk)
		stop := e.runScheduler(t, db, l.lapse, clk, 50*time.Millisecond, time.Second)
		eventually(t, "the first scheduler to hold the lease", func() bool { return len(l.called()) > 0 })
		stopReplica := e.runScheduler(t, tg.Open(t), replica.lapse, clk, 50*time.Millisecond, time.Second)
		eventually(t, "the due deadline lapsed", func() bool {
			return slices.Equal(pendingIDs(t, db), sortedIDs(later))
		})
		time.Sleep(200 * time.Millisecond) // a few more ticks: nothing else is due
		if got := slices.Collect(maps.Keys(l.called())); !slices.Equal(got, []uuid.UUID{due}) {
			t.Fatalf("Lapse called for %v, want %v only", got, due)
		}
		if n := len(replica.called()); n != 0 {
			t.Errorf("the replica without the lease called Lapse %d times", n)
		}
		if n := e.lapses(t, due); n != 1 {
			t.Errorf("%d lapses recorded, want 1", n)
		}

		// Everything stops; a deadline is recorded while down; a new process (new handles, router and scheduler)
		// starts later, when every remaining deadline is due.
		stopReplica()
		stop()
		r.stop(t)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		whileDown, c := e.request(t, base.Add(3*time.Hour))
		db2 := tg.Open(t)
		e.start(t, db2)
		clk.set(11 * time.Hour)
		e.runScheduler(t, db2, l.lapse, clk, 50*time.Millisecond, time.Second)
		reached(t, db2, c.Position)
		eventually(t, "every deadline lapsed", func() bool { return len(pendingIDs(t, db2)) == 0 })
		calls := l.called()
		if got, want := sortedIDs(slices.Collect(maps.Keys(calls))...), sortedIDs(due, later, whileDown); !slices.Equal(got, want) {
			t.Fatalf("Lapse called for %v, want %v", got, want)
		}
		for _, id := range []uuid.UUID{due, later, whileDown} {
			if n := e.lapses(t, id); n != 1 {
				t.Errorf("%s: %d lapses recorded, want 1", id, n)
			}
		}
		for _, id := range []uuid.UUID{answered, withdrawn} {
			if calls[id] != 0 || e.lapses(t, id) != 0 {
				t.Errorf("%s lapsed although it was answered or withdrawn", id)
			}
		}
	})
}

func TestRefusedLapseIsRetriedWithBackOff(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t)
		migrate(t, db)
		e.start(t, db)
		clk := &clock{}
		id, c := e.request(t, time.Now().Add(time.Hour))
		reached(t, db, c.Position)
		clk.set(2 * time.Hour)

		// The first call fails (the event store is down: next tick), the next two are refused by the rule (the
		// command's clock is behind: back-off), the fourth lapses.
		l := newLapser(e, clk)
		l.script = func(_ uuid.UUID, n int) error {
			switch n {
			case 1:
				return errors.New("connection refused")
			case 2, 3:
				return servicerequest.ErrDeadlineNotReached
			}
			return nil
		}
		const interval, maxRetry = 20 * time.Millisecond, 40 * time.Millisecond
		e.runScheduler(t, db, l.lapse, clk, interval, maxRetry)
		eventually(t, "the deadline lapsed", func() bool { return len(pendingIDs(t, db)) == 0 })
		time.Sleep(10 * interval)
		times := l.callTimes()
		if len(times) != 4 || l.called()[id] != 4 {
			t.Fatalf("%d calls, want 4", len(times))
		}
		// Call 2 comes at the next tick: a ticker that fell behind under load delivers it at once, so only the
		// back-off gaps (calls 3 and 4) have a lower bound.
		for i, min := range []time.Duration{0, interval * 3 / 4, maxRetry * 3 / 4} {
			if gap := times[i+1].Sub(times[i]); gap < min {
				t.Errorf("call %d came %v after the previous one, want at least %v", i+2, gap, min)
			}
		}
		if n := e.lapses(t, id); n != 1 {
			t.Errorf("%d lapses recorded, want 1", n)
		}
		logs := e.logs.String()
		for _, part := range []string{"lapse refused", "servicerequest.deadline_not_reached", "lapse failed"} {
			if !strings.Contains(logs, part) {
				t.Errorf("logs lack %q", part)
			}
		}
	})
}
