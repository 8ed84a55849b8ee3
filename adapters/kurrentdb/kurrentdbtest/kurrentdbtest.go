// Package kurrentdbtest starts an in-memory event store for tests: an embedded node, a client connected to it, and
// a store and a source decoding with the definitions the test names. Everything is closed when the test ends.
package kurrentdbtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/event"
)

// timeout bounds each call this package makes to the node.
const timeout = 30 * time.Second

// Env is an in-memory node with a client, and a store and a source over it sharing one codec.
type Env struct {
	Node   *kurrentnode.Node
	Client *kurrentdb.Client
	Codec  *kurrentdb.Codec
	Store  *kurrentdb.Store
	Source *kurrentdb.Source
}

// Options tune Start. The zero value logs nothing.
type Options struct {
	NodeLogger   *slog.Logger // the node's logs; nil discards them
	ClientLogger *slog.Logger // the client's logs (kurrentdb.WithLogger); nil discards them
}

// Start starts an in-memory node and connects to it; Store and Source decode with the definitions in defs.
func Start(t testing.TB, defs ...[]event.Definition) *Env {
	t.Helper()
	return StartWith(t, Options{}, defs...)
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options, defs ...[]event.Definition) *Env {
	t.Helper()
	node, err := kurrentnode.Start(kurrentnode.Options{InMemory: true, Logger: opts.NodeLogger})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	var connect []kurrentdb.Option
	if opts.ClientLogger != nil {
		connect = append(connect, kurrentdb.WithLogger(opts.ClientLogger))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client, err := kurrentdb.Connect(ctx, node.ConnectionString(), connect...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	codec := NewCodec(t, defs...)
	return &Env{Node: node, Client: client, Codec: codec, Store: kurrentdb.NewStore(client, codec),
		Source: kurrentdb.NewSource(client, codec)}
}

// NewCodec returns a codec over a registry of the definitions in defs.
func NewCodec(t testing.TB, defs ...[]event.Definition) *kurrentdb.Codec {
	t.Helper()
	reg, err := event.NewRegistry(defs...)
	if err != nil {
		t.Fatal(err)
	}
	return kurrentdb.NewCodec(reg)
}

// AllRecords reads the whole log with the official client, without the event store's own events.
func (e *Env) AllRecords(t testing.TB) []*esdb.RecordedEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rs, err := e.Client.ESDB().ReadAll(ctx, esdb.ReadAllOptions{}, 1<<20)
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
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(re.Event.EventType, "$") {
			out = append(out, re.Event)
		}
	}
}
