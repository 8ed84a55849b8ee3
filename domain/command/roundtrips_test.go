package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// sameAck compares two acknowledgements as the API shows them (JSON).
func sameAck(t *testing.T, a, b command.SubmitResult) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// countingStore is the real event store over the real node, counting the calls made through the port per kind
// ("Load", "Update", "UpdateFrom") and stream category: the round trips a command costs.
type countingStore struct {
	command.EventStore
	mu    sync.Mutex
	calls map[string]int
}

func newCountingStore(s command.EventStore) *countingStore {
	return &countingStore{EventStore: s, calls: map[string]int{}}
}

func (s *countingStore) count(kind string, stream event.StreamID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[kind]++
	s.calls[kind+" "+stream.Category]++
}

// Calls returns the counts so far and starts again from zero.
func (s *countingStore) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = map[string]int{}
	return c
}

func (s *countingStore) Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error) {
	s.count("Load", stream)
	return s.EventStore.Load(ctx, stream)
}

func (s *countingStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command,
	decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	s.count("Update", stream)
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

func (s *countingStore) UpdateFrom(ctx context.Context, stream event.StreamID, cmd event.Command, history []event.Envelope,
	decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	s.count("UpdateFrom", stream)
	return s.EventStore.UpdateFrom(ctx, stream, cmd, history, decide)
}

// newCountingCaseFixture is newCaseFixture whose handlers go through a countingStore.
func newCountingCaseFixture(t *testing.T) (*caseFixture, *countingStore) {
	t.Helper()
	f := newCaseFixture(t)
	counting := newCountingStore(f.env.Store)
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandlers(testDeps{Store: counting, Keys: keys, Hasher: caseHasher{}, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f, counting
}

// TestCaseSubmitRoundTrips: a new submission reads its request stream, appends twice without reading before (the
// reference claim, expecting a new stream, then the request at the revision it read), and reads the request back for
// its acknowledgement (the one a retry answers from the stored events): 2 reads and 2 appends, where it took 4 and 2.
func TestCaseSubmitRoundTrips(t *testing.T) {
	f, counting := newCountingCaseFixture(t)
	memberID := uuid.New()
	m := caseMeta()
	in := command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)}
	first, err := f.h.SubmitRequest(caseCtx(t), m, memberID, in)
	if err != nil {
		t.Fatal(err)
	}
	calls := counting.Calls()
	if calls["Load"] != 2 || calls["UpdateFrom"] != 2 || calls["Update"] != 0 {
		t.Fatalf("calls %v, want 2 Loads and 2 UpdateFrom", calls)
	}
	again, err := f.h.SubmitRequest(caseCtx(t), m, memberID, in)
	if err != nil {
		t.Fatal(err)
	}
	if calls := counting.Calls(); calls["Load"] != 1 || calls["UpdateFrom"]+calls["Update"] != 0 {
		t.Fatalf("retry calls %v, want 1 Load", calls)
	}
	if !sameAck(t, again, first) {
		t.Fatalf("retry answered %+v, the first %+v", again, first)
	}
	if h := f.history(t, first.RequestID); first.Revision != h[len(h)-1].Revision || first.Position != h[len(h)-1].Position {
		t.Fatalf("acknowledged revision %d position %d, stored last %d at %d", first.Revision, first.Position,
			h[len(h)-1].Revision, h[len(h)-1].Position)
	}
}

// TestCaseSubmitConcurrentRetries: the same submission sent several times at once is recorded once, and every
// answer is its acknowledgement (a retry that lost the race recognises the winner's events).
func TestCaseSubmitConcurrentRetries(t *testing.T) {
	f := newCaseFixture(t)
	// Each call reads another time, as concurrent retries do: a loser must answer the winner's receipt time.
	var tick atomic.Int64
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	if f.h, err = newHandlers(testDeps{Store: f.env.Store, Keys: keys, Hasher: caseHasher{}, Clock: func() time.Time {
		return f.clock.Now().Add(time.Duration(tick.Add(1)) * time.Millisecond)
	}}); err != nil {
		t.Fatal(err)
	}
	memberID := uuid.New()
	m := caseMeta()
	in := command.SubmitInput{Service: caseService, Form: caseFormOf(t, caseForm)}
	const n = 4
	var (
		wg      sync.WaitGroup
		results [n]command.SubmitResult
		errs    [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.h.SubmitRequest(caseCtx(t), m, memberID, in)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if !sameAck(t, results[i], results[0]) {
			t.Fatalf("submission %d answered %+v, the first %+v", i, results[i], results[0])
		}
	}
	if got := f.countStreams(t, servicerequest.Category+"-"); got != 3 {
		t.Fatalf("%d request events, want 3", got)
	}
}

// TestStaffStreamReadOncePerRequest: within one request (command.WithStaffScope), the staff stream the session check
// reads serves the request's case commands; every request reads it afresh, so a session ended, or a queue taken
// away, between two requests is seen by the next one.
func TestStaffStreamReadOncePerRequest(t *testing.T) {
	f, counting := newCountingCaseFixture(t)
	id := f.caseworker(t, caseQueue)
	session := uuid.New()
	appendStaff := func(e any) {
		t.Helper()
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: id.String(), Role: event.RoleCaseworker}, OccurredAt: f.clock.Now()}}
		if _, err := f.env.Store.Update(caseCtx(t), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
			return []any{e}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	appendStaff(staff.LoggedIn{SessionID: session})
	request := func() (command.QueueAccess, error) {
		ctx := command.WithStaffScope(caseCtx(t))
		if _, err := f.h.StaffSession(ctx, id, session); err != nil {
			return command.QueueAccess{}, err
		}
		return f.h.QueueAccess(ctx, id)
	}
	counting.Calls()
	access, err := request()
	if err != nil {
		t.Fatal(err)
	}
	if calls := counting.Calls(); calls["Load "+staff.Category] != 1 {
		t.Fatalf("calls %v, want 1 Load of the staff stream", calls)
	}
	if err := access.Check(caseQueue); err != nil {
		t.Fatalf("own queue: %v", err)
	}
	// Without the scope (an operator command), each command reads the stream.
	if _, err := f.h.QueueAccess(caseCtx(t), id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.QueueAccess(caseCtx(t), id); err != nil {
		t.Fatal(err)
	}
	if calls := counting.Calls(); calls["Load "+staff.Category] != 2 {
		t.Fatalf("calls %v, want 2 Loads of the staff stream", calls)
	}
	// Queues taken away: the next request sees it.
	appendStaff(staff.QueuesAssigned{Queues: []string{}})
	if access, err = request(); err != nil {
		t.Fatal(err)
	}
	if err := access.Check(caseQueue); failure.CodeOf(err) != "case.outside_queues" {
		t.Fatalf("queue taken away, the next request checks %v", err)
	}
	// The session ended: the next request is refused.
	appendStaff(staff.LoggedOut{SessionID: session})
	if _, err := request(); !errors.Is(err, staff.ErrSessionEnded) {
		t.Fatalf("session ended, the next request: %v", err)
	}
}
