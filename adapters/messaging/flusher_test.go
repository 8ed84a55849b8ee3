package messaging_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// With a checkpoint interval, a Router stores every handler's checkpoint in one write per interval, not one per
// handler: the handlers' writes used to come as a burst of one transaction each, queueing on the single writer in
// front of the projections (BENCHMARKS.md, "Writer traffic (session 8)"). Each checkpoint still reaches the last
// acknowledged event.
func TestRouterStoresEveryHandlersCheckpointInOneWritePerInterval(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		reg := prometheus.NewRegistry()
		if err := db.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		stream := newStream()
		first := l.appendOne(t, stream, caseOpened{Queue: "general"})

		const interval = 300 * time.Millisecond
		cfg := fastConfig(l, db)
		cfg.CheckpointInterval = interval
		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		const handlers = 8
		var names []string
		for i := range handlers {
			name := fmt.Sprintf("test.flushed-%d", i)
			names = append(names, name)
			if err := router.AddHandler(name, func(*message.Message) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		running(t, router)
		for _, name := range names {
			waitCheckpoint(t, db, name, first.commit.Position) // stored when each reached the head
		}

		before := checkpointWrites(t, reg)
		start := time.Now()
		var last appended
		for range 10 {
			last = l.appendOne(t, stream, caseNoted{Text: noteOK})
		}
		for _, name := range names {
			waitCheckpoint(t, db, name, last.commit.Position)
		}
		elapsed := time.Since(start)
		writes := checkpointWrites(t, reg) - before
		// At most one write per interval elapsed (and one for a tick in progress at each end).
		if limit := int(elapsed/interval) + 2; writes > float64(limit) || writes < 1 {
			t.Errorf("%v checkpoint writes for %d handlers in %v, want 1 to %d (one per interval of %v, whatever the number of handlers)",
				writes, handlers, elapsed.Round(time.Millisecond), limit, interval)
		}
	})
}

// checkpointWrites is the number of write transactions that stored reaction checkpoints (and nothing of more rank).
func checkpointWrites(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "dossier_sqldb_writes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "kind" && lp.GetValue() == "reaction_checkpoint" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}
