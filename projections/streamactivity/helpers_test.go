package streamactivity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The sample events of projectionstest: the projection reads only their envelopes.
type (
	opened = projectionstest.Opened
	noted  = projectionstest.Noted
)

// env is an in-memory event-store node with a store to write to and a source for runners.
type env struct {
	store  *kurrentdb.Store // writes known and unknown events
	source *kurrentdb.Source
}

func newEnv(t *testing.T) *env {
	t.Helper()
	es := kurrentdbtest.StartWith(t, kurrentdbtest.Options{ClientLogger: projectionstest.Logger()}, projectionstest.Known)
	writer := kurrentdbtest.NewCodec(t, projectionstest.Known, projectionstest.Unknowns)
	return &env{store: kurrentdb.NewStore(es.Client, writer), source: es.Source}
}

// append appends events to stream and returns where they landed.
func (e *env) append(t *testing.T, stream event.StreamID, events ...any) event.Commit {
	t.Helper()
	c, err := e.store.Append(ctxT(t), stream, esdb.Any{}, projectionstest.Meta(), events...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newStream(category string) event.StreamID { return event.NewStreamID(category, uuid.New()) }

// rows returns every row of a version's table, keyed by stream.
func rows(t *testing.T, db *sqldb.DB, table string) map[string]Activity {
	t.Helper()
	var list []Activity
	if err := db.Reader().SelectContext(ctxT(t), &list, "SELECT stream, category, last_revision, last_event_type, "+
		"event_count, first_recorded_at, last_recorded_at, last_position FROM "+table); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	out := make(map[string]Activity, len(list))
	for _, a := range list {
		out[a.Stream] = normalize(a)
	}
	return out
}

func checkpoints(t *testing.T, db *sqldb.DB) map[int]projections.Checkpoint {
	t.Helper()
	return projectionstest.Checkpoints(t, db, Name)
}

var errBoom = errors.New("boom")
