package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/alecthomas/kong"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/domain/servicerequest/whatif"
)

// whatIfCLI parses `dossier audit what-if args…` on the embedded default under dir, as the binary would.
func whatIfCLI(t *testing.T, cli adminCLI, args ...string) *AuditWhatIfCmd {
	t.Helper()
	var root struct {
		Audit AuditCmd `cmd:""`
	}
	p, err := kong.New(&root)
	if err != nil {
		t.Fatal(err)
	}
	line := append(append([]string{"audit", "what-if"}, args...), "--events-dir", cli.eventsDir, "--secret-key-path",
		cli.keyPath, "--data-kek-path", cli.kekPath, "--sqlite-path", cli.sqlitePath, "--outbox-dir", cli.outboxDir)
	if _, err := p.Parse(line); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &root.Audit.WhatIf
}

// whatIfState is what must not change: the head of the log and the bytes of the read-model database.
type whatIfState struct {
	head uint64
	db   [32]byte
}

func readWhatIfState(t *testing.T, ctx context.Context, cli adminCLI) whatIfState {
	t.Helper()
	cmd := whatIfCLI(t, cli, "--catalog", "x", "--from", "2026-01-01", "--to", "2026-01-31")
	st, err := openEventStore(ctx, &cmd.Config, testLogger(), false)
	if err != nil {
		t.Fatal(err)
	}
	head, err := st.Events.Head(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(cli.sqlitePath + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return whatIfState{head: head, db: sha256.Sum256(all)}
}

// TestAuditWhatIf: January's requests, submitted under the embedded catalogue and stored in the embedded node
// (personal data sealed as always), replayed under docs/samples/catalog-whatif.json (the C2S target shortened from 30
// to 20 days, the card service moved to the C2S queue): exactly the C2S cases and the card case are reported, with
// due days computed here from the rule; under the embedded catalogue's own data nothing differs; the log's head and
// the database are the same after as before.
func TestAuditWhatIf(t *testing.T) {
	ctx := staffCmdCtx(t)
	cli := newAdminCLI(t)
	var pos uint64
	member, worker := uuid.New(), uuid.New()
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
	svc := func(code string) sr.Service {
		s, err := command.RequestService(catalog.Current(), code)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	late := servicerequesttest.Submit(t, &pos, member, svc("complementaire-sante-solidaire"), at(1, 5))
	late.Claim(at(1, 6), worker)
	late.Decide(at(2, 10), sr.Approved, "Conditions remplies")
	onTime := servicerequesttest.Submit(t, &pos, member, svc("complementaire-sante-solidaire"), at(1, 12))
	onTime.Claim(at(1, 13), worker)
	onTime.Decide(at(2, 5), sr.Approved, "Conditions remplies")
	card := servicerequesttest.Submit(t, &pos, member, svc("carte-assurance-maladie"), at(1, 8))
	housing := servicerequesttest.Submit(t, &pos, member, svc("aide-logement"), at(1, 15))
	december := servicerequesttest.Submit(t, &pos, member, svc("complementaire-sante-solidaire"), at(12, 20).AddDate(-1, 0, 0))

	// Store them as the server would: the same events, per command, sealed under the member's key.
	cmd := whatIfCLI(t, cli, "--catalog", "x", "--from", "2026-01-01", "--to", "2026-01-31")
	st, err := openStores(ctx, &cmd.Config, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	registry, err := eventRegistry(st.Keys)
	if err != nil {
		t.Fatal(err)
	}
	store := kurrentdb.NewStore(st.Events, kurrentdb.NewCodec(registry))
	for _, r := range []*servicerequesttest.Request{december, late, onTime, card, housing} {
		for i := 0; i < len(r.Events); {
			j := i
			var values []any
			for ; j < len(r.Events) && r.Events[j].Metadata.CommandID == r.Events[i].Metadata.CommandID; j++ {
				values = append(values, r.Events[j].Event)
			}
			meta := r.Events[i].Metadata
			meta.Subject = member
			if _, err := store.Append(ctx, sr.StreamID(r.ID), esdb.Any{}, meta, values...); err != nil {
				t.Fatal(err)
			}
			i = j
		}
	}
	st.Close()
	before := readWhatIfState(t, ctx, cli)

	sample, err := filepath.Abs("../../docs/samples/catalog-whatif.json")
	if err != nil {
		t.Fatal(err)
	}
	run := func(file string) whatif.Report {
		t.Helper()
		c := whatIfCLI(t, cli, "--catalog", file, "--from", "2026-01-01", "--to", "2026-01-31", "--json")
		var out bytes.Buffer
		c.stdout, c.now = &out, func() time.Time { return time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC) }
		c.exit = func(code int) { t.Fatalf("exit %d", code) }
		if err := c.Run(ctx, testLogger()); err != nil {
			t.Fatal(err)
		}
		var rep whatif.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return rep
	}
	rep := run(sample)
	paris := servicerequesttest.Paris
	day := func(m time.Month, d int) string {
		return time.Date(2026, m, d, 0, 0, 0, 0, paris).Format(time.DateOnly)
	}
	want := map[uuid.UUID]string{
		late.ID:   day(1, 5+30) + ">" + day(1, 5+20) + " sante-c2s>sante-c2s true>true",
		onTime.ID: day(1, 12+30) + ">" + day(1, 12+20) + " sante-c2s>sante-c2s false>true",
		card.ID:   day(1, 8+15) + ">" + day(1, 8+15) + " sante-cartes>sante-c2s true>true",
	}
	if rep.Cases != 4 || rep.Differ != 3 || len(rep.Differences) != 3 || rep.Catalog != "2026.1-whatif-c2s20" {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range rep.Differences {
		got := d.Was.DueOn + ">" + d.WouldBe.DueOn + " " + d.Was.Queue + ">" + d.WouldBe.Queue + " " +
			map[bool]string{true: "true", false: "false"}[d.Was.Breached] + ">" +
			map[bool]string{true: "true", false: "false"}[d.WouldBe.Breached]
		if want[d.RequestID] != got {
			t.Errorf("%s (%s): %s, want %q", d.RequestID, d.Service, got, want[d.RequestID])
		}
	}
	golden, err := filepath.Abs("../../domain/catalog/testdata/catalog-" + catalog.CurrentVersion + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if same := run(golden); same.Cases != 4 || same.Differ != 0 || len(same.Differences) != 0 {
		t.Fatalf("the embedded catalogue's own data: %+v", same)
	}
	if after := readWhatIfState(t, ctx, cli); after != before {
		t.Fatalf("the what-if wrote: head %d → %d, database changed %v", before.head, after.head, after.db != before.db)
	}
}

// TestAuditWhatIfBadInput: a catalogue file that does not validate, a period backwards or in the future: every
// problem named at once, exit status 2, nothing opened.
func TestAuditWhatIfBadInput(t *testing.T) {
	cli := newAdminCLI(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	data, err := os.ReadFile("../../docs/samples/catalog-whatif.json")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"target_handling_days": 20`), []byte(`"target_handling_days": 0`), 1)
	data = bytes.Replace(data, []byte(`"queue": "sante-c2s"`), []byte(`"queue": "sante-lunettes"`), 1)
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte("{\n  \"version\": \"x\",\n  \"queues\": [,]\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"invalid catalogue, backwards period": {[]string{"--catalog", bad, "--from", "2026-02-01", "--to", "2026-01-01"},
			[]string{"target_handling_days 0", `unknown queue "sante-lunettes"`, "2 problem(s)", "starts (2026-02-01T00:00:00+01:00) after it ends"}},
		"broken JSON, future period": {[]string{"--catalog", broken, "--from", "2026-04-01", "--to", "2026-05-31"},
			[]string{"line 3", "starts in the future", "ends in the future"}},
		"missing file, malformed days": {[]string{"--catalog", filepath.Join(t.TempDir(), "none.json"), "--from", "janvier", "--to", "2026-13-01"},
			[]string{"no such file", `--from: "janvier" is neither`, `--to: "2026-13-01" is neither`}},
	} {
		t.Run(name, func(t *testing.T) {
			c := whatIfCLI(t, cli, tc.args...)
			var stderr, stdout bytes.Buffer
			code := -1
			c.stderr, c.stdout, c.now, c.exit = &stderr, &stdout, func() time.Time { return now }, func(n int) { code = n }
			if err := c.Run(context.Background(), testLogger()); err == nil || code != 2 {
				t.Fatalf("err %v, exit %d", err, code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
	if _, err := os.Stat(cli.eventsDir); !os.IsNotExist(err) {
		t.Fatalf("bad input opened the event store: %v", err)
	}
}
