package kurrentdb

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/failure"
)

// blindCommand is a command on a log that only grows: decide ignores the history.
func blindCommand(id uuid.UUID) event.Command {
	return event.Command{Metadata: testMeta(id), Blind: true}
}

// TestUpdateBlind, on the real node through the official client: a blind command appends without reading, at any
// revision; the same command again (a retry: same command id, same event ids) appends nothing and answers the
// original revision and position, even with other records in between; its events carry the metadata an ordinary
// Update gives them (subject included, so the sealing key is the same).
func TestUpdateBlind(t *testing.T) {
	_, _, c := memoryStore(t)
	reg := testCodec(t).Registry().WithSealer(eventtest.NewMemorySealer())
	store := NewStore(c, NewCodec(reg))
	ctx := ctxT(t)
	stream := newStream()
	for i := range 3 {
		if _, err := store.Update(ctx, stream, event.Command{Metadata: testMeta(uuid.New())}, func([]event.Envelope) ([]any, error) {
			return []any{noted{Text: fmt.Sprint("before ", i)}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	cmd := blindCommand(uuid.New())
	decided := 0
	decide := func(history []event.Envelope) ([]any, error) {
		decided++
		if history != nil {
			t.Errorf("a blind decision got a history of %d events", len(history))
		}
		return []any{noted{Text: "opened"}}, nil
	}
	first, err := store.Update(ctx, stream, cmd, decide)
	if err != nil || first.Revision != 3 || first.Position == 0 || first.Appended != 1 {
		t.Fatalf("blind update: %+v, %v; want revision 3, a position, 1 appended", first, err)
	}
	// other commands meanwhile, then the retry
	if _, err := store.Update(ctx, stream, blindCommand(uuid.New()), decide); err != nil {
		t.Fatal(err)
	}
	again, err := store.Update(ctx, stream, cmd, decide)
	if err != nil || again.Revision != first.Revision || again.Position != first.Position {
		t.Errorf("retry: %+v, %v; want the original revision %d and position %d", again, err, first.Revision, first.Position)
	}
	history, err := store.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 5 {
		t.Fatalf("%d events, want 5 (3 before, the blind one once, the other one)", len(history))
	}
	if decided != 3 {
		t.Errorf("decide ran %d times, want once per call (3)", decided)
	}
	opened := history[3]
	if opened.EventID != event.DeriveID(cmd.Metadata.CommandID, 0) || opened.Revision != first.Revision || opened.Position != first.Position {
		t.Errorf("blind event: id %s revision %d position %d", opened.EventID, opened.Revision, opened.Position)
	}
	// The metadata an ordinary Update gives the stream's later events: the command's, under the subject of the
	// stream's first event (here the stream's own id, which the sealer named).
	want := cmd.Metadata
	want.Subject, want.SchemaVersion = history[0].Metadata.Subject, 1
	if opened.Metadata != want || history[1].Metadata.Subject != want.Subject || want.Subject != stream.ID {
		t.Errorf("metadata %+v, want %+v (the subject of the stream's first event)", opened.Metadata, want)
	}

	// A blind command with an expected revision is a bug of the caller; decide's errors are returned as they are.
	rev := uint64(4)
	withRev := blindCommand(uuid.New())
	withRev.ExpectedRevision = &rev
	if _, err := store.Update(ctx, stream, withRev, decide); failure.KindOf(err) != failure.Internal {
		t.Errorf("blind command with an expected revision: %v, want Internal", err)
	}
	refused := errors.New("refused")
	if _, err := store.Update(ctx, stream, blindCommand(uuid.New()), func([]event.Envelope) ([]any, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Errorf("decide's error: %v", err)
	}
	if c, err := store.Update(ctx, newStream(), blindCommand(uuid.New()), func([]event.Envelope) ([]any, error) { return nil, nil }); err != nil || c != (event.Commit{}) {
		t.Errorf("nothing to append: %+v, %v", c, err)
	}
	if n := len(rawStream(t, c, stream.String())); n != 5 {
		t.Errorf("%d records after the refused commands, want 5", n)
	}
}

// TestUpdateBlindConcurrent: commands racing on one log never conflict and are all recorded once; the same command
// sent several times at once is recorded once, and every sender gets the same commit.
func TestUpdateBlindConcurrent(t *testing.T) {
	store, _, c := memoryStore(t)
	ctx := ctxT(t)
	stream := newStream()
	const writers = 16
	retried := blindCommand(uuid.New())
	commits := make([]event.Commit, writers)
	errs := make([]error, 2*writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[i] = store.Update(ctx, stream, blindCommand(uuid.New()), func([]event.Envelope) ([]any, error) {
				return []any{noted{Text: fmt.Sprint("opening ", i)}}, nil
			})
		}()
		go func() {
			defer wg.Done()
			commits[i], errs[writers+i] = store.Update(ctx, stream, retried, func([]event.Envelope) ([]any, error) {
				return []any{noted{Text: "the same opening"}}, nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	raw := rawStream(t, c, stream.String())
	if len(raw) != writers+1 {
		t.Errorf("%d records, want %d (each opening once, the repeated one once)", len(raw), writers+1)
	}
	ids := map[uuid.UUID]int{}
	for _, re := range raw {
		ids[re.EventID]++
	}
	if len(ids) != len(raw) {
		t.Errorf("%d distinct ids among %d records", len(ids), len(raw))
	}
	for i, c := range commits {
		if c.Revision != commits[0].Revision || c.Position != commits[0].Position {
			t.Errorf("sender %d of the same command got %+v, another %+v", i, c, commits[0])
		}
	}
}

// TestUpdateBlindRetryAfterRestart: the embedded node keeps its event ids durably, so a retry that comes after the
// node restarted, hundreds of events later, is still recognised (KurrentDB's cache would have forgotten it and
// written the record a second time: see updateBlind).
func TestUpdateBlindRetryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	client := connect(t, node)
	store := NewStore(client, testCodec(t))
	ctx := ctxT(t)
	stream := newStream()
	open := func(s *Store, cmd event.Command) event.Commit {
		t.Helper()
		c, err := s.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) { return []any{noted{Text: "opened"}}, nil })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cmd := blindCommand(uuid.New())
	first := open(store, cmd)
	for range 300 {
		open(store, blindCommand(uuid.New()))
	}
	client.Close()
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}

	node = startNode(t, kurrentnode.Options{Dir: dir})
	client = connect(t, node)
	store = NewStore(client, testCodec(t))
	if again := open(store, cmd); again.Revision != first.Revision || again.Position != first.Position {
		t.Errorf("retry after a restart: %+v, want the original %+v", again, first)
	}
	if n := len(rawStream(t, client, stream.String())); n != 301 {
		t.Errorf("%d records, want 301", n)
	}
}
