package audittree_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/projbench"
)

// BenchmarkTreeAgainstRebuild measures, in the same run over the same log (AUDIT_BENCH_EVENTS events, default
// 100,000, on a node on disk): the rebuild rate of the projection runtime's sample projection (streamactivity,
// projbench.RebuildRate), the rebuild rate of the audit tree (projections.Rebuild of audittree: the same runner and
// source), on SQLite and PostgreSQL (DOSSIER_TEST_POSTGRES_URL), then a signed head and `audit verify` (Verify over
// $all read with the official client) with its rate. One iteration: run with -benchtime 1x.
func BenchmarkTreeAgainstRebuild(b *testing.B) {
	events := 100_000
	if s := os.Getenv("AUDIT_BENCH_EVENTS"); s != "" {
		events, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	client, err := kurrentdb.Connect(ctx, node.ConnectionString())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	reg, err := event.NewRegistry(projbench.Definitions(), auditlog.Definitions())
	if err != nil {
		b.Fatal(err)
	}
	codec := kurrentdb.NewCodec(reg)
	store := kurrentdb.NewStore(client, codec)
	source := kurrentdb.NewSource(client, codec)
	fill, err := projbench.Fill(ctx, func(ctx context.Context, s event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
		return store.Append(ctx, s, esdb.Any{}, m, evs...)
	}, projbench.FillOptions{Events: events, Streams: max(events/10, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d events in %s (%.0f/s)", fill.Events, fill.Elapsed.Round(time.Millisecond), fill.PerSecond)
	b.ResetTimer()
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		if d == sqldb.Postgres && os.Getenv(sqldbtest.PostgresURLEnv) == "" {
			continue
		}
		db := sqldbtest.NewTarget(b, d).Open(b)
		base, err := projbench.RebuildRate(ctx, db, source)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		p, err := projections.Rebuild(ctx, db, source, audittree.New(), projections.RebuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		tree := float64(p.Events) / time.Since(start).Seconds()
		b.Logf("%s: streamactivity rebuild %.0f events/s (%s), audit tree rebuild %.0f events/s (%d events): ratio %.2f",
			d, base.PerSecond, base.Elapsed.Round(time.Millisecond), tree, p.Events, tree/base.PerSecond)
		b.ReportMetric(base.PerSecond, string(d)+"-rebuild-events/s")
		b.ReportMetric(tree, string(d)+"-tree-events/s")
		if d == sqldb.SQLite {
			key, _ := auditlog.ParseKey("0101010101010101010101010101010101010101010101010101010101010101")
			if _, _, err := auditlog.New(audittree.NewQueries(db), store, key).Sign(ctx); err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			n := 0
			if err := auditlog.ReadAll(client)(ctx, func(event.Record) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			read := float64(n) / time.Since(start).Seconds()
			b.Logf("read $all alone (verify's baseline): %d events at %.0f events/s", n, read)
			b.ReportMetric(read, "readall-events/s")
			start = time.Now()
			rep, err := auditlog.Verify(ctx, auditlog.ReadAll(client), key.Verifier(), nil)
			if err != nil || !rep.OK() {
				b.Fatalf("verify: %+v, %v", rep, err)
			}
			took := time.Since(start)
			b.Logf("verify: %d events, 1 head, in %s: %.0f events/s (1 M events in %.0f s at this rate)", rep.Leaves,
				took.Round(time.Millisecond), float64(rep.Leaves)/took.Seconds(), 1e6/(float64(rep.Leaves)/took.Seconds()))
			b.ReportMetric(float64(rep.Leaves)/took.Seconds(), "verify-events/s")
		}
	}
}
