package nodebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

func TestPayloadIsEventSizedJSON(t *testing.T) {
	for _, seq := range []int{0, 7, 123_456_789} {
		p := Payload(seq)
		if len(p) != EventSize {
			t.Errorf("Payload(%d) is %d bytes, want %d", seq, len(p), EventSize)
		}
		var doc map[string]any
		if err := json.Unmarshal(p, &doc); err != nil {
			t.Errorf("Payload(%d) is not JSON: %v", seq, err)
		}
		if doc["seq"] != float64(seq) {
			t.Errorf("Payload(%d) has seq %v", seq, doc["seq"])
		}
	}
}

func TestSummarizeAndMedian(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Latencies{Count: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (Latencies{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if s := formatCount(1234567.4); s != "1,234,567" {
		t.Errorf("formatCount = %q", s)
	}
}

func TestFdatasyncCountsWrites(t *testing.T) {
	dir := t.TempDir()
	res, err := Fdatasync(context.Background(), FsyncOptions{Dir: dir, Count: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 20 || res.PerSecond <= 0 || res.Latency.Count != 20 || res.Latency.P99 < res.Latency.P50 {
		t.Errorf("unexpected result %+v", res)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("scratch file left behind: %v", left)
	}
}

func TestAppendsCountAcrossWriters(t *testing.T) {
	ctx := context.Background()
	n, err := StartNode(ctx, t.TempDir(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	res, err := Appends(ctx, n.Client, AppendOptions{Writers: 4, Count: 41})
	if err != nil {
		t.Fatal(err)
	}
	if res.Appends != 41 || res.Writers != 4 || res.Latency.Count != 41 {
		t.Errorf("unexpected result %+v", res)
	}
	all, err := ReadAll(ctx, n.Client)
	if err != nil {
		t.Fatal(err)
	}
	if all.Events != 41 || all.Bytes != 41*EventSize {
		t.Errorf("$all holds %d events (%d bytes), want 41 (%d bytes)", all.Events, all.Bytes, 41*EventSize)
	}
}

// TestRunTiny runs the whole suite with tiny sizes: it proves every measurement works end to end, not how
// fast anything is, PostgreSQL baseline included.
func TestRunTiny(t *testing.T) {
	cfg := Config{
		Dir: t.TempDir(), Rounds: 2, Duration: 150 * time.Millisecond, ReadEvents: 345, Writers: 3,
		PostgresURL: sqldbtest.NewTarget(t, sqldb.Postgres).DSN, // fails loudly without a test PostgreSQL
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PerRound) != 2 {
		t.Fatalf("%d rounds, want 2", len(rep.PerRound))
	}
	for i, r := range rep.PerRound {
		if r.Fsync.Writes == 0 || r.Append1.Appends == 0 || r.AppendN.Appends == 0 || r.AppendN.Writers != 3 {
			t.Errorf("round %d: empty write figures: %+v", i, r)
		}
		if r.ReadAll.Events != 345 || r.CatchUp.Events != 345 {
			t.Errorf("round %d: read %d / caught up %d events, want 345", i, r.ReadAll.Events, r.CatchUp.Events)
		}
		if r.Live.Samples == 0 || r.Live.Delivery.P50 < r.Live.Ack.P50/2 {
			t.Errorf("round %d: live figures %+v", i, r.Live)
		}
		if r.MemAppend1 == nil || r.MemAppendN == nil || r.MemAppendN.Appends == 0 {
			t.Errorf("round %d: no in-memory diagnostics", i)
		}
		if (cfg.PostgresURL != "") != (r.Postgres != nil) {
			t.Errorf("round %d: PostgreSQL figures %+v with URL %q", i, r.Postgres, cfg.PostgresURL)
		}
	}
	var goals int
	for _, row := range rep.Rows {
		if row.Goal != "" {
			goals++
			if row.Met != "yes" && row.Met != "no" {
				t.Errorf("row %q has a goal but Met=%q", row.Measurement, row.Met)
			}
		}
	}
	wantGoals := 4 // append 1 p99, append N vs disk, append N p99, read $all
	if cfg.PostgresURL != "" {
		wantGoals++
	}
	if goals != wantGoals {
		t.Errorf("%d rows with a goal, want %d", goals, wantGoals)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Machine: ", "| Measurement", "Read $all forwards, 345 events", "Catch-up subscription", "≥ 5× disk"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

// TestPostgresRefusesAsynchronousCommit proves the baseline will not compare durable appends with commits
// that are not synced: the connection asks for synchronous_commit=off and Postgres must refuse to measure.
func TestPostgresRefusesAsynchronousCommit(t *testing.T) {
	url := sqldbtest.NewTarget(t, sqldb.Postgres).DSN
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	// lib/pq sends unknown connection parameters as session settings.
	_, err := Postgres(context.Background(), PostgresOptions{URL: url + sep + "synchronous_commit=off", Clients: 2, Count: 10})
	if !errors.Is(err, ErrNotDurable) {
		t.Fatalf("err = %v, want ErrNotDurable", err)
	}
	res, err := Postgres(context.Background(), PostgresOptions{URL: url, Clients: 2, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserts != 10 || res.Server.Fsync != "on" || res.Server.SynchronousCommit != "on" {
		t.Errorf("unexpected result %+v", res)
	}
}
