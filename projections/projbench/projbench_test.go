package projbench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// wire starts an in-memory node and returns a source and an Append over it, as `dossier bench projections` does.
func wire(t testing.TB) (*kurrentdb.Source, Append) {
	t.Helper()
	es := kurrentdbtest.Start(t, Definitions())
	return es.Source, func(ctx context.Context, s event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
		return es.Store.Append(ctx, s, esdb.Any{}, m, evs...)
	}
}

// wireSealed starts a second in-memory node and returns Config.Sealed over it, as `dossier bench projections` does.
func wireSealed(t testing.TB) (*kurrentdbtest.Env, func(event.Sealer) (Append, projections.Source)) {
	t.Helper()
	es := kurrentdbtest.Start(t, Definitions())
	reg, err := event.NewRegistry(Definitions())
	if err != nil {
		t.Fatal(err)
	}
	return es, func(s event.Sealer) (Append, projections.Source) {
		codec := kurrentdb.NewCodec(reg.WithSealer(s))
		store := kurrentdb.NewStore(es.Client, codec)
		return func(ctx context.Context, st event.StreamID, m event.Metadata, evs ...any) (event.Commit, error) {
			return store.Append(ctx, st, esdb.Any{}, m, evs...)
		}, kurrentdb.NewSource(es.Client, codec)
	}
}

func TestNewRecordedIsEventSized(t *testing.T) {
	b, err := json.Marshal(NewRecorded(12345))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < EventSize-5 || len(b) > EventSize+5 {
		t.Errorf("payload is %d bytes, want about %d", len(b), EventSize)
	}
}

func TestRunTiny(t *testing.T) {
	pgURL := os.Getenv(sqldbtest.PostgresURLEnv)
	if pgURL == "" {
		t.Fatalf("%s is not set: run the tests through `go run ./tests/testenv -- go test ./...`", sqldbtest.PostgresURLEnv)
	}
	source, appendFn := wire(t)
	sealedEnv, sealed := wireSealed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		Source: source, Append: appendFn, Sealed: sealed,
		Fill:   FillOptions{Events: 600, Streams: 200, Writers: 4},
		Rounds: 1, PostgresURL: pgURL, Dir: t.TempDir(),
		RYW: RYWOptions{Clients: 2, Duration: 300 * time.Millisecond, Streams: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fill.Events != 600 || rep.Fill.Last == 0 || len(rep.Dialects) != 2 || len(rep.Read) != 1 || rep.Read[0].Count != 600 {
		t.Fatalf("report %+v", rep)
	}
	if f := rep.SealedFill; f == nil || f.Events != 600 || f.PerSecond <= 0 || rep.SealedFillRatio <= 0 ||
		len(rep.SealedRead) != 1 || rep.SealedRead[0].Count != 600 || rep.SealedReadMedian <= 0 {
		t.Fatalf("sealed figures: %+v %+v", rep.SealedFill, rep.SealedRead)
	}
	// The sealed store really holds the notes sealed, the clear fields in clear.
	clearNote := strings.Repeat("x", 20)
	records := sealedEnv.AllRecords(t)
	if len(records) != 600 {
		t.Fatalf("sealed store holds %d events", len(records))
	}
	for _, re := range records {
		if strings.Contains(string(re.Data), clearNote) || !strings.Contains(string(re.Data), `"_sealed"`) ||
			!strings.Contains(string(re.Data), `"service":"attestation-de-droits"`) {
			t.Fatalf("sealed store payload %s", re.Data)
		}
	}
	for _, d := range rep.Dialects {
		r := d.Rounds[0]
		if r.Rebuild.Count != 600 || r.Raw.Count != 600 || d.Rebuild <= 0 || d.Raw <= 0 || d.Ratio <= 0 {
			t.Errorf("%s: %+v", d.Dialect, d)
		}
		if r.SealedRebuild == nil || r.SealedRebuild.Count != 600 || d.SealedRebuild <= 0 || d.SealedRatio <= 0 {
			t.Errorf("%s: sealed rebuild %+v", d.Dialect, d)
		}
		if d.RYW == nil || d.RYW.Commands == 0 || d.RYW.Wait.P50 <= 0 || d.RYW.Wait.P99 < d.RYW.Wait.P50 {
			t.Errorf("%s: read-your-writes %+v", d.Dialect, d.RYW)
		}
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sqlite: rebuild, events/s", "postgres: raw bulk insert (COPY", "read-your-writes wait",
		"sqlite: rebuild sealed ÷ clear", "postgres: rebuild from the sealed log", "fill, sealed ÷ clear"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
