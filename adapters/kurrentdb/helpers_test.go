package kurrentdb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
)

// Sample events of a fictitious aggregate; real ones live in the aggregate packages.
type opened struct {
	Queue string `json:"queue"`
}

type noted struct {
	Text string `json:"text"`
}

func testCodec(t testing.TB) *Codec {
	t.Helper()
	reg, err := event.NewRegistry([]event.Definition{
		event.Define[opened]("TestCaseOpened"),
		event.Define[noted]("TestCaseNoted"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewCodec(reg)
}

var testClock = time.Date(2025, 1, 6, 8, 30, 0, 0, time.UTC)

func testMeta(command uuid.UUID) event.Metadata {
	return event.Metadata{
		CorrelationID: uuid.New(),
		CausationID:   command,
		CommandID:     command,
		Actor:         event.Actor{ID: uuid.NewString(), Role: event.RoleCaseworker},
		OccurredAt:    testClock,
	}
}

func newStream() event.StreamID { return event.NewStreamID("testcase", uuid.New()) }

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startNode(t *testing.T, opts kurrentnode.Options) *kurrentnode.Node {
	t.Helper()
	n, err := kurrentnode.Start(opts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func connect(t *testing.T, n *kurrentnode.Node) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, n.ConnectionString(), WithLogger(testLogger()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// memoryStore starts an in-memory node and returns a store and a source on it.
func memoryStore(t *testing.T) (*Store, *Source, *Client) {
	t.Helper()
	c := connect(t, startNode(t, kurrentnode.Options{InMemory: true}))
	codec := testCodec(t)
	return NewStore(c, codec), NewSource(c, codec), c
}

// rawStream reads a stream with the official client only, bypassing this package.
func rawStream(t *testing.T, c *Client, stream string) []*esdb.RecordedEvent {
	t.Helper()
	rs, err := c.ESDB().ReadStream(context.Background(), stream, esdb.ReadStreamOptions{}, ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		re, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		var ee *esdb.Error
		if errors.As(err, &ee) && ee.Code() == esdb.ErrorCodeResourceNotFound {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, re.Event)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
