// Package storetest gives projection tests an in-memory event-store node that knows the sample events of
// projectionstest: a store to write to (also events a runner cannot decode) and a source for runners. It is apart
// from projectionstest, which, like the projections, imports no event-store adapter (tests/architecture).
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// Env is an in-memory event-store node with a store to write to and a source for runners.
type Env struct {
	Store  *kurrentdb.Store // writes known and unknown events
	Source *kurrentdb.Source
}

// New starts a node whose runners' codec knows projectionstest.Known; its store also writes
// projectionstest.Unknowns.
func New(t *testing.T) *Env {
	t.Helper()
	es := kurrentdbtest.StartWith(t, kurrentdbtest.Options{ClientLogger: projectionstest.Logger()}, projectionstest.Known)
	writer := kurrentdbtest.NewCodec(t, projectionstest.Known, projectionstest.Unknowns)
	return &Env{Store: kurrentdb.NewStore(es.Client, writer), Source: es.Source}
}

// Append appends events to stream and returns where they landed.
func (e *Env) Append(t *testing.T, stream event.StreamID, events ...any) event.Commit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := e.Store.Append(ctx, stream, esdb.Any{}, projectionstest.Meta(), events...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return c
}

// NewStream returns a new stream of category.
func NewStream(category string) event.StreamID { return event.NewStreamID(category, uuid.New()) }
