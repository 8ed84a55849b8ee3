package audittree_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// records returns n stored records at increasing positions (every seventh a second event of the same append, at
// the same commit position and a later prepare position).
func records(n int) []event.Record {
	out := make([]event.Record, n)
	pos := uint64(100)
	for i := range out {
		pos += 37
		out[i] = event.Record{Stream: fmt.Sprintf("member-%s", uuid.NewSHA1(uuid.Nil, []byte{byte(i % 5)})),
			Revision: uint64(i / 5), Position: pos, Prepare: pos, EventID: uuid.New(), Type: "MemberSomething",
			Data: fmt.Appendf(nil, `{"n":%d,"_sealed":"AAEC"}`, i), Metadata: []byte(`{"actor":{"id":"x","role":"system"}}`),
			RecordedAt: time.Unix(int64(i), 0)}
	}
	return out
}

// memRoot is the tree of recs computed independently, in memory.
func memRoot(t testing.TB, recs []event.Record) (tlog.Hash, tlog.HashReader) {
	t.Helper()
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i, rec := range recs {
		hs, err := tlog.StoredHashes(int64(i), auditlog.LeafOf(rec).Encode(), r)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	root, err := tlog.TreeHash(int64(len(recs)), r)
	if err != nil {
		t.Fatal(err)
	}
	return root, r
}

func applyRecords(t testing.TB, db *sqldb.DB, p *audittree.Projection, batch []event.Record) {
	t.Helper()
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		return p.ApplyRecords(context.Background(), tx, batch)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestTreeMatchesAnIndependentComputation: batches of records make the tree sumdb/tlog computes over the leaves'
// encodings, on both dialects; sizes, leaf indexes, stored leaves and inclusion proofs read back through Queries.
func TestTreeMatchesAnIndependentComputation(t *testing.T) {
	recs := records(300)
	want, _ := memRoot(t, recs)
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, audittree.New())
		for batch := range slices.Chunk(recs, 61) {
			applyRecords(t, db, p, batch)
		}
		q := audittree.NewQueries(db)
		ctx := context.Background()
		size, commit, _, err := q.Size(ctx)
		if err != nil || size != 300 || commit != recs[299].Position {
			t.Fatalf("Size = %d, %d, %v; want 300, %d", size, commit, err, recs[299].Position)
		}
		got, err := tlog.TreeHash(size, q.Hashes(ctx))
		if err != nil || got != want {
			t.Fatalf("root %v (%v), want %v", got, err, want)
		}
		idx, err := q.LeafIndexes(ctx, []uint64{recs[0].Position, recs[150].Position, 1})
		if err != nil || len(idx) != 2 || idx[recs[150].Position] != 150 || idx[recs[0].Position] != 0 {
			t.Fatalf("LeafIndexes = %v, %v", idx, err)
		}
		for _, n := range []int64{0, 1, 150, 299} {
			proof, err := tlog.ProveRecord(size, n, q.Hashes(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(proof, size, want, n, auditlog.LeafOf(recs[n]).Hash()); err != nil {
				t.Fatalf("leaf %d: %v", n, err)
			}
		}
		count := 0
		if err := q.Leaves(ctx, 0, func(s audittree.Stored) (bool, error) {
			if s.Leaf != int64(count) || s.Commit != recs[count].Position || s.Hash != auditlog.LeafOf(recs[count]).Hash() {
				t.Errorf("leaf %d: %+v", count, s)
			}
			count++
			return true, nil
		}); err != nil || count != 300 {
			t.Fatalf("Leaves: %d, %v", count, err)
		}
	})
}

// TestReplaysAndRebuild: the projection's replay-and-rebuild check, the envelopes standing for their records.
func TestReplaysAndRebuild(t *testing.T) {
	recs := records(23)
	byPos := map[uint64]event.Record{}
	evs := make([]event.Envelope, len(recs))
	for i, r := range recs {
		byPos[r.Position] = r
		evs[i] = event.Envelope{Position: r.Position}
	}
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		live := projectionstest.Setup(t, db, audittree.New())
		once := projectionstest.Setup(t, db, &audittree.Projection{Meta: audittree.MetaAt(7)})
		applyRecords(t, db, once, recs)
		want := projectionstest.DumpVersion(t, db, audittree.Name, 7, "_hashes")
		apply := func(p projections.Projection, batch ...event.Envelope) {
			rs := make([]event.Record, len(batch))
			for i, e := range batch {
				rs[i] = byPos[e.Position]
			}
			applyRecords(t, db, p.(*audittree.Projection), rs)
		}
		dump := func(v int) []string { return projectionstest.DumpVersion(t, db, audittree.Name, v, "_hashes") }
		projectionstest.ReplaysAndRebuild(t, db, live, &audittree.Projection{Meta: audittree.MetaAt(audittree.Version + 1)},
			evs, want, apply, dump)
	})
}

// TestRunnerFeedsStoredRecords: the runner gives the tree the records as stored, also those it cannot decode, and
// the tree equals the one computed from $all read with the official client.
func TestRunnerFeedsStoredRecords(t *testing.T) {
	env := kurrentdbtest.Start(t) // no definitions: every event is undecodable to this codec
	ctx := context.Background()
	var last uint64
	for i := range 40 {
		stream := fmt.Sprintf("thing-%s", uuid.NewSHA1(uuid.Nil, []byte{byte(i % 3)}))
		evs := []esdb.EventData{{EventID: uuid.New(), EventType: "ThingHappened", ContentType: esdb.ContentTypeJson,
			Data: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: []byte(`{}`)}}
		if i%4 == 0 {
			evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: "ThingFollowed", ContentType: esdb.ContentTypeJson,
				Data: []byte(`{}`)})
		}
		res, err := env.Client.ESDB().AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, evs...)
		if err != nil {
			t.Fatal(err)
		}
		last = res.CommitPosition
	}
	var recs []event.Record
	for _, re := range env.AllRecords(t) {
		recs = append(recs, kurrentdb.RecordOf(re))
	}
	want, _ := memRoot(t, recs)
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		r := projectionstest.StartRunner(t, db, env.Source, audittree.New())
		r.Wait(t, last)
		q := audittree.NewQueries(db)
		size, _, _, err := q.Size(ctx)
		if err != nil || size != int64(len(recs)) {
			t.Fatalf("size %d (%v), want %d", size, err, len(recs))
		}
		got, err := tlog.TreeHash(size, q.Hashes(ctx))
		if err != nil || got != want {
			t.Fatalf("root %v (%v), want %v", got, err, want)
		}
	})
}
